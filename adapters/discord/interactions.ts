// Buttons, the reply modal and `/ig` → ChatInbox. Every answer is ephemeral (flags 64) and the
// interaction is deferred at once: Discord wants the first answer within 3 s, and the core may be
// calling Instagram. Only opening a modal must be the first answer itself.

import {
  type APIModalInteractionResponseCallbackData,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  ComponentType,
  type Interaction,
  MessageFlags,
  type ModalSubmitInteraction,
  TextInputStyle,
} from "discord.js";
import type {
  ActionRequest,
  AgentIdentity,
  ChatInbox,
  CommentAction,
  ThreadRef,
} from "../../src/bridge/chat-port.ts";
import type { Logger } from "../../src/log/logger.ts";
import { errorFields } from "./discord-errors.ts";
import { IG_COMMAND, parseIgCommand } from "./ig-command.ts";
import { CONTENT_MAX, escapeMarkdown, truncateMarkdown } from "./markdown.ts";
import { NO_MENTIONS, RETRY_PREFIX } from "./render.ts";
import { COMMENT_ACTION_IDS } from "./render-header.ts";

export interface InteractionDeps {
  inbox: ChatInbox;
  log: Logger;
  /** The mirrored-thread ref of a channel when it is a thread, else undefined. */
  threadOf(channelId: string): Promise<ThreadRef | undefined>;
}

export const REPLY_INPUT = "text";

const ACTION_BY_PREFIX = new Map<string, CommentAction>(
  (Object.entries(COMMENT_ACTION_IDS) as [CommentAction, string][]).map(([action, id]) => [id, action]),
);

type Answerable = ButtonInteraction | ModalSubmitInteraction | ChatInputCommandInteraction;

/** Who acted, with their roles for the core's privilege check (ADMIN_USERS `discord-role:<id>`). */
export function agentFrom(interaction: Answerable): AgentIdentity {
  const member = interaction.member;
  let name = interaction.user.displayName;
  let roles: string[] = [];
  if (member) {
    if (Array.isArray(member.roles)) roles = member.roles;
    else roles = [...member.roles.cache.keys()];
    if ("displayName" in member) name = member.displayName;
    else if (member.nick) name = member.nick;
  }
  // @everyone has the guild's id and is nobody's distinguishing role.
  roles = roles.filter((id) => id !== interaction.guildId);
  return { platform: "discord", id: interaction.user.id, name, roles };
}

function answerText(text: string): { content: string; allowedMentions: typeof NO_MENTIONS } {
  return { content: truncateMarkdown(escapeMarkdown(text), CONTENT_MAX), allowedMentions: NO_MENTIONS };
}

/** Defers ephemerally, runs the action, and edits the deferred answer with the core's result. */
async function runAction(
  deps: InteractionDeps,
  interaction: Answerable,
  action: ActionRequest["action"],
  where: { thread?: ThreadRef; channel: string },
): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  let text: string;
  try {
    const request: ActionRequest = { agent: agentFrom(interaction), channel: where.channel, action };
    if (where.thread) request.thread = where.thread;
    const result = await deps.inbox.action(request);
    text = result.text;
  } catch (err) {
    deps.log.error({ action: action.kind, err: errorFields(err) }, "discord action failed");
    text = "Something went wrong; nothing was done. Try again in a moment.";
  }
  await interaction.editReply(answerText(text));
}

async function where(deps: InteractionDeps, channelId: string) {
  const thread = await deps.threadOf(channelId);
  return thread ? { thread, channel: thread.channel } : { channel: channelId };
}

function splitCustomId(customId: string): [string, string] {
  const colon = customId.indexOf(":");
  return colon < 0 ? [customId, ""] : [customId.slice(0, colon), customId.slice(colon + 1)];
}

export function replyModal(action: "reply_public" | "reply_private", commentId: string) {
  const isPrivate = action === "reply_private";
  const modal: APIModalInteractionResponseCallbackData = {
    custom_id: `${COMMENT_ACTION_IDS[action]}:${commentId}`,
    title: isPrivate ? "Reply privately" : "Reply publicly",
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.TextInput,
            custom_id: REPLY_INPUT,
            label: isPrivate ? "Direct message to the comment's author" : "Public reply under the comment",
            placeholder: isPrivate
              ? "One private reply per comment, within 7 days of it."
              : "Everyone who sees the post sees this reply.",
            style: TextInputStyle.Paragraph,
            required: true,
            max_length: isPrivate ? 1000 : 2200,
          },
        ],
      },
    ],
  };
  return modal;
}

async function onButton(deps: InteractionDeps, interaction: ButtonInteraction): Promise<void> {
  const [prefix, value] = splitCustomId(interaction.customId);
  if (`${prefix}:` === RETRY_PREFIX) {
    const messageId = Number(value);
    if (!Number.isSafeInteger(messageId)) return;
    await runAction(
      deps,
      interaction,
      { kind: "retry", messageId },
      await where(deps, interaction.channelId),
    );
    return;
  }
  const action = ACTION_BY_PREFIX.get(prefix);
  if (!action || !value) return;
  if (action === "reply_public" || action === "reply_private") {
    await interaction.showModal(replyModal(action, value));
    return;
  }
  await runAction(
    deps,
    interaction,
    { kind: "comment", action, commentId: value },
    await where(deps, interaction.channelId),
  );
}

function modalText(interaction: ModalSubmitInteraction): string {
  try {
    return interaction.fields.getTextInputValue(REPLY_INPUT).trim();
  } catch {
    return "";
  }
}

async function onModal(deps: InteractionDeps, interaction: ModalSubmitInteraction): Promise<void> {
  const [prefix, commentId] = splitCustomId(interaction.customId);
  const action = ACTION_BY_PREFIX.get(prefix);
  if ((action !== "reply_public" && action !== "reply_private") || !commentId) return;
  const text = modalText(interaction);
  if (!text) {
    await interaction.reply({
      ...answerText("Write a reply first; nothing was sent."),
      flags: MessageFlags.Ephemeral,
    });
    return;
  }
  const channelId = interaction.channelId;
  const place = channelId ? await where(deps, channelId) : { channel: "" };
  await runAction(deps, interaction, { kind: "comment", action, commentId, text }, place);
}

async function onSlash(deps: InteractionDeps, interaction: ChatInputCommandInteraction): Promise<void> {
  const parsed = parseIgCommand(
    interaction.options.getSubcommand(false),
    interaction.options.getString("account", false),
    interaction.options.getSubcommandGroup(false),
    {
      id: interaction.options.getString("id", false),
      text: interaction.options.getString("text", false),
      state: interaction.options.getString("state", false),
      user: interaction.options.getString("user", false),
    },
  );
  if (parsed.kind === "reply") {
    // Usage is markdown of our own; no escaping.
    await interaction.reply({
      content: parsed.text,
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_MENTIONS,
    });
    return;
  }
  await runAction(deps, interaction, parsed.action, await where(deps, interaction.channelId));
}

export async function onInteraction(deps: InteractionDeps, interaction: Interaction): Promise<void> {
  if (interaction.isButton()) await onButton(deps, interaction);
  else if (interaction.isModalSubmit()) await onModal(deps, interaction);
  else if (interaction.isChatInputCommand() && interaction.commandName === IG_COMMAND)
    await onSlash(deps, interaction);
}
