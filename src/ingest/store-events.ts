import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Database } from "../db/database.ts";
import { pgJson } from "../db/pg-json.ts";
import type { InboundRecord } from "../instagram/events.ts";
import { bossDb, INBOUND_QUEUE, type InboundJob } from "../queue/boss.ts";
import type { TraceCarrier } from "../tracing/spans.ts";

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

// One statement for the whole batch: the rows travel as a single JSON parameter.
const INSERT_EVENTS = `
  INSERT INTO inbound_events (account_id, dedupe_key, kind, thread_key, event, raw, occurred_at, job_id)
  SELECT r.account_id, r.dedupe_key, r.kind, r.thread_key, r.event, r.raw, to_timestamp(r.occurred_at / 1000.0), r.job_id
  FROM jsonb_to_recordset($1::jsonb)
    AS r(account_id text, dedupe_key text, kind text, thread_key text, event jsonb, raw jsonb, occurred_at float8, job_id uuid, ord int)
  ORDER BY ord
  ON CONFLICT (account_id, dedupe_key) DO NOTHING
  RETURNING id, kind, account_id, dedupe_key, thread_key, job_id`;

interface InsertedRow {
  id: number;
  kind: string;
  account_id: string;
  dedupe_key: string;
  thread_key: string;
  job_id: string;
}

/**
 * Stores the events of one webhook delivery and enqueues one job per new event, in one transaction:
 * once this resolves the events survive any crash, and a redelivered event (same dedupe key) is
 * neither stored nor enqueued again.
 */
export async function storeInbound(
  db: Database,
  boss: PgBoss,
  records: readonly TracedRecord[],
): Promise<StoreResult> {
  if (records.length === 0) return { stored: [], duplicates: 0 };
  // Job ids are UUIDv7, increasing within this process: pg-boss breaks a tie between jobs of one key
  // created in the same transaction by id, so this keeps a batch's events of a thread in order.
  // Meta does not promise order inside a batch; the item timestamps are the best order there is.
  const ordered = [...records].sort((a, b) => a.event.occurredAt - b.event.occurredAt);
  const rows = ordered.map((r, ord) => ({
    ord,
    account_id: r.event.accountId,
    dedupe_key: r.dedupeKey,
    kind: r.event.type,
    thread_key: r.threadKey,
    event: r.event,
    raw: r.raw,
    occurred_at: r.event.occurredAt,
    job_id: uuidv7(),
  }));
  const traces = new Map(ordered.flatMap((r, ord) => (r.trace ? [[rows[ord]?.job_id, r.trace]] : [])));
  const inserted = await db.transaction(async (tx) => {
    const { rows: created } = await tx.query<InsertedRow>(INSERT_EVENTS, [pgJson(rows)]);
    if (created.length === 0) return created;
    created.sort((a, b) => a.id - b.id);
    await boss.insert(
      INBOUND_QUEUE,
      created.map((row) => ({
        id: row.job_id,
        singletonKey: `${row.account_id}:${row.thread_key}`,
        data: {
          eventId: row.id,
          ...(traces.has(row.job_id) ? { trace: traces.get(row.job_id) } : {}),
        } satisfies InboundJob,
      })),
      { db: bossDb(tx) },
    );
    return created;
  });
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
