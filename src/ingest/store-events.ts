import type { SqlClient } from "../db/database.ts";
import { pgJson } from "../db/pg-json.ts";
import { queryNamed } from "../db/query-named.ts";
import type { InboundRecord } from "../instagram/events.ts";
import { INBOUND_QUEUE } from "../queue/boss.ts";
import type { TraceCarrier } from "../tracing/spans.ts";
import { jobId } from "./job-ids.ts";

/** An event to store, with the trace of the delivery it came in (when traces are on). */
export type TracedRecord = InboundRecord & { trace?: TraceCarrier };

export interface StoredEvent {
  id: number;
  kind: string;
  accountId: string;
  dedupeKey: string;
}

export interface StoreResult {
  stored: StoredEvent[];
  duplicates: number;
}

// One statement stores a batch's events and queues a pg-boss job for each new one: a single
// statement is atomic on its own, so there is no BEGIN and COMMIT around it, and one round trip
// instead of four (BEGIN, the events, pg-boss's job insert, COMMIT) is what a webhook costs the web
// process and Postgres (bench/README.md, Ingest). The rows travel as one JSON parameter; $2 maps a
// job id to the W3C trace carrier of its delivery, when traces are on.
//
// The job rows are the ones pg-boss's own insert() writes for this queue (its insertJobs plan, read
// against pg-boss 12.38): the queue's retry, expiry, retention, deletion, heartbeat and dead-letter
// settings and its policy copied from pgboss.queue, start_after and created_on from pgboss.job_now()
// (pg-boss's clock, which its test clock can move), keep_until the retention after start_after, and
// the key_strict_fifo singleton key. test/ingest/store-events.test.ts compares a row written here
// with one pg-boss writes, column by column, and runs the jobs through a pg-boss worker, so an
// upgrade that changes what a job row needs fails there first. The jobs go into pgboss.job, which
// routes each row to the queue's partition. No ON CONFLICT on the jobs: a fresh id conflicts with
// nothing, and an error there fails the whole statement, so no event is ever stored without its
// job. A missing queue row (it is created at start) fails it too, on the job's NOT NULL columns.
// The workers LISTENing on pg-boss's channel are woken by a NOTIFY of its own (`wakeInboundWorkers`,
// below), not one inside this statement as pg-boss's insert sends it: see there why.
const INSERT_EVENTS_AND_JOBS = `
  WITH q AS (
    SELECT * FROM pgboss.queue WHERE name = '${INBOUND_QUEUE}'
  ), ev AS (
    INSERT INTO inbound_events (account_id, dedupe_key, kind, thread_key, event, raw, occurred_at, job_id)
    SELECT r.account_id, r.dedupe_key, r.kind, r.thread_key, r.event, r.raw, to_timestamp(r.occurred_at / 1000.0), r.job_id
    FROM jsonb_to_recordset($1::jsonb)
      AS r(account_id text, dedupe_key text, kind text, thread_key text, event jsonb, raw jsonb, occurred_at float8, job_id uuid, ord int)
    ORDER BY ord
    ON CONFLICT (account_id, dedupe_key) DO NOTHING
    RETURNING id, kind, account_id, dedupe_key, thread_key, job_id
  ), jobs AS (
    INSERT INTO pgboss.job (
      id, name, data, priority, start_after, created_on, singleton_key,
      expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay, retry_backoff,
      retry_delay_max, policy, dead_letter, heartbeat_seconds
    )
    SELECT
      ev.job_id,
      '${INBOUND_QUEUE}',
      CASE WHEN $2::jsonb ? ev.job_id::text
        THEN jsonb_build_object('eventId', ev.id, 'trace', $2::jsonb -> ev.job_id::text)
        ELSE jsonb_build_object('eventId', ev.id) END,
      0,
      pgboss.job_now(),
      pgboss.job_now(),
      ev.account_id || ':' || ev.thread_key,
      q.expire_seconds,
      q.deletion_seconds,
      pgboss.job_now() + q.retention_seconds * interval '1 second',
      q.retry_limit,
      q.retry_delay,
      q.retry_backoff,
      q.retry_delay_max,
      q.policy,
      q.dead_letter,
      q.heartbeat_seconds
    FROM ev LEFT JOIN q ON true
  )
  SELECT ev.id, ev.kind, ev.account_id, ev.dedupe_key
  FROM ev
  ORDER BY ev.id`;

// What pg-boss's insert sends for a queue created with `notify`: the queue's name on pg-boss's
// channel for the schema, which the job loops' JobBell hears.
const NOTIFY_INBOUND = `
  SELECT pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), name)
  FROM pgboss.queue WHERE name = '${INBOUND_QUEUE}' AND notify`;

/**
 * Wakes the inbound job loops once jobs are stored, with a NOTIFY in a transaction of its own, sent
 * after the webhook's statement has committed, and not awaited by the webhook. Postgres serialises
 * every transaction that sends a NOTIFY, in the whole cluster, on one lock taken before its commit
 * and held until the commit is done (async.c, PreCommit_Notify), so that notifications are queued in
 * commit order. Inside the webhook's statement that lock made the statements in flight commit one
 * after another, each waiting for the flushes before it, instead of sharing one flush (group
 * commit); the webhooks waited for that queue and for every other NOTIFY on the server
 * (bench/README.md, Ingest: the acknowledgement tail). Here only the wake-up waits for it.
 *
 * That transaction writes nothing to the WAL but its commit record, and Postgres commits such a
 * transaction without waiting for a flush (xact.c, RecordTransactionCommit: a flush only when the
 * transaction wrote WAL of its own), so it holds the lock for no flush and adds none to the ones the
 * webhooks wait for; a crash may lose the notification, and the loops' poll finds the jobs (which
 * were flushed before it was sent). It is a named statement, parsed and planned once per
 * connection (0.07 → 0.04 ms of Postgres's CPU a call; bench/README.md, "Ingest, the batch in
 * flight"). At most one NOTIFY is in flight per handle: jobs stored while one is on its way are
 * announced by one more, sent after it, so a loop woken early still finds every job committed
 * before the wake-up it hears last. A NOTIFY that fails is dropped: it is only a latency hint, as
 * the loops also poll.
 */
class InboundWaker {
  private running = false;
  private again = false;
  private readonly db: SqlClient;

  constructor(db: SqlClient) {
    this.db = db;
  }

  wake(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      try {
        await queryNamed(this.db, "tb_notify_inbound", NOTIFY_INBOUND);
      } catch {
        // The loops' next poll finds the jobs (WORKER_POLL_SECONDS); nothing is lost.
      }
    } while (this.again);
    this.running = false;
  }
}

const wakers = new WeakMap<SqlClient, InboundWaker>();

/** Wakes the inbound job loops listening on `db`'s database: see InboundWaker. */
export function wakeInboundWorkers(db: SqlClient): void {
  let waker = wakers.get(db);
  if (!waker) {
    waker = new InboundWaker(db);
    wakers.set(db, waker);
  }
  waker.wake();
}

interface InsertedRow {
  id: number;
  kind: string;
  account_id: string;
  dedupe_key: string;
}

/**
 * Stores the events of one webhook delivery (or a batch of them) and enqueues one job per new event,
 * in one statement: once this resolves the events survive any crash, and a redelivered event (same
 * dedupe key) is neither stored nor enqueued again. The job loops are woken after it, not awaited.
 */
export async function storeInbound(db: SqlClient, records: readonly TracedRecord[]): Promise<StoreResult> {
  if (records.length === 0) return { stored: [], duplicates: 0 };
  // Job ids are UUIDv7, increasing within this process: pg-boss breaks a tie between jobs of one key
  // created in the same transaction by id, so this keeps a batch's events of a thread in order.
  // Meta does not promise order inside a batch; the item timestamps are the best order there is.
  const ordered = [...records].sort((a, b) => a.event.occurredAt - b.event.occurredAt);
  const traces: Record<string, TraceCarrier> = {};
  const rows = ordered.map((r, ord) => {
    const id = jobId();
    if (r.trace) traces[id] = r.trace;
    return {
      ord,
      account_id: r.event.accountId,
      dedupe_key: r.dedupeKey,
      kind: r.event.type,
      thread_key: r.threadKey,
      event: r.event,
      raw: r.raw,
      occurred_at: r.event.occurredAt,
      job_id: id,
    };
  });
  const params = [pgJson(rows), JSON.stringify(traces)];
  // Prepared where the database can: parsing and planning this statement was about 40 % of
  // Postgres's CPU time per batch of 7 events (bench/README.md, Ingest).
  const { rows: inserted } = await queryNamed<InsertedRow>(
    db,
    "threadbridge_store_inbound",
    INSERT_EVENTS_AND_JOBS,
    params,
  );
  if (inserted.length > 0) wakeInboundWorkers(db);
  return {
    stored: inserted.map((r) => ({
      id: r.id,
      kind: r.kind,
      accountId: r.account_id,
      dedupeKey: r.dedupe_key,
    })),
    duplicates: records.length - inserted.length,
  };
}

// SQLSTATE classes no retry gets past: 22 data exception (a value the column or type cannot
// hold), 54 program limit exceeded (54000 an index row over the B-tree maximum, 54001 nesting past
// the stack depth limit).
const UNSTORABLE_SQLSTATE = /^(?:22|54)[0-9A-Z]{3}$/;

/**
 * Whether storing these records failed for good: the same records would fail the same way on
 * every delivery (Postgres refused the values themselves, or they could not even be serialised:
 * a RangeError is a stack or string size limit). A delivery answered 503 for such a failure is
 * retried by Meta forever. Anything else (connection lost, pool exhausted, Postgres restarting,
 * serialization failures) may pass next time, and is worth the retry.
 */
export function unstorable(err: unknown): boolean {
  if (err instanceof RangeError) return true;
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" && UNSTORABLE_SQLSTATE.test(code);
}
