// ✅ and 👀 on a thread's root close and take its conversation, for teams that work by reactions.
// On a message inside a thread, an agent's emoji goes to the core (the business reacting to a
// mirrored customer message; the core ignores it anywhere else).

import type { App } from "@slack/bolt";
import type { ConversationChange } from "../../src/chat/chat-port.ts";
import { emojiOfSlackName } from "./emoji.ts";
import { runAction } from "./interactions.ts";
import { agentIdentity, type ListenerDeps, tellUser } from "./listener-deps.ts";
import { errorFields } from "./slack-errors.ts";

/** Slack's reaction names (skin tone left out) and what each does on a root. */
export const ROOT_REACTIONS: Readonly<Record<string, ConversationChange>> = {
  white_check_mark: { op: "close" },
  heavy_check_mark: { op: "close" },
  eyes: { op: "take" },
};

/** A message of the channel itself rather than a reply: a reply's thread_ts is its parent's. */
async function isTopLevel(deps: ListenerDeps, channel: string, ts: string): Promise<boolean> {
  try {
    const res = await deps.client.reactions.get({ channel, timestamp: ts });
    // The message object Slack returns has thread_ts like any other; the SDK's type leaves it out.
    const message = res.message as { thread_ts?: string } | undefined;
    return message !== undefined && (message.thread_ts === undefined || message.thread_ts === ts);
  } catch (err) {
    deps.log.warn({ channel, ts, err: errorFields(err) }, "slack reacted message could not be read");
    return false;
  }
}

/** The thread a reply belongs to (its parent's ts), or undefined for a top-level message or one
 * that cannot be read. */
async function parentOf(deps: ListenerDeps, channel: string, ts: string): Promise<string | undefined> {
  try {
    const res = await deps.client.reactions.get({ channel, timestamp: ts });
    const message = res.message as { thread_ts?: string } | undefined;
    return message?.thread_ts !== undefined && message.thread_ts !== ts ? message.thread_ts : undefined;
  } catch (err) {
    deps.log.warn({ channel, ts, err: errorFields(err) }, "slack reacted message could not be read");
    return undefined;
  }
}

/** An agent's emoji on a bot-posted message of a thread (a mirrored customer message): the core
 * makes it the business's reaction on Instagram, and what it cannot send is told to the agent
 * alone. */
function agentReaction(
  deps: ListenerDeps,
  event: {
    user: string;
    reaction: string;
    item: { type: string; channel?: string; ts?: string };
    item_user?: string;
  },
  bot: string | undefined,
  on: boolean,
): void {
  if (!deps.inbox.agentReaction || event.item.type !== "message") return;
  if (!bot || event.user === bot || event.item_user !== bot) return;
  const { channel, ts } = event.item;
  if (!channel || !ts) return;
  deps.background(on ? "reaction_added" : "reaction_removed", async () => {
    const thread = await parentOf(deps, channel, ts);
    if (!thread) return;
    const told = await deps.inbox.agentReaction?.({
      agent: await agentIdentity(deps, event.user),
      thread: { channel, thread },
      message: ts,
      emoji: emojiOfSlackName(event.reaction),
      on,
    });
    if (told?.privately)
      await tellUser(deps, { channel, user: event.user, threadTs: thread }, told.privately);
  });
}

export function registerReactionListeners(app: App, deps: ListenerDeps): void {
  app.event("reaction_removed", async ({ event, context }) => {
    agentReaction(deps, event, context.botUserId, false);
  });
  app.event("reaction_added", async ({ event, context }) => {
    agentReaction(deps, event, context.botUserId, true);
    const change = ROOT_REACTIONS[event.reaction.split("::")[0] ?? ""];
    if (!change || event.item.type !== "message") return;
    // Roots are the bot's own messages, and the bot's own reactions are delivery marks and
    // customers' reactions, never an agent's decision.
    const bot = context.botUserId;
    if (!bot || event.user === bot || event.item_user !== bot) return;
    const { channel, ts } = event.item;
    // Acked at once: the change re-renders the root and posts a notice, and Slack would deliver
    // the event again after 3 s.
    deps.background("reaction_added", async () => {
      if (!(await isTopLevel(deps, channel, ts))) return;
      await runAction(
        deps,
        event.user,
        { channel, thread: ts },
        { kind: "conversation", change },
        { onlyRefusals: true },
      );
    });
  });
}
