// Message events → ChatInbox. With processBeforeResponse the core has stored an agent's reply
// before Slack gets its 200; a failure answers 500 and Slack delivers again (the core dedupes by
// the message ts, so nothing is kept in memory here).

import type { App } from "@slack/bolt";
import { z } from "zod";
import type { AgentMessageOutcome, ThreadRef } from "../../src/chat/chat-port.ts";
import { agentIdentity, type ListenerDeps, tellUser } from "./listener-deps.ts";
import { humanThreadReply, SlackMessage, toAgentMessage } from "./slack-message.ts";

const MessageEnvelope = z.object({
  channel: z.string(),
  subtype: z.string().nullish(),
  message: z.unknown().optional(),
  previous_message: z.unknown().optional(),
});

/** What the thread shows for an outcome; queued and the rest are marked by the core itself. A
 * refusal meant for the agent alone (an unknown saved reply) is an ephemeral line in the thread. */
export async function showOutcome(
  deps: ListenerDeps,
  thread: ThreadRef,
  agent: string,
  outcome: AgentMessageOutcome,
): Promise<void> {
  if (outcome.kind === "command") await deps.adapter.notice(thread, outcome.reply);
  else if (outcome.kind === "refused" && outcome.privately)
    await tellUser(deps, { channel: thread.channel, user: agent, threadTs: thread.thread }, outcome.reason);
  else if (outcome.kind === "queued" && outcome.privately)
    await tellUser(
      deps,
      { channel: thread.channel, user: agent, threadTs: thread.thread },
      outcome.privately,
    );
  else if (outcome.kind === "refused")
    await deps.adapter.notice(thread, outcome.reason, { mention: [agent] });
}

async function onNewMessage(deps: ListenerDeps, channel: string, event: unknown): Promise<void> {
  const reply = humanThreadReply(channel, event);
  if (!reply) return;
  const outcome = await deps.inbox.agentMessage(await toAgentMessage(reply, deps));
  deps.log.debug({ channel, message: reply.ts, outcome: outcome.kind }, "slack agent message handed over");
  await showOutcome(deps, reply.thread, reply.user, outcome);
}

async function onChanged(deps: ListenerDeps, channel: string, message: unknown, previous: unknown) {
  const reply = humanThreadReply(channel, message);
  // Unfurls and thread bookkeeping also arrive as message_changed; only a real edit counts.
  if (!reply?.message.edited) return;
  const before = SlackMessage.safeParse(previous);
  if (before.success && before.data.text === reply.message.text) return;
  await deps.inbox.agentChanged({
    agent: await agentIdentity(deps, reply.user),
    thread: reply.thread,
    message: reply.ts,
    change: "edited",
  });
}

async function onDeleted(deps: ListenerDeps, channel: string, previous: unknown) {
  const reply = humanThreadReply(channel, previous);
  if (!reply) return;
  await deps.inbox.agentChanged({
    agent: await agentIdentity(deps, reply.user),
    thread: reply.thread,
    message: reply.ts,
    change: "deleted",
  });
}

export function registerMessageListeners(app: App, deps: ListenerDeps): void {
  app.event("message", async ({ event }) => {
    const envelope = MessageEnvelope.safeParse(event);
    if (!envelope.success) return;
    const { channel, subtype, message, previous_message } = envelope.data;
    if (subtype === "message_changed") await onChanged(deps, channel, message, previous_message);
    else if (subtype === "message_deleted") await onDeleted(deps, channel, previous_message);
    else await onNewMessage(deps, channel, event);
  });
}
