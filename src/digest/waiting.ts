import type { ChatPlatform, ThreadRef } from "../chat/chat-port.ts";
import type { SqlClient } from "../db/database.ts";

// Conversations waiting for the team: open, and the customer wrote after the last human answer
// (an agent's reply or a message from the Instagram app; an auto-reply does not count). Only the
// last eight days are read: past the 7-day human-agent window nobody can answer anyway, and it
// keeps the query on recent rows however long the history. A wait that began before those eight
// days counts from the first message within them.

export interface WaitingConversation {
  conversationId: number;
  customerId: string;
  username?: string;
  assignee?: string;
  /** Platform user id of the assignee, where known (for mentions). */
  assigneeRef?: string;
  /** The first message still unanswered. */
  since: Date;
  thread?: { platform: ChatPlatform; ref: ThreadRef };
  slaAlertedAt?: Date;
}

/** A human answer among `messages` aliased `m`: the team's reply (not failed) or the business
 * writing from the Instagram app. */
export function humanAnswer(m: string): string {
  return `${m}.direction = 'outbound' AND ${m}.author_kind IN ('agent', 'business')
    AND (${m}.delivery_state IS NULL OR ${m}.delivery_state <> 'failed')`;
}

export async function waitingConversations(
  sql: SqlClient,
  account: string,
  now: Date,
): Promise<WaitingConversation[]> {
  // Driven by the conversations a customer wrote to in those days (an index range), then two index
  // probes each (conversation, time): the last human answer, the first customer message after it.
  // Both bounds of the second are index conditions (the index starts at the later one), so it
  // does not read the answer itself and drop it: one heap visit fewer per answered conversation.
  // The SLA pass runs this every minute, so its cost follows the open conversations, not the
  // message volume: the earlier form grouped every recent message of the account (90,000 rows an
  // hour into the soak: 1 s at minute 10, 7 s by minute 40, the soak's p99 latency rising with it).
  // Most open conversations are not waiting: their newest message that counts (the customer's or a
  // human answer; an auto-reply or a failed reply is passed over) is the team's answer. One probe
  // backwards from the newest message (`l`) settles those, and only a conversation whose newest
  // such message is the customer's gets the two probes (the join order keeps them behind `l`'s
  // filter): 1 probe instead of 2 for 26,500 of the bench's 30,000 open conversations, 148,000
  // buffer visits instead of 213,000. The result is the same by construction: if the newest
  // counting message is an answer at T, no customer message is later than T, so `w` finds none.
  const { rows } = await sql.query<{
    id: string;
    customer_id: string;
    username: string | null;
    assignee: string | null;
    assignee_ref: string | null;
    chat_platform: ChatPlatform | null;
    chat_channel: string | null;
    chat_thread: string | null;
    sla_alerted_at: Date | null;
    since: Date | null;
  }>(
    `SELECT c.id, c.customer_id, c.profile->>'username' AS username, c.assignee, c.assignee_ref,
            c.chat_platform, c.chat_channel, c.chat_thread, c.sla_alerted_at, w.since
       FROM conversations c
       CROSS JOIN LATERAL (
         SELECT m.direction FROM messages m
          WHERE m.conversation_id = c.id AND m.occurred_at >= $2
            AND (m.direction = 'inbound' OR ${humanAnswer("m")})
          ORDER BY m.occurred_at DESC LIMIT 1
       ) l
       CROSS JOIN LATERAL (
         SELECT max(m.occurred_at) AS at FROM messages m
          WHERE m.conversation_id = c.id AND m.occurred_at >= $2 AND ${humanAnswer("m")}
       ) a
       CROSS JOIN LATERAL (
         SELECT min(m.occurred_at) AS since FROM messages m
          WHERE m.conversation_id = c.id AND m.direction = 'inbound'
            AND m.occurred_at >= $2 AND m.occurred_at > COALESCE(a.at, '-infinity')
       ) w
      WHERE c.account_id = $1 AND c.status = 'open' AND c.last_customer_message_at >= $2
        AND l.direction = 'inbound' AND w.since IS NOT NULL`,
    [account, new Date(now.getTime() - 8 * 86_400_000).toISOString()],
  );
  return rows
    .filter((r) => r.since !== null)
    .map((r) => ({
      conversationId: Number(r.id),
      customerId: r.customer_id,
      ...(r.username ? { username: r.username } : {}),
      ...(r.assignee ? { assignee: r.assignee } : {}),
      ...(r.assignee_ref ? { assigneeRef: r.assignee_ref } : {}),
      since: r.since as Date,
      ...(r.chat_platform && r.chat_channel && r.chat_thread
        ? { thread: { platform: r.chat_platform, ref: { channel: r.chat_channel, thread: r.chat_thread } } }
        : {}),
      ...(r.sla_alerted_at ? { slaAlertedAt: r.sla_alerted_at } : {}),
    }))
    .sort((a, b) => a.since.getTime() - b.since.getTime());
}
