import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Database, SqlClient } from "../db/database.ts";
import { bossDb, INBOUND_QUEUE, type InboundJob } from "./boss.ts";

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

/** The dead events asked for, oldest first (their ids only: each is read again under its lock). */
async function deadIds(db: Database, ids: number[] | "all"): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    ids === "all"
      ? "SELECT id FROM inbound_events WHERE status = 'dead' ORDER BY id"
      : "SELECT id FROM inbound_events WHERE status = 'dead' AND id = ANY($1::bigint[]) ORDER BY id",
    ids === "all" ? [] : [ids],
  );
  return rows.map((r) => Number(r.id));
}

/**
 * Runs `change` for each dead event in `ids`, in a transaction of its own that holds the event's
 * row: the event's new status and its job commit together. Apart, a replayed job could run and mark
 * its event processed before the replay marked it queued, and the replay's mark would then undo
 * the worker's (the event would show queued for good). An event no longer dead when its lock is
 * taken (replayed or discarded meanwhile by someone else) is skipped. Returns the ids changed.
 */
async function eachDead(
  db: Database,
  ids: number[] | "all",
  change: (
    tx: SqlClient,
    row: { id: number; jobId: string; accountId: string; threadKey: string },
  ) => Promise<void>,
): Promise<number[]> {
  const changed: number[] = [];
  for (const id of await deadIds(db, ids)) {
    const done = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ job_id: string; account_id: string; thread_key: string }>(
        "SELECT job_id, account_id, thread_key FROM inbound_events WHERE id = $1 AND status = 'dead' FOR UPDATE",
        [id],
      );
      const row = rows[0];
      if (!row) return false;
      await change(tx, { id, jobId: row.job_id, accountId: row.account_id, threadKey: row.thread_key });
      return true;
    });
    if (done) changed.push(id);
  }
  return changed;
}

/** Puts dead events back in line; returns the ids replayed. */
export function replayDeadLetters(db: Database, boss: PgBoss, ids: number[] | "all"): Promise<number[]> {
  return eachDead(db, ids, async (tx, row) => {
    const retried = (await boss.retry(INBOUND_QUEUE, row.jobId, { db: bossDb(tx) })) as { affected: number };
    let jobId = row.jobId;
    if (retried.affected === 0) {
      // pg-boss's retention already removed the failed job: queue the event afresh.
      jobId = uuidv7();
      await boss.insert(
        INBOUND_QUEUE,
        [
          {
            id: jobId,
            singletonKey: `${row.accountId}:${row.threadKey}`,
            data: { eventId: row.id } satisfies InboundJob,
          },
        ],
        { db: bossDb(tx) },
      );
    }
    await tx.query("UPDATE inbound_events SET status = 'queued', job_id = $2 WHERE id = $1", [row.id, jobId]);
  });
}

/** Gives up on dead events: their threads move on without them. Returns the ids discarded. */
export function discardDeadLetters(db: Database, boss: PgBoss, ids: number[] | "all"): Promise<number[]> {
  return eachDead(db, ids, async (tx, row) => {
    await boss.deleteJob(INBOUND_QUEUE, row.jobId, { db: bossDb(tx) });
    await tx.query("UPDATE inbound_events SET status = 'discarded' WHERE id = $1", [row.id]);
  });
}
