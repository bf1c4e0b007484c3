import type { PgBoss } from "pg-boss";
import type { Database } from "../db/database.ts";
import { INBOUND_QUEUE, OUTBOUND_QUEUE } from "./boss.ts";

// pg-boss keeps a finished job for its queue's `deleteAfterSeconds`, failed and completed alike.
// The inbound and outbound queues need their failed jobs for weeks: a dead letter's job holds its
// conversation back (key_strict_fifo) until an operator replays or discards it. Their completed
// jobs carry nothing anyone reads once the work is done, yet a month of them (one per webhook
// event and per reply) would make the job table the largest in the database. So the daily
// retention pass deletes completed jobs of those two queues after a day, through pg-boss's own
// deleteJob, in batches.

/** How long a completed inbound or outbound job stays: enough to look into yesterday's work. */
export const COMPLETED_JOB_HOURS = 24;
const BATCH = 5_000;

export async function purgeCompletedJobs(
  db: Database,
  boss: PgBoss,
  now = new Date(),
): Promise<{ inbound: number; outbound: number }> {
  const before = new Date(now.getTime() - COMPLETED_JOB_HOURS * 3_600_000);
  const counts = { inbound: 0, outbound: 0 };
  for (const [queue, key] of [
    [INBOUND_QUEUE, "inbound"],
    [OUTBOUND_QUEUE, "outbound"],
  ] as const) {
    for (;;) {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM pgboss.job
          WHERE name = $1 AND state = 'completed' AND completed_on < $2 AND NOT blocking LIMIT ${BATCH}`,
        [queue, before],
      );
      if (rows.length === 0) break;
      await boss.deleteJob(
        queue,
        rows.map((r) => r.id),
      );
      counts[key] += rows.length;
      if (rows.length < BATCH) break;
    }
  }
  return counts;
}
