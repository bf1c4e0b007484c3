// ✅ and 👀 on a thread's root close and take its conversation, for teams that work by reactions.
// Only the root counts: the same emoji anywhere else (a customer's message, a notice, an agent's
// reply) means what people meant by it and nothing more.

import type { App } from "@slack/bolt";
import type { ConversationChange } from "../../src/chat/chat-port.ts";
import { runAction } from "./interactions.ts";
import type { ListenerDeps } from "./listener-deps.ts";
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

export function registerReactionListeners(app: App, deps: ListenerDeps): void {
  app.event("reaction_added", async ({ event, context }) => {
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
