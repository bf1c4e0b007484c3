// Completed inbound and outbound jobs go after a day; failed ones (dead letters, which hold their
// conversation back until an operator acts) stay as long as their queue keeps them.
import type { PgBoss } from "pg-boss";
import { beforeAll, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { INBOUND_QUEUE, OUTBOUND_QUEUE } from "../../src/queue/boss.ts";
import { purgeCompletedJobs } from "../../src/queue/job-retention.ts";
import { useIdleService } from "../helpers/idle-service.ts";

let db: Database;
let boss: PgBoss;

const service = useIdleService();
beforeAll(async () => {
  // No workers: the test settles the jobs itself.
  ({ db, boss } = service);
});

async function settle(queue: string, key: string, outcome: "complete" | "fail"): Promise<string> {
  const [id] = (await boss.insert(queue, [{ data: { n: key }, singletonKey: key, retryLimit: 0 }], {
    returnId: true,
  })) as string[];
  const jobs = await boss.fetch(queue, { batchSize: 10 });
  const job = jobs.find((j) => j.id === id);
  if (!job) throw new Error(`job ${id} was not fetched`);
  if (outcome === "complete") await boss.complete(queue, job.id);
  else await boss.fail(queue, job.id, { reason: "test" });
  return job.id;
}

async function states(): Promise<Record<string, string>> {
  const { rows } = await db.query<{ id: string; state: string }>(
    "SELECT id, state FROM pgboss.job WHERE name = ANY($1)",
    [[INBOUND_QUEUE, OUTBOUND_QUEUE]],
  );
  return Object.fromEntries(rows.map((r) => [r.id, r.state]));
}

it("deletes completed inbound and outbound jobs after a day and keeps failed ones", async () => {
  const done = await settle(INBOUND_QUEUE, "a:dm:1", "complete");
  const dead = await settle(INBOUND_QUEUE, "a:dm:2", "fail");
  const sent = await settle(OUTBOUND_QUEUE, "a:dm:3", "complete");
  expect(await states()).toMatchObject({ [done]: "completed", [dead]: "failed", [sent]: "completed" });

  // Completed just now: kept.
  expect(await purgeCompletedJobs(db, boss)).toEqual({ inbound: 0, outbound: 0 });
  // A day and a minute later: the completed ones go, the dead letter stays.
  const later = new Date(Date.now() + 24 * 3_600_000 + 60_000);
  expect(await purgeCompletedJobs(db, boss, later)).toEqual({ inbound: 1, outbound: 1 });
  const left = await states();
  expect(left[dead]).toBe("failed");
  expect(left[done]).toBeUndefined();
  expect(left[sent]).toBeUndefined();
});
