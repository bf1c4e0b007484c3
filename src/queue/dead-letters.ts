import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Database } from "../db/database.ts";
import { INBOUND_QUEUE, type InboundJob } from "./boss.ts";

// Dead letters are inbound events whose job failed past its retry limit. The failed job stays in
// pg-boss and holds back its own thread (key_strict_fifo), so replaying it in place keeps the
// thread's order, and discarding it lets the thread move on.

export interface DeadLetter {
  id: number;
  accountId: string;
  kind: string;
  threadKey: string;
  attempts: number;
  lastError: string | null;
  receivedAt: Date;
}

export async function listDeadLetters(db: Database, limit = 100): Promise<DeadLetter[]> {
  const { rows } = await db.query<{
    id: number;
    account_id: string;
    kind: string;
    thread_key: string;
    attempts: number;
    last_error: string | null;
    received_at: Date;
  }>(
    `SELECT id, account_id, kind, thread_key, attempts, last_error, received_at
     FROM inbound_events WHERE status = 'dead' ORDER BY id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    accountId: r.account_id,
    kind: r.kind,
    threadKey: r.thread_key,
    attempts: r.attempts,
    lastError: r.last_error,
    receivedAt: new Date(r.received_at),
  }));
}

async function deadRows(db: Database, ids: number[] | "all") {
  const { rows } = await db.query<{ id: number; job_id: string; account_id: string; thread_key: string }>(
    ids === "all"
      ? "SELECT id, job_id, account_id, thread_key FROM inbound_events WHERE status = 'dead' ORDER BY id"
      : "SELECT id, job_id, account_id, thread_key FROM inbound_events WHERE status = 'dead' AND id = ANY($1::bigint[]) ORDER BY id",
    ids === "all" ? [] : [ids],
  );
  return rows;
}

/** Puts dead events back in line; returns the ids replayed. */
export async function replayDeadLetters(
  db: Database,
  boss: PgBoss,
  ids: number[] | "all",
): Promise<number[]> {
  const replayed: number[] = [];
  for (const row of await deadRows(db, ids)) {
    const retried = (await boss.retry(INBOUND_QUEUE, row.job_id)) as { affected: number };
    let jobId = row.job_id;
    if (retried.affected === 0) {
      // pg-boss's retention already removed the failed job: queue the event afresh.
      jobId = uuidv7();
      await boss.insert(INBOUND_QUEUE, [
        {
          id: jobId,
          singletonKey: `${row.account_id}:${row.thread_key}`,
          data: { eventId: row.id } satisfies InboundJob,
        },
      ]);
    }
    await db.query("UPDATE inbound_events SET status = 'queued', job_id = $2 WHERE id = $1", [row.id, jobId]);
    replayed.push(row.id);
  }
  return replayed;
}

/** Gives up on dead events: their threads move on without them. Returns the ids discarded. */
export async function discardDeadLetters(
  db: Database,
  boss: PgBoss,
  ids: number[] | "all",
): Promise<number[]> {
  const discarded: number[] = [];
  for (const row of await deadRows(db, ids)) {
    await boss.deleteJob(INBOUND_QUEUE, row.job_id);
    await db.query("UPDATE inbound_events SET status = 'discarded' WHERE id = $1", [row.id]);
    discarded.push(row.id);
  }
  return discarded;
}
