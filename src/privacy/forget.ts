import { createHash } from "node:crypto";
import type { ChatAdapter, ChatPlatform, ThreadRef } from "../bridge/chat-port.ts";
import type { Database } from "../db/database.ts";

// `/ig forget <user>` (policy A.12): everything stored about one Instagram user of one account is
// erased, and the mirrored chat messages deleted. What remains is a tombstone holding a hash of
// the id (so a repeated request can be recognised without keeping the id) and the audit entry.

export interface ForgetCounts {
  conversations: number;
  commentThreads: number;
  messages: number;
  events: number;
  ruleFirings: number;
  chatMessagesDeleted: number;
}

/** A one-way stand-in for an IGSID: the same for the same account and user, revealing neither. */
export function tombstoneKey(account: string, customer: string): string {
  return createHash("sha256").update(`threadbridge:${account}:${customer}`).digest("hex");
}

interface ChatItem {
  platform: ChatPlatform;
  ref: ThreadRef;
  message?: string;
}

export async function forgetCustomer(
  db: Database,
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>,
  account: string,
  customer: string,
  by: string,
): Promise<ForgetCounts> {
  const key = tombstoneKey(account, customer);
  // What is in chat about them, read before the rows that point to it go.
  const { rows: chat } = await db.query<{
    platform: ChatPlatform;
    channel: string;
    thread: string;
    message: string | null;
    own: boolean;
  }>(
    `SELECT c.chat_platform AS platform, c.chat_channel AS channel, c.chat_thread AS thread, m.chat_ref AS message,
            true AS own
       FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id AND m.chat_ref IS NOT NULL
      WHERE c.account_id = $1 AND c.customer_id = $2 AND c.chat_thread IS NOT NULL
     UNION ALL
     SELECT t.chat_platform, t.chat_channel, t.chat_thread, m.chat_ref, true
       FROM comment_threads t LEFT JOIN messages m ON m.comment_thread_id = t.id AND m.chat_ref IS NOT NULL
      WHERE t.account_id = $1 AND t.author_id = $2 AND t.chat_thread IS NOT NULL
     UNION ALL
     SELECT t.chat_platform, t.chat_channel, t.chat_thread, m.chat_ref, false
       FROM messages m JOIN comment_threads t ON t.id = m.comment_thread_id
      WHERE m.account_id = $1 AND m.author_id = $2 AND t.author_id IS DISTINCT FROM $2
        AND m.chat_ref IS NOT NULL AND t.chat_thread IS NOT NULL`,
    [account, customer],
  );

  const counts = await db.transaction(async (tx) => {
    const del = async (sql: string) => (await tx.query(sql, [account, customer])).rows.length;
    // Their comments in other people's comment threads.
    const strayComments = await del(
      `DELETE FROM messages m USING comment_threads t
        WHERE m.comment_thread_id = t.id AND m.account_id = $1 AND m.author_id = $2
          AND t.author_id IS DISTINCT FROM $2 RETURNING m.id`,
    );
    const threadMessages = await del(
      `DELETE FROM messages WHERE account_id = $1 AND (
          conversation_id IN (SELECT id FROM conversations WHERE account_id = $1 AND customer_id = $2)
          OR comment_thread_id IN (SELECT id FROM comment_threads WHERE account_id = $1 AND author_id = $2))
        RETURNING id`,
    );
    const conversations = await del(
      "DELETE FROM conversations WHERE account_id = $1 AND customer_id = $2 RETURNING id",
    );
    const commentThreads = await del(
      "DELETE FROM comment_threads WHERE account_id = $1 AND author_id = $2 RETURNING id",
    );
    const events = await del(
      `DELETE FROM inbound_events WHERE account_id = $1 AND (
          thread_key = 'dm:' || $2 OR event->>'customerId' = $2 OR event->'from'->>'id' = $2)
        RETURNING id`,
    );
    const ruleFirings = await del(
      "DELETE FROM rule_firings WHERE account_id = $1 AND customer_id = $2 RETURNING id",
    );
    // The audit trail stays, pointing at the tombstone instead of the person.
    await tx.query("UPDATE audit_log SET target = $3 WHERE account_id = $1 AND target = 'customer:' || $2", [
      account,
      customer,
      `erased:${key.slice(0, 16)}`,
    ]);
    await tx.query(
      `UPDATE audit_log SET actor_id = $3 WHERE account_id = $1 AND actor_kind = 'customer' AND actor_id = $2`,
      [account, customer, `erased:${key.slice(0, 16)}`],
    );
    return { conversations, commentThreads, messages: strayComments + threadMessages, events, ruleFirings };
  });

  // Chat last: the stored copy is gone even if a platform is down, and a retry finds nothing to redo.
  let chatMessagesDeleted = 0;
  const roots = new Map<string, ChatItem>();
  for (const row of chat) {
    const adapter = adapters.get(row.platform);
    if (!adapter) continue;
    const ref = { channel: row.channel, thread: row.thread };
    // Their own threads go whole; in someone else's comment thread only their messages do.
    if (row.own) roots.set(`${row.platform}:${row.channel}:${row.thread}`, { platform: row.platform, ref });
    if (row.message && row.message !== row.thread) {
      await adapter.remove(ref, row.message).catch(() => undefined);
      chatMessagesDeleted++;
    }
  }
  for (const root of roots.values()) {
    const adapter = adapters.get(root.platform);
    if (!adapter) continue;
    // Slack: the root message; Discord: the thread's first message (the header). The ref of a
    // whole thread is its root, so removing it takes the header with the customer's name.
    await adapter.remove(root.ref, root.ref.thread).catch(() => undefined);
    chatMessagesDeleted++;
  }

  const result: ForgetCounts = { ...counts, chatMessagesDeleted };
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
