// Buttons, the reply modal and `/ig` → ChatInbox. Every answer is ephemeral (flags 64) and the
// interaction is deferred at once: Discord wants the first answer within 3 s, and the core may be
// calling Instagram. Only opening a modal must be the first answer itself.

import {
  type APIModalInteractionResponseCallbackData,
  ApplicationCommandOptionType,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type CommandInteractionOption,
  ComponentType,
  type Interaction,
  MessageFlags,
  type ModalSubmitInteraction,
  type StringSelectMenuInteraction,
  TextInputStyle,
} from "discord.js";
import type {
  ActionRequest,
  ActionResult,
  AgentIdentity,
  ChatInbox,
  CommentAction,
  ConversationChange,
  ThreadRef,
} from "../../src/chat/chat-port.ts";
import { COMMENT_ACTION_IDS, CONVERSATION_ACTION_IDS } from "../../src/chat/header-text.ts";
import type { Logger } from "../../src/log/logger.ts";
import { memberIdentity } from "./agent-message.ts";
import { errorFields } from "./discord-errors.ts";
import { IG_COMMAND, parseIgOptions, slashInput } from "./ig-command.ts";
import { CONTENT_MAX, escapeMarkdown, truncate, truncateMarkdown } from "./markdown.ts";
import { NO_MENTIONS, RETRY_PREFIX } from "./render.ts";

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

type Answerable =
  | ButtonInteraction
  | StringSelectMenuInteraction
  | ModalSubmitInteraction
  | ChatInputCommandInteraction;

export function agentFrom(interaction: Answerable): AgentIdentity {
  return memberIdentity(interaction.user, interaction.member, interaction.guildId);
}

function answerText(text: string): { content: string; allowedMentions: typeof NO_MENTIONS } {
  return { content: truncateMarkdown(escapeMarkdown(text), CONTENT_MAX), allowedMentions: NO_MENTIONS };
}

/** The core's answer; its failure is a refusal for the person who acted (and a log line). */
async function ask(
  deps: InteractionDeps,
  interaction: Answerable,
  action: ActionRequest["action"],
  where: { thread?: ThreadRef; channel: string },
): Promise<ActionResult> {
  try {
    const request: ActionRequest = { agent: agentFrom(interaction), channel: where.channel, action };
    if (where.thread) request.thread = where.thread;
    return await deps.inbox.action(request);
  } catch (err) {
    deps.log.error({ action: action.kind, err: errorFields(err) }, "discord action failed");
    return { ok: false, text: "Something went wrong; nothing was done. Try again in a moment." };
  }
}

/** Defers ephemerally, runs the action, and edits the deferred answer with the core's result. A
 * conversation change the core has already told the thread about leaves no answer behind. */
async function runAction(
  deps: InteractionDeps,
  interaction: Answerable,
  action: ActionRequest["action"],
  where: { thread?: ThreadRef; channel: string },
): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const result = await ask(deps, interaction, action, where);
  if (result.ok && result.announced) await interaction.deleteReply();
  else await answer(deps, interaction, result);
}

/** The root's Close, Reopen and Take buttons and its snooze menu. The click is acknowledged
 * without an answer: the root re-renders and the core's notice says who did what, so the person
 * who clicked hears back only when nothing was done. */
async function onConversationControl(
  deps: InteractionDeps,
  interaction: ButtonInteraction | StringSelectMenuInteraction,
  change: ConversationChange,
): Promise<void> {
  await interaction.deferUpdate();
  const result = await ask(
    deps,
    interaction,
    { kind: "conversation", change },
    await where(deps, interaction.channelId),
  );
  if (!result.ok) await interaction.followUp({ ...answerText(result.text), flags: MessageFlags.Ephemeral });
}

const CONVERSATION_BUTTONS = new Map<string, ConversationChange>([
  [CONVERSATION_ACTION_IDS.close, { op: "close" }],
  [CONVERSATION_ACTION_IDS.reopen, { op: "reopen" }],
  [CONVERSATION_ACTION_IDS.take, { op: "take" }],
  [CONVERSATION_ACTION_IDS.take_control, { op: "take_control" }],
]);

async function onSelect(deps: InteractionDeps, interaction: StringSelectMenuInteraction): Promise<void> {
  if (interaction.customId !== CONVERSATION_ACTION_IDS.snooze) return;
  const minutes = Number(interaction.values[0]);
  if (!Number.isSafeInteger(minutes)) return;
  await onConversationControl(deps, interaction, { op: "snooze", minutes });
}

/** The member options (a member picker) of the interaction's subcommand. */
function memberOptions(data: readonly CommandInteractionOption[]): CommandInteractionOption[] {
  return data.flatMap((o) =>
    o.type === ApplicationCommandOptionType.User ? [o] : memberOptions(o.options ?? []),
  );
}

/** A picked member → their display name, as the root shows it (fetched when Discord sent no
 * member data with the interaction). */
async function memberName(
  interaction: ChatInputCommandInteraction,
  option: CommandInteractionOption,
): Promise<string | undefined> {
  const member = option.member;
  if (member && "displayName" in member) return member.displayName;
  const id = typeof option.value === "string" ? option.value : undefined;
  if (!id || !/^\d+$/.test(id) || !interaction.guild) return option.user?.displayName;
  try {
    return (await interaction.guild.members.fetch(id)).displayName;
  } catch {
    return option.user?.displayName;
  }
}

/** Edits the deferred answer. It is ephemeral, so a file attached to it reaches the asker only. */
async function answer(deps: InteractionDeps, interaction: Answerable, result: ActionResult): Promise<void> {
  const file = result.file;
  if (!file) {
    await interaction.editReply(answerText(result.text));
    return;
  }
  const bytes = Buffer.from(file.content, "utf8");
  const limit = interaction.attachmentSizeLimit;
  if (limit > 0 && bytes.length > limit) {
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
    await interaction.editReply(
      answerText(
        `${result.text}\nBut the file is ${mb(bytes.length)}, over this server's upload limit of ${mb(limit)}: nothing was shared.`,
      ),
    );
    return;
  }
  try {
    await interaction.editReply({
      ...answerText(result.text),
      files: [{ attachment: bytes, name: file.name }],
    });
  } catch (err) {
    deps.log.warn({ file: file.name, err: errorFields(err) }, "discord private file upload failed");
    await interaction.editReply(
      answerText(`${result.text}\nBut attaching the file failed: nothing was shared. Try again in a moment.`),
    );
    return;
  }
  // The file is with the asker whatever happens to the audit entry; a failure there is logged.
  await file.delivered().catch((err: unknown) => {
    deps.log.error({ file: file.name, err: errorFields(err) }, "export delivered but not audited");
  });
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
  const change = CONVERSATION_BUTTONS.get(interaction.customId);
  if (change) {
    await onConversationControl(deps, interaction, change);
    return;
  }
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
  // Accounts are routed to server channels, and the channel (so the server) an action may reach
  // from is the interaction's own, as Discord sent it, never an option. The manifest limits /ig to
  // servers; this holds should it ever be registered more widely.
  if (!interaction.inGuild()) {
    deps.log.warn(
      { user: interaction.user.id, channel: interaction.channelId },
      "discord /ig outside a server refused",
    );
    await interaction.reply({
      content: "/ig works in a server channel that Instagram threads go to, or in one of its threads.",
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_MENTIONS,
    });
    return;
  }
  const names = new Map<string, string>();
  for (const o of memberOptions(interaction.options.data)) {
    const name = await memberName(interaction, o);
    if (name) names.set(o.name, `@${name}`);
  }
  const parsed = parseIgOptions(slashInput(interaction.options.data, (o) => names.get(o.name)));
  if (parsed.kind === "reply") {
    // Help and usage are markdown of our own; no escaping. The help outgrows one message's 2,000
    // characters: the rest follows in as many more, split between lines.
    const [first = "", ...rest] = lineChunks(parsed.text, CONTENT_MAX);
    await interaction.reply({ content: first, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    for (const content of rest)
      await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    return;
  }
  await runAction(deps, interaction, parsed, await where(deps, interaction.channelId));
}

/** `text` in pieces of at most `max` characters, cut between lines (a longer line is cut). */
export function lineChunks(text: string, max: number): string[] {
  const out: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    for (let piece = line; ; ) {
      const joined = current === "" ? piece : `${current}\n${piece}`;
      if (joined.length <= max) {
        current = joined;
        break;
      }
      if (current !== "") {
        out.push(current);
        current = "";
        continue;
      }
      out.push(piece.slice(0, max));
      piece = piece.slice(max);
      if (piece === "") break;
    }
  }
  if (current !== "" || out.length === 0) out.push(current);
  return out;
}

/** Discord's most autocomplete choices, and its longest choice name. */
const AUTOCOMPLETE_MAX = 25;
const CHOICE_NAME_MAX = 100;

/** An option of `/ig` that offers values as the member types (a saved reply's name): the core's
 * choices for it, answered at once (an autocomplete cannot be deferred). Nothing to offer, or a
 * failure, is an empty list: the command itself still answers when it is sent. */
async function onAutocomplete(deps: InteractionDeps, interaction: AutocompleteInteraction): Promise<void> {
  let choices: { name: string; value: string }[] = [];
  try {
    if (interaction.inGuild() && deps.inbox.complete) {
      const focused = interaction.options.getFocused(true);
      const { path } = slashInput(interaction.options.data);
      const place = await where(deps, interaction.channelId);
      const found = await deps.inbox.complete({
        agent: memberIdentity(interaction.user, interaction.member, interaction.guildId),
        ...place,
        command: path.join(" "),
        option: focused.name,
        typed: String(focused.value),
        limit: AUTOCOMPLETE_MAX,
      });
      choices = found
        .slice(0, AUTOCOMPLETE_MAX)
        .map((c) => ({ name: truncate(c.label, CHOICE_NAME_MAX) || c.value, value: c.value }));
    }
  } catch (err) {
    deps.log.warn({ err: errorFields(err) }, "discord autocomplete failed");
  }
  await interaction.respond(choices);
}

export async function onInteraction(deps: InteractionDeps, interaction: Interaction): Promise<void> {
  if (interaction.isAutocomplete()) {
    if (interaction.commandName === IG_COMMAND) await onAutocomplete(deps, interaction);
    return;
  }
  if (interaction.isButton()) await onButton(deps, interaction);
  else if (interaction.isStringSelectMenu()) await onSelect(deps, interaction);
  else if (interaction.isModalSubmit()) await onModal(deps, interaction);
  else if (interaction.isChatInputCommand() && interaction.commandName === IG_COMMAND)
    await onSlash(deps, interaction);
}
