import { createHash } from "node:crypto";
import type { ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import type { Database } from "../db/database.ts";
import { TIMER_QUEUE } from "../queue/boss.ts";
import { type ChatMirror, type MirrorRemoval, mirroredThreads, removeMirrors } from "./chat-mirrors.ts";
import {
  AUDIT_ACTOR_ROWS,
  AUDIT_TARGET_ROWS,
  COMMENT_THREAD_ROWS,
  CONVERSATION_ROWS,
  CUSTOMER_CONTEXT_ROWS,
  EVENT_ROWS,
  MENTION_ROWS,
  RULE_FIRING_ROWS,
  STRAY_COMMENT_ROWS,
  THREAD_MESSAGE_ROWS,
} from "./customer-rows.ts";

// `/ig forget <user>` (policy A.12): everything stored about one Instagram user of one account is
// erased, and the mirrored chat messages deleted. What remains is a tombstone holding a hash of
// the id (so a repeated request can be recognised without keeping the id) and the audit entry.

export interface ForgetCounts extends MirrorRemoval {
  conversations: number;
  commentThreads: number;
  mentions: number;
  messages: number;
  events: number;
  ruleFirings: number;
  /** Agents' notes about them and their labels. */
  customerNotes: number;
  customerLabels: number;
}

/** A one-way stand-in for an IGSID: the same for the same account and user, revealing neither. */
export function tombstoneKey(account: string, customer: string): string {
  return createHash("sha256").update(`threadbridge:${account}:${customer}`).digest("hex");
}

export async function forgetCustomer(
  db: Database,
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>,
  account: string,
  customer: string,
  by: string,
  onFailure: (item: ChatMirror, err: unknown) => void,
): Promise<ForgetCounts> {
  const key = tombstoneKey(account, customer);
  // What is in chat about them, read before the rows that point to it go: their own threads
  // whole, and their single messages in other people's comment threads.
  const threads = await mirroredThreads(
    db,
    {
      conversations: "account_id = $1 AND customer_id = $2",
      commentThreads: "account_id = $1 AND author_id = $2",
      mentions: MENTION_ROWS,
    },
    [account, customer],
  );
  const { rows: stray } = await db.query<{
    platform: ChatPlatform;
    channel: string;
    thread: string;
    message: string;
  }>(
    `SELECT t.chat_platform AS platform, t.chat_channel AS channel, t.chat_thread AS thread, m.chat_ref AS message
       FROM messages m JOIN comment_threads t ON t.id = m.comment_thread_id
      WHERE m.account_id = $1 AND m.author_id = $2 AND t.author_id IS DISTINCT FROM $2
        AND m.chat_ref IS NOT NULL AND t.chat_thread IS NOT NULL`,
    [account, customer],
  );

  const counts = await db.transaction(async (tx) => {
    const del = async (sql: string) => (await tx.query(sql, [account, customer])).rows.length;
    // The audit trail stays, pointing at the tombstone instead of the person, without previews of
    // what they wrote. First, while their messages still say which comments were theirs.
    const tombstone = `erased:${key.slice(0, 16)}`;
    await tx.query(
      `UPDATE audit_log SET target = $3, details = details - 'preview' WHERE ${AUDIT_TARGET_ROWS}`,
      [account, customer, tombstone],
    );
    await tx.query(`UPDATE audit_log SET actor_id = $3 WHERE ${AUDIT_ACTOR_ROWS}`, [
      account,
      customer,
      tombstone,
    ]);
    // Their comments in other people's comment threads.
    const strayComments = await del(
      `DELETE FROM messages m USING comment_threads t WHERE ${STRAY_COMMENT_ROWS} RETURNING m.id`,
    );
    const threadMessages = await del(`DELETE FROM messages WHERE ${THREAD_MESSAGE_ROWS} RETURNING id`);
    // Their conversation's pending timers: a follow-up's job holds the text it would send. (A
    // database the queue never started on has no job table.)
    const { rows: queue } = await tx.query<{ present: boolean }>(
      "SELECT to_regclass('pgboss.job') IS NOT NULL AS present",
    );
    if (queue[0]?.present)
      await tx.query(
        `DELETE FROM pgboss.job WHERE name = $3 AND (data->>'conversationId')::bigint IN
           (SELECT id FROM conversations WHERE ${CONVERSATION_ROWS})`,
        [account, customer, TIMER_QUEUE],
      );
    const conversations = await del(`DELETE FROM conversations WHERE ${CONVERSATION_ROWS} RETURNING id`);
    const commentThreads = await del(`DELETE FROM comment_threads WHERE ${COMMENT_THREAD_ROWS} RETURNING id`);
    const mentions = await del(`DELETE FROM mentions WHERE ${MENTION_ROWS} RETURNING id`);
    const events = await del(`DELETE FROM inbound_events WHERE ${EVENT_ROWS} RETURNING id`);
    const ruleFirings = await del(`DELETE FROM rule_firings WHERE ${RULE_FIRING_ROWS} RETURNING id`);
    const customerNotes = await del(`DELETE FROM customer_notes WHERE ${CUSTOMER_CONTEXT_ROWS} RETURNING id`);
    const customerLabels = await del(
      `DELETE FROM customer_labels WHERE ${CUSTOMER_CONTEXT_ROWS} RETURNING label`,
    );
    return {
      customerNotes,
      customerLabels,
      conversations,
      commentThreads,
      mentions,
      messages: strayComments + threadMessages,
      events,
      ruleFirings,
    };
  });

  const removal = await removeMirrors(
    adapters,
    {
      threads,
      messages: stray.map((r) => ({
        platform: r.platform,
        ref: { channel: r.channel, thread: r.thread },
        message: r.message,
      })),
    },
    onFailure,
  );

  const result: ForgetCounts = { ...counts, ...removal };
  await db.query(`INSERT INTO erasures (key, account_id, requested_by, counts) VALUES ($1, $2, $3, $4)`, [
    key,
    account,
    by,
    JSON.stringify(result),
  ]);
  await db.query(
    `INSERT INTO audit_log (actor_kind, actor_id, account_id, action, target, details)
     VALUES ('agent', $1, $2, 'data_erased', $3, $4)`,
    [by, account, `erased:${key.slice(0, 16)}`, JSON.stringify(result)],
  );
  return result;
}
