import type { PgBoss } from "pg-boss";
import type { ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { Mirror } from "../mirror/mirror.ts";
import { WAKE_QUEUE, type WakeJob } from "../queue/boss.ts";

/**
 * Shows a story link as expired once its story is gone (`messages` jobs), and
 * wakes snoozed threads when their time comes: open again, the root re-rendered, a line in the
 * thread. A thread reopened meanwhile (the customer wrote, an agent reopened or snoozed it
 * again for longer) is left as it is. Its jobs are made runnable by the clock: each runs within
 * `pollingIntervalSeconds` (WORKER_POLL_SECONDS) of its time.
 */
export async function startWakeWorker(deps: {
  db: Database;
  boss: PgBoss;
  mirror: Mirror;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  log: Logger;
  pollingIntervalSeconds: number;
}): Promise<string> {
  const options = { pollingIntervalSeconds: deps.pollingIntervalSeconds };
  return deps.boss.work<WakeJob>(WAKE_QUEUE, options, async (jobs) => {
    for (const job of jobs) {
      const { table, id } = job.data;
      if (table === "messages") {
        await deps.mirror.expireStories(id);
        continue;
      }
      if (table !== "conversations" && table !== "comment_threads") continue;
      const key = table === "conversations" ? "customer_id" : "root_comment_id";
      const { rows } = await deps.db.query<{
        account_id: string;
        key: string;
        chat_platform: ChatPlatform | null;
        chat_channel: string | null;
        chat_thread: string | null;
      }>(
        `UPDATE ${table} SET status = 'open', snoozed_until = NULL, updated_at = now()
          WHERE id = $1 AND status = 'snoozed' AND snoozed_until <= now()
          RETURNING account_id, ${key} AS key, chat_platform, chat_channel, chat_thread`,
        [id],
      );
      const row = rows[0];
      if (!row) continue;
      if (table === "conversations") await deps.mirror.refreshDmHeader(row.account_id, row.key);
      else await deps.mirror.refreshCommentHeader(row.account_id, row.key);
      const adapter = row.chat_platform ? deps.adapters.get(row.chat_platform) : undefined;
      if (adapter && row.chat_channel && row.chat_thread)
        await adapter.notice(
          { channel: row.chat_channel, thread: row.chat_thread },
          "⏰ Snooze over: this conversation is open again.",
        );
      deps.log.info({ table, id }, "snoozed thread woken");
    }
  });
}
