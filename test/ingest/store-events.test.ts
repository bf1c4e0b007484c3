// storeInbound writes the events and their pg-boss jobs in one statement of its own SQL, not through
// pg-boss's insert(): these tests hold that SQL to what pg-boss writes and to what a pg-boss worker
// needs, so a pg-boss upgrade that changes either fails here.
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import { beforeAll, describe, expect, it } from "vitest";
import type { Database, SqlClient } from "../../src/db/database.ts";
import { storeInbound, type TracedRecord } from "../../src/ingest/store-events.ts";
import { createLogger } from "../../src/log/logger.ts";
import { INBOUND_QUEUE, type InboundJob } from "../../src/queue/boss.ts";
import { JobBell } from "../../src/queue/job-bell.ts";
import { workSlots } from "../../src/queue/work-slots.ts";
import { useIdleService } from "../helpers/idle-service.ts";
import { waitFor } from "../helpers/service.ts";

let db: Database;
let boss: PgBoss;

const service = useIdleService();
beforeAll(async () => {
  // No worker role: the tests run pg-boss's worker on the inbound queue themselves.
  ({ db, boss } = service);
});

let seq = 0;
/** A seen event of customer `customer` (its own thread), at `at`. */
function record(customer: string, at: number, mid = `m${++seq}`): TracedRecord {
  return {
    event: { type: "dm.seen", accountId: "acct1", occurredAt: at, customerId: customer, mid },
    dedupeKey: `seen:${mid}`,
    threadKey: `dm:${customer}`,
    raw: { mid },
  };
}

async function jobRow(id: string): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ row: Record<string, unknown> }>(
    "SELECT to_jsonb(j) || jsonb_build_object('partition', j.tableoid::regclass::text, 'retention', extract(epoch FROM j.keep_until - j.start_after)) AS row FROM pgboss.job j WHERE id = $1",
    [id],
  );
  const row = rows[0]?.row;
  if (!row) throw new Error(`no job ${id}`);
  return row;
}

async function jobOf(eventId: number): Promise<string> {
  const { rows } = await db.query<{ job_id: string }>("SELECT job_id FROM inbound_events WHERE id = $1", [
    eventId,
  ]);
  return rows[0]?.job_id as string;
}

describe("storeInbound", () => {
  it("writes each job as pg-boss's own insert() does for the inbound queue, column by column", async () => {
    const traced = {
      ...record("c1", 1_000),
      trace: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    };
    const { stored } = await storeInbound(db, [traced]);
    expect(stored).toHaveLength(1);
    const ours = await jobRow(await jobOf(stored[0]?.id as number));

    const theirsId = uuidv7();
    await boss.insert(INBOUND_QUEUE, [
      { id: theirsId, singletonKey: "acct1:dm:c1", data: { eventId: stored[0]?.id, trace: traced.trace } },
    ]);
    const theirs = await jobRow(theirsId);

    // Every column of pgboss.job (whatever a later pg-boss adds) is compared, except the job's own
    // identity and the instants, which differ by the time between the two inserts.
    const instants = ["id", "start_after", "created_on", "keep_until"];
    const strip = (row: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(row).filter(([k]) => !instants.includes(k)));
    expect(strip(ours)).toEqual(strip(theirs));
    expect(ours.created_on).toBe(ours.start_after);
    expect(ours).toMatchObject({
      name: INBOUND_QUEUE,
      state: "created",
      policy: "key_strict_fifo",
      singleton_key: "acct1:dm:c1",
      data: { eventId: stored[0]?.id, trace: traced.trace },
      heartbeat_seconds: 10,
    });
    // Settled here, so the next test's worker does not receive it.
    await db.query("DELETE FROM pgboss.job WHERE id = ANY($1::uuid[])", [[ours.id, theirsId]]);
  });

  it("stores a redelivered event once, with one job, also when a batch repeats it", async () => {
    const a = record("c2", 2_000);
    const b = record("c2", 2_001);
    const first = await storeInbound(db, [a, b, a]);
    expect(first).toMatchObject({ duplicates: 1 });
    expect(first.stored.map((e) => e.dedupeKey)).toEqual([a.dedupeKey, b.dedupeKey]);
    const again = await storeInbound(db, [b, a]);
    expect(again).toEqual({ stored: [], duplicates: 2 });
    const { rows } = await db.query<{ events: number; jobs: number }>(
      `SELECT (SELECT count(*)::int FROM inbound_events WHERE dedupe_key = ANY($1)) AS events,
              (SELECT count(*)::int FROM pgboss.job j JOIN inbound_events e ON e.job_id = j.id
                WHERE e.dedupe_key = ANY($1)) AS jobs`,
      [[a.dedupeKey, b.dedupeKey]],
    );
    expect(rows[0]).toEqual({ events: 2, jobs: 2 });
    await db.query("DELETE FROM pgboss.job WHERE singleton_key = 'acct1:dm:c2'");
  });

  it("stores nothing when the job insert fails: no event without its job", async () => {
    const { rows } = await db.query<{ table_name: string }>(
      "SELECT table_name FROM pgboss.queue WHERE name = $1",
      [INBOUND_QUEUE],
    );
    const table = `pgboss.${rows[0]?.table_name}`;
    await db.query(
      "CREATE FUNCTION refuse_job() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'job refused'; END $$",
    );
    await db.query(
      `CREATE TRIGGER refuse_job BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse_job()`,
    );
    const r = record("c3", 3_000);
    try {
      await expect(storeInbound(db, [r])).rejects.toThrow(/job refused/);
    } finally {
      await db.query(`DROP TRIGGER refuse_job ON ${table}`);
      await db.query("DROP FUNCTION refuse_job()");
    }
    const { rows: events } = await db.query("SELECT 1 FROM inbound_events WHERE dedupe_key = $1", [
      r.dedupeKey,
    ]);
    expect(events).toHaveLength(0);
    // Stored on the next delivery, with its job.
    expect((await storeInbound(db, [r])).stored).toHaveLength(1);
    await db.query("DELETE FROM pgboss.job WHERE singleton_key = 'acct1:dm:c3'");
  });

  it("wakes the job loops after the statement, not inside it, and only when it stored a job", async () => {
    // A handle of its own that records each statement and when it was answered.
    const log: string[] = [];
    const recording = {
      query: async <R extends object>(text: string, params?: unknown[]) => {
        const kind = /pg_notify/.test(text)
          ? "notify"
          : /INSERT INTO inbound_events/.test(text)
            ? "store"
            : "other";
        log.push(`sent ${kind}`);
        const result = await db.query<R>(text, params);
        log.push(`done ${kind}`);
        return result;
      },
    };
    const r = record("c6", 6_000);
    await storeInbound(recording, [r]);
    await waitFor(async () => (log.includes("done notify") ? true : undefined), 5_000, "the NOTIFY");
    // The NOTIFY left after the statement that stored the job had committed.
    expect(log).toEqual(["sent store", "done store", "sent notify", "done notify"]);
    // A redelivery stores no job, so it wakes nobody.
    log.length = 0;
    expect(await storeInbound(recording, [r])).toEqual({ stored: [], duplicates: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(log).toEqual(["sent store", "done store"]);
    await db.query("DELETE FROM pgboss.job WHERE singleton_key = 'acct1:dm:c6'");
  });

  /** Stores `r` through `client` and waits until the inbound loops' bell rings for it. */
  async function storedAndRung(client: SqlClient, r: TracedRecord): Promise<void> {
    const bell = await JobBell.listen(db, createLogger("silent"));
    let rings = 0;
    const off = bell.on(INBOUND_QUEUE, () => rings++);
    try {
      await storeInbound(client, [r]);
      await waitFor(async () => (rings > 0 ? true : undefined), 5_000, "a ring");
    } finally {
      off();
      await bell.close();
    }
  }

  it("rings the inbound loops after storing, and leaves the pool's connections synchronous", async () => {
    try {
      await storedAndRung(db, record("c7", 7_000));
      // Nothing the wake-up sends changes a pooled connection's settings: all ten at once still
      // commit synchronously.
      const shown = await Promise.all(
        Array.from({ length: 10 }, () => db.query<{ synchronous_commit: string }>("SHOW synchronous_commit")),
      );
      expect(shown.map((r) => r.rows[0]?.synchronous_commit)).toEqual(Array(10).fill("on"));
    } finally {
      await db.query("DELETE FROM pgboss.job WHERE singleton_key = 'acct1:dm:c7'");
    }
  });

  it("sends the wake-up as a statement named once per connection", async () => {
    const named: string[] = [];
    const recording = {
      query: db.query.bind(db),
      ...(db.queryPrepared && {
        queryPrepared: <R extends object>(name: string, text: string, params?: unknown[]) => {
          named.push(name);
          return (db.queryPrepared as NonNullable<typeof db.queryPrepared>)<R>(name, text, params);
        },
      }),
    };
    try {
      await storedAndRung(recording, record("c8", 8_000));
      // Where the database takes named statements (not the embedded one), the wake-up is one.
      if (db.queryPrepared) expect(named).toEqual(["threadbridge_store_inbound", "tb_notify_inbound"]);
    } finally {
      await db.query("DELETE FROM pgboss.job WHERE singleton_key = 'acct1:dm:c8'");
    }
  });

  it("hands pg-boss's worker every job, woken by NOTIFY, in order within each thread", async () => {
    const got: Array<{ eventId: number; at: number }> = [];
    // The service's inbound worker slots, polling only every 20 s: jobs handled within seconds were
    // announced by the statement's pg_notify (a slot fetches again at once after each job).
    const bell = await JobBell.listen(db, createLogger("silent"));
    const slots = await workSlots<InboundJob>(
      boss,
      INBOUND_QUEUE,
      { concurrency: 4, pollingIntervalSeconds: 20, bell },
      async (job) => {
        got.push({ eventId: job.data.eventId, at: Date.now() });
      },
    );
    // Let the worker's first (empty) fetch pass, so only a notification can bring the jobs early.
    await new Promise((r) => setTimeout(r, 1500));

    // Two threads, each delivered out of order inside one batch, then a second batch for each.
    const batch1 = [record("c4", 5_003), record("c5", 5_001), record("c4", 5_001), record("c4", 5_002)];
    const batch2 = [record("c5", 5_010), record("c4", 5_010)];
    const sentAt = Date.now();
    const one = await storeInbound(db, batch1);
    const two = await storeInbound(db, batch2);
    const ids = [...one.stored, ...two.stored].map((e) => e.id);
    await waitFor(async () => (got.length >= ids.length ? true : undefined), 10_000, "every job handled");
    expect(got.map((g) => g.eventId).sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
    expect(Math.max(...got.map((g) => g.at)) - sentAt).toBeLessThan(10_000);

    const { rows } = await db.query<{ id: number; thread_key: string; occurred_at: Date }>(
      "SELECT id, thread_key, occurred_at FROM inbound_events WHERE id = ANY($1::bigint[])",
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const thread of ["dm:c4", "dm:c5"]) {
      const handled = got.map((g) => byId.get(g.eventId)).filter((r) => r?.thread_key === thread);
      const times = handled.map((r) => r?.occurred_at.getTime() as number);
      expect(times).toEqual([...times].sort((x, y) => x - y));
    }
    // Each job was completed by the worker, as any job pg-boss inserted would be.
    await waitFor(
      async () => {
        const { rows: open } = await db.query(
          "SELECT 1 FROM pgboss.job WHERE name = $1 AND state <> 'completed'",
          [INBOUND_QUEUE],
        );
        return open.length === 0 ? true : undefined;
      },
      10_000,
      "jobs completed",
    );
    await slots.stop();
    await bell.close();
  });
});
