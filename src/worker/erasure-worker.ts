import type { PgBoss } from "pg-boss";
import { recordAudit } from "../audit/audit-log.ts";
import type { ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import { type AccountErasureCounts, eraseAccount } from "../privacy/account-erasure.ts";
import { ERASURE_QUEUE, type ErasureJob } from "../queue/boss.ts";

/** Erases an account and its chat threads. A thread the platform would not delete is logged and
 * the erasure goes on: the data is gone from the bridge either way. Shared by Meta's erasure
 * requests and the retention pass (deauthorized accounts). */
export function accountEraser(
  db: Database,
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>,
  log: Logger,
): (account: string) => Promise<AccountErasureCounts> {
  return (account) =>
    eraseAccount(db, adapters, account, (item, err) =>
      log.warn(
        {
          account,
          platform: item.platform,
          channel: item.ref.channel,
          thread: item.ref.thread,
          err: err instanceof Error ? err.message : String(err),
        },
        "an erased account's chat thread could not be deleted",
      ),
    );
}

/**
 * Carries out Meta's data deletion requests (queued by the callback in http/meta-callbacks.ts):
 * erases the request's account, then marks the request completed with its counts and audits it,
 * in one transaction. A request already completed, or one without an account, is skipped.
 */
export async function startErasureWorker(deps: {
  db: Database;
  boss: PgBoss;
  erase: (account: string) => Promise<AccountErasureCounts>;
  log: Logger;
}): Promise<void> {
  const { db, log } = deps;
  await deps.boss.work<ErasureJob>(ERASURE_QUEUE, async (jobs) => {
    for (const job of jobs) {
      const { rows } = await db.query<{ account_id: string | null }>(
        "SELECT account_id FROM data_requests WHERE code = $1 AND status = 'pending'",
        [job.data.code],
      );
      const account = rows[0]?.account_id;
      if (!account) continue;
      const counts = await deps.erase(account);
      await db.transaction(async (tx) => {
        await tx.query(
          "UPDATE data_requests SET status = 'completed', counts = $2, account_id = NULL, completed_at = now() WHERE code = $1",
          [job.data.code, JSON.stringify(counts)],
        );
        await recordAudit(tx, {
          actor: { kind: "system", id: "meta" },
          account,
          action: "data_deletion_completed",
          target: `request:${job.data.code}`,
          details: { ...counts },
        });
      });
      log.info({ code: job.data.code, counts }, "account data erased on Meta's request");
    }
  });
}
