import type { PgBoss } from "pg-boss";
import { type BackfillDeps, BackfillError, backfillAccount } from "../ingest/backfill.ts";
import { BACKFILL_QUEUE, type BackfillJob } from "../queue/boss.ts";

/** Runs queued backfills (after a (re)connection, after a webhook silence). An account that cannot
 * call Instagram (token invalid, removed) is logged and not retried: its reconnection queues one. */
export async function startBackfillWorker(deps: BackfillDeps & { boss: PgBoss }): Promise<string> {
  return deps.boss.work<BackfillJob>(BACKFILL_QUEUE, async (jobs) => {
    for (const job of jobs) {
      const since = new Date(job.data.since);
      try {
        await backfillAccount(deps, job.data.account, Number.isNaN(since.getTime()) ? new Date(0) : since);
      } catch (err) {
        if (!(err instanceof BackfillError)) throw err;
        deps.log.warn({ account: job.data.account, reason: err.message }, "backfill not possible");
      }
    }
  });
}
