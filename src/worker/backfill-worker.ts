import type { PgBoss } from "pg-boss";
import { type BackfillDeps, BackfillError, backfillAccount } from "../ingest/backfill.ts";
import { ensureSubscribed } from "../instagram/subscription.ts";
import { BACKFILL_QUEUE, type BackfillJob } from "../queue/boss.ts";

/** Runs queued backfills (after a (re)connection, after a webhook silence), each after checking
 * the account's webhook subscription (and subscribing its missing fields again): a reconnection
 * is where a subscription is lost. An account that cannot call Instagram (token invalid, removed)
 * is logged and not retried: its reconnection queues one. */
export async function startBackfillWorker(deps: BackfillDeps & { boss: PgBoss }): Promise<string> {
  return deps.boss.work<BackfillJob>(BACKFILL_QUEUE, async (jobs) => {
    for (const job of jobs) {
      const since = new Date(job.data.since);
      // Its failure is logged and does not stop the backfill: recovering what was missed is worth
      // doing either way.
      await ensureSubscribed(deps, job.data.account);
      try {
        await backfillAccount(deps, job.data.account, Number.isNaN(since.getTime()) ? new Date(0) : since);
      } catch (err) {
        if (!(err instanceof BackfillError)) throw err;
        deps.log.warn({ account: job.data.account, reason: err.message }, "backfill not possible");
      }
    }
  });
}
