import type { PgBoss } from "pg-boss";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { syncDigestSchedules } from "../digest/digest-schedule.ts";
import type { DigestService } from "../digest/digest-service.ts";
import { runSlaAlerts, type SlaDeps } from "../digest/sla-alerts.ts";
import type { Logger } from "../log/logger.ts";
import { DIGEST_QUEUE, type DigestJob, SLA_QUEUE } from "../queue/boss.ts";

/**
 * The managers' side of the worker: scheduled digests (one pg-boss cron per account and kind, in
 * the account's zone) and, every minute, the SLA pass and the digest schedules brought in line
 * with the accounts.
 */
export async function startDigestWorker(deps: {
  db: Database;
  boss: PgBoss;
  digests: DigestService;
  sla: SlaDeps;
  config: Config["digest"];
  log: Logger;
}): Promise<void> {
  const { db, boss, log } = deps;
  await syncDigestSchedules(db, boss, deps.config);
  await boss.work<DigestJob>(DIGEST_QUEUE, async (jobs) => {
    for (const job of jobs) {
      const account = await deps.digests.account(job.data.account);
      if (!account) {
        log.warn({ account: job.data.account }, "digest for an unknown account skipped");
        continue;
      }
      const result = await deps.digests.post(account, job.data.kind);
      if (!result.posted) log.warn({ account: account.id, reason: result.reason }, "digest not posted");
    }
  });
  await boss.schedule(SLA_QUEUE, "* * * * *", {}, { key: "sla" });
  await boss.work(SLA_QUEUE, async () => {
    await runSlaAlerts(deps.sla);
    const changed = await syncDigestSchedules(db, boss, deps.config);
    if (changed.added + changed.removed > 0) log.info(changed, "digest schedules updated");
  });
}
