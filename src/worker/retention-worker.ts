import type { PgBoss } from "pg-boss";
import type { StoredCopies } from "../chat/platform.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import { purgeExpired, type RetentionPolicy } from "../privacy/retention.ts";
import { RETENTION_QUEUE } from "../queue/boss.ts";
import { purgeCompletedJobs } from "../queue/job-retention.ts";

// Daily at 03:17 UTC; schedules are kept in Postgres, so replicas share one.
export const RETENTION_CRON = "17 3 * * *";

/** The daily retention pass: expired message texts, raw events and deauthorized accounts
 * (privacy/retention.ts), then completed queue jobs (queue/job-retention.ts). */
export async function startRetentionWorker(deps: {
  db: Database;
  boss: PgBoss;
  policy: RetentionPolicy;
  /** Erases a deauthorized account whole, chat threads included (erasure-worker.ts). */
  erase: (account: string) => Promise<unknown>;
  /** The chat platforms' copies kept in this database (the web inbox's), purged by the same age. */
  copies?: readonly StoredCopies[];
  log: Logger;
}): Promise<void> {
  const { db, boss, policy, log } = deps;
  await boss.schedule(RETENTION_QUEUE, RETENTION_CRON, {});
  await boss.work(RETENTION_QUEUE, async () => {
    const purged = await purgeExpired(db, policy, deps.erase);
    const before = new Date(Date.now() - policy.messageDays * 86_400_000);
    let chatCopies = 0;
    for (const copies of deps.copies ?? []) chatCopies += await copies.purge(before);
    const jobs = await purgeCompletedJobs(db, boss);
    log.info({ ...purged, chatCopies, completedJobs: jobs, policy }, "retention purge done");
  });
}
