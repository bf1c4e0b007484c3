// The inbound job is completed by SQL of our own, in the event's processed mark
// (queue/complete-in-statement.ts, mirror/pipeline.ts), not through pg-boss's complete(): these
// tests hold that SQL to what pg-boss's fenced completion writes and fences, and the mark and the
// completion to one commit, so a pg-boss upgrade that changes either fails here.
import type { PgBoss } from "pg-boss";
import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { storeInbound } from "../../src/ingest/store-events.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Bridge } from "../../src/mirror/pipeline.ts";
import { INBOUND_QUEUE, type InboundJob } from "../../src/queue/boss.ts";
import { completeJobSql, SUCCESSOR_SCAN, successorSql } from "../../src/queue/complete-in-statement.ts";
import { type Commit, observedCommits } from "../helpers/commit-settings.ts";
import { useIdleService } from "../helpers/idle-service.ts";
import { inRolledBackTransaction, rowsRead } from "../helpers/plan.ts";

let db: Database;
let boss: PgBoss;
let queues = 0;

const service = useIdleService();
beforeAll(async () => {
  // No worker role: nothing else takes the jobs these tests fetch.
  ({ db, boss } = service);
});

/** A key_strict_fifo queue as the inbound one is, with short retries. */
async function queue(): Promise<string> {
  const name = `complete-test-${queues++}`;
  await boss.createQueue(name, { policy: "key_strict_fifo", retryLimit: 3, retryDelay: 0 });
  return name;
}

async function jobRow(id: string): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ row: Record<string, unknown> }>(
    "SELECT to_jsonb(j) || jsonb_build_object('partition', j.tableoid::regclass::text) AS row FROM pgboss.job j WHERE id = $1",
    [id],
  );
  const row = rows[0]?.row;
  if (!row) throw new Error(`no job ${id}`);
  return row;
}

/** Completes `id` at attempt `retryCount` with our SQL; how many jobs it completed. */
async function completeOurs(name: string, id: string, retryCount: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH completed AS (${completeJobSql(name, 1, 2)}) SELECT count(*)::int AS n FROM completed`,
    [id, retryCount],
  );
  return rows[0]?.n ?? -1;
}

async function fetchOne(name: string) {
  const [job] = await boss.fetch(name, { batchSize: 1, includeMetadata: true });
  if (!job) throw new Error(`nothing to fetch in ${name}`);
  return job;
}

describe("completeJobSql", () => {
  it("completes a job as pg-boss's fenced complete() does, column by column", async () => {
    const name = await queue();
    await boss.send(name, { n: 1 }, { singletonKey: "a" });
    await boss.send(name, { n: 1 }, { singletonKey: "b" });
    const first = await fetchOne(name);
    const second = await fetchOne(name);
    await boss.complete(name, { id: first.id, retryCount: first.retryCount });
    expect(await completeOurs(name, second.id, second.retryCount)).toBe(1);
    const theirs = await jobRow(first.id);
    const ours = await jobRow(second.id);
    // Every column (whatever a later pg-boss adds), except the job's identity, its key and the
    // instants, which differ by the time between the two.
    const own = [
      "id",
      "singleton_key",
      "created_on",
      "start_after",
      "started_on",
      "heartbeat_on",
      "completed_on",
      "keep_until",
    ];
    const strip = (row: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(row).filter(([k]) => !own.includes(k)));
    expect(strip(ours)).toEqual(strip(theirs));
    expect(ours).toMatchObject({ state: "completed", output: null });
    expect(ours.completed_on).not.toBeNull();
  });

  it("completes only the attempt fetched, while it is active", async () => {
    const name = await queue();
    const id = (await boss.send(name, { n: 2 }, { singletonKey: "c" })) as string;
    // Not fetched yet: not active.
    expect(await completeOurs(name, id, 0)).toBe(0);
    const attempt = await fetchOne(name);
    expect(attempt.retryCount).toBe(0);
    // Failed meanwhile (an expiry, a stop): the late completion of that attempt is fenced out.
    await boss.fail(name, { id, retryCount: 0 });
    expect(await completeOurs(name, id, 0)).toBe(0);
    const retry = await fetchOne(name);
    expect(retry).toMatchObject({ id, retryCount: 1 });
    // Still fenced out once the retry is active: only the retry's own attempt completes it.
    expect(await completeOurs(name, id, 0)).toBe(0);
    expect(await jobRow(id)).toMatchObject({ state: "active" });
    expect(await completeOurs(name, id, 1)).toBe(1);
    expect(await jobRow(id)).toMatchObject({ state: "completed" });
    // Once completed, a repeat changes nothing.
    expect(await completeOurs(name, id, 1)).toBe(0);
  });

  it("says whether a job of the completed job's key waits", async () => {
    const name = await queue();
    await boss.send(name, { n: 1 }, { singletonKey: "s" });
    await boss.send(name, { n: 2 }, { singletonKey: "s" });
    await boss.send(name, { n: 1 }, { singletonKey: "other" });
    const successor = async (id: string, retryCount: number) => {
      const { rows } = await db.query<{ successor: boolean }>(
        `WITH completed AS (${completeJobSql(name, 1, 2)}) SELECT ${successorSql(name)} AS successor`,
        [id, retryCount],
      );
      return rows[0]?.successor;
    };
    const first = await fetchOne(name);
    const other = await fetchOne(name);
    expect(await successor(first.id, first.retryCount)).toBe(true);
    expect(await successor(other.id, other.retryCount)).toBe(false);
    const second = await fetchOne(name);
    expect(second.data).toEqual({ n: 2 });
    expect(await successor(second.id, second.retryCount)).toBe(false);
    // Nothing completed (a fenced-out attempt): nothing said to wait.
    expect(await successor(second.id, second.retryCount)).toBe(false);
  });

  it.each([
    ["taken while nothing waited (a quiet queue)", "before"],
    ["that know of the backlog", "after"],
  ])("reads a few waiting jobs at most, however long the backlog, with statistics %s", async (_, when) => {
    const name = await queue();
    await boss.send(name, { n: 0 }, { singletonKey: "mine" });
    await boss.send(name, { n: 1 }, { singletonKey: "also mine" });
    const job = await fetchOne(name);
    const second = await fetchOne(name);
    expect([job.data, second.data]).toEqual([{ n: 0 }, { n: 1 }]);
    // A queue that has done some work: the planner's statistics are of its finished jobs.
    await boss.insert(
      name,
      Array.from({ length: 500 }, (_, k) => ({ data: { k }, singletonKey: `done-${k}` })),
    );
    await db.query(
      `UPDATE pgboss.job SET state = 'completed', completed_on = now() WHERE name = $1 AND singleton_key LIKE 'done-%'`,
      [name],
    );
    if (when === "before") await db.query("ANALYZE pgboss.job_common");
    await boss.insert(
      name,
      Array.from({ length: 1000 }, (_, k) => ({ data: { k }, singletonKey: `other-${k}` })),
    );
    if (when === "after") await db.query("ANALYZE pgboss.job_common");
    // The generic plan, as a prepared statement's after its fifth run: the plan the worker runs.
    const plan = await db.transaction(async (tx) => {
      await tx.query("SET LOCAL plan_cache_mode = force_generic_plan");
      await tx.query(
        `PREPARE successor_probe(uuid, int) AS
           WITH completed AS (${completeJobSql(name, 1, 2)}) SELECT ${successorSql(name)} AS successor`,
      );
      const { rows } = await tx.query<{ "QUERY PLAN": unknown }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE successor_probe('${job.id}', ${job.retryCount})`,
      );
      await tx.query("DEALLOCATE successor_probe");
      return rows[0]?.["QUERY PLAN"];
    });
    // Index entries and rows the plan's scans read or threw away: a bounded few, not the 1,000.
    const read = rowsRead(plan);
    expect(read).toBeGreaterThan(SUCCESSOR_SCAN);
    expect(read).toBeLessThan(SUCCESSOR_SCAN + 10);
    // Past the bound it answers yes (no job of the key waits): the job loop fetches anyway then.
    const { rows } = await db.query<{ completed: number; successor: boolean }>(
      `WITH completed AS (${completeJobSql(name, 1, 2)})
       SELECT (SELECT count(*) FROM completed)::int AS completed, ${successorSql(name)} AS successor`,
      [second.id, second.retryCount],
    );
    expect(rows[0]).toEqual({ completed: 1, successor: true });
  });

  it.each([
    ["taken while nothing was active (a quiet queue)", "before"],
    ["that know of the jobs in hand", "after"],
  ])("finds the job by its key, not among the jobs in hand, with statistics %s", async (_, when) => {
    const name = await queue();
    // A queue that has done some work: finished jobs stay until their retention ends.
    await boss.insert(
      name,
      Array.from({ length: 2000 }, (_, k) => ({ data: { k }, singletonKey: `done-${k}` })),
    );
    await db.query(`UPDATE pgboss.job SET state = 'completed', completed_on = now() WHERE name = $1`, [name]);
    await boss.send(name, { n: 0 }, { singletonKey: "first" });
    if (when === "before") await db.query("ANALYZE pgboss.job_common");
    // A worker's slots full: 40 jobs of as many conversations active at once.
    await boss.insert(
      name,
      Array.from({ length: 40 }, (_, k) => ({ data: { k }, singletonKey: `busy-${k}` })),
    );
    const [job, ...busy] = await boss.fetch(name, { batchSize: 41, includeMetadata: true });
    expect(busy).toHaveLength(40);
    if (when === "after") await db.query("ANALYZE pgboss.job_common");
    const plan = await inRolledBackTransaction(db, async (tx) => {
      // The generic plan, as a prepared statement's after its fifth run: the plan the worker runs.
      await tx.query("SET LOCAL plan_cache_mode = force_generic_plan");
      await tx.query(
        `PREPARE completion_probe(uuid, int) AS
           WITH completed AS (${completeJobSql(name, 1, 2)}) SELECT count(*) FROM completed`,
      );
      const { rows } = await tx.query<{ "QUERY PLAN": unknown }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE completion_probe('${job?.id}', ${job?.retryCount})`,
      );
      // A prepared statement outlives its transaction.
      await tx.query("DEALLOCATE completion_probe");
      return rows[0]?.["QUERY PLAN"];
    });
    expect(JSON.stringify(plan)).toMatch(/"Relation Name":\s*"job_common"/);
    // The one job, by primary key: not the 41 active ones read to find it.
    expect(rowsRead(plan)).toBeLessThanOrEqual(2);
  });

  it("refuses a queue name that is not one", () => {
    expect(() => completeJobSql("inbound'; DROP TABLE x; --", 1, 2)).toThrow(/not a queue name/);
  });
});

describe("the processed mark with the job's completion", () => {
  const log = createLogger("silent", { pretty: false });
  let seq = 0;
  async function storedJob(customer: string) {
    const mid = `m${++seq}`;
    const { stored } = await storeInbound(db, [
      {
        event: { type: "dm.seen", accountId: "acct1", occurredAt: 1_000 + seq, customerId: customer, mid },
        dedupeKey: `seen:${mid}`,
        threadKey: `dm:${customer}`,
        raw: { mid },
      },
    ]);
    const eventId = stored[0]?.id as number;
    const [job] = await boss.fetch<InboundJob>(INBOUND_QUEUE, { batchSize: 1, includeMetadata: true });
    if (!job || job.data.eventId !== eventId) throw new Error("the stored event's job was not fetched");
    return { eventId, job };
  }
  const status = async (eventId: number) =>
    (await db.query<{ status: string }>("SELECT status FROM inbound_events WHERE id = $1", [eventId])).rows[0]
      ?.status;

  it("marks the event processed and completes its job", async () => {
    const bridge = new Bridge({ db, log });
    const { eventId, job } = await storedJob("c1");
    const result = await bridge.handleStored(eventId, {
      queue: INBOUND_QUEUE,
      id: job.id,
      retryCount: job.retryCount,
    });
    expect(result).toMatchObject({ outcome: "processed", jobCompleted: true });
    expect(await status(eventId)).toBe("processed");
    expect(await jobRow(job.id)).toMatchObject({ state: "completed" });
  });

  it("commits both without waiting for the flush (db/unflushed-commit.ts)", async () => {
    const commits: Commit[] = [];
    const bridge = new Bridge({ db: observedCommits(db, commits), log });
    const { eventId, job } = await storedJob("c3");
    await bridge.handleStored(eventId, { queue: INBOUND_QUEUE, id: job.id, retryCount: job.retryCount });
    expect(commits.find((c) => c.statement === "tb_event_processed")).toEqual({
      statement: "tb_event_processed",
      synchronousCommit: "off",
    });
    expect(commits.find((c) => c.statement === "transaction")?.synchronousCommit).toBe("on");
    expect(await jobRow(job.id)).toMatchObject({ state: "completed" });
  });

  it("does neither when the completion fails: one commit for both", async () => {
    const bridge = new Bridge({ db, log });
    const { eventId, job } = await storedJob("c2");
    const { rows } = await db.query<{ table_name: string }>(
      "SELECT table_name FROM pgboss.queue WHERE name = $1",
      [INBOUND_QUEUE],
    );
    const table = `pgboss.${rows[0]?.table_name}`;
    await db.query(
      "CREATE FUNCTION refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'completion refused'; END $$",
    );
    await db.query(
      `CREATE TRIGGER refuse_completion BEFORE UPDATE ON ${table} FOR EACH ROW
         WHEN (NEW.state = 'completed') EXECUTE FUNCTION refuse_completion()`,
    );
    try {
      await expect(
        bridge.handleStored(eventId, { queue: INBOUND_QUEUE, id: job.id, retryCount: job.retryCount }),
      ).rejects.toThrow(/completion refused/);
    } finally {
      await db.query(`DROP TRIGGER refuse_completion ON ${table}`);
      await db.query("DROP FUNCTION refuse_completion()");
    }
    // Not processed, the job still active: the job's failure or expiry retries the whole.
    expect(await status(eventId)).not.toBe("processed");
    expect(await jobRow(job.id)).toMatchObject({ state: "active" });
    const again = await bridge.handleStored(eventId, {
      queue: INBOUND_QUEUE,
      id: job.id,
      retryCount: job.retryCount,
    });
    expect(again).toMatchObject({ outcome: "processed", jobCompleted: true });
    expect(await jobRow(job.id)).toMatchObject({ state: "completed" });
  });
});
