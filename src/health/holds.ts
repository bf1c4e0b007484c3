import type { PgBoss } from "pg-boss";
import { type DestinationHeld, type DestinationUnusable, WHOLE_PLATFORM } from "../chat/health.ts";
import type { Database, SqlClient } from "../db/database.ts";
import { bossDb, INBOUND_QUEUE, type InboundJob } from "../queue/boss.ts";
import type { SlotJob } from "../queue/work-slots.ts";

// Held chat destinations (issue 19): a destination that answered something no retry can fix holds
// its mirror work instead of spending the jobs' retries toward the dead-letter queue. A held job is
// settled as a retry that does not count (its retry limit grows by the attempt it used) and waits
// until the next recheck; in the key_strict_fifo queue it keeps holding back its conversation, so
// nothing behind it overtakes it. A release wakes the jobs at once, each resuming its thread in order.

export interface Hold {
  platform: string;
  /** WHOLE_PLATFORM: every destination of the platform (a refused token, a missing scope). */
  channel: string;
  reason: string;
  fix: string;
  detail: string | null;
  heldAt: Date;
  /** The last recheck, and what it found. */
  checkedAt: Date | null;
  lastCheck: string | null;
}

/** `platform:channel`, the key an inbound event's `held_by` names. */
export const holdKey = (platform: string, channel: string) => `${platform}:${channel}`;

/** Records the hold `err` asks for; true when it is new (the caller logs it, once). */
export async function recordHold(db: SqlClient, err: DestinationUnusable): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO chat_destination_holds (platform, channel, reason, fix, detail) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (platform, channel) DO NOTHING RETURNING platform`,
    [err.platform, err.channel, err.reason, err.fix, err.message.slice(0, 500)],
  );
  return rows.length > 0;
}

export async function listHolds(db: SqlClient): Promise<Hold[]> {
  const { rows } = await db.query<{
    platform: string;
    channel: string;
    reason: string;
    fix: string;
    detail: string | null;
    held_at: Date;
    checked_at: Date | null;
    last_check: string | null;
  }>("SELECT * FROM chat_destination_holds ORDER BY platform, channel");
  return rows.map((r) => ({
    platform: r.platform,
    channel: r.channel,
    reason: r.reason,
    fix: r.fix,
    detail: r.detail,
    heldAt: new Date(r.held_at),
    checkedAt: r.checked_at ? new Date(r.checked_at) : null,
    lastCheck: r.last_check,
  }));
}

/** The hold that covers `channel` of `platform`, if any (the channel's own, or the platform's). */
export function holdCovering(holds: readonly Hold[], platform: string, channel: string): Hold | undefined {
  return holds.find(
    (h) => h.platform === platform && (h.channel === channel || h.channel === WHOLE_PLATFORM),
  );
}

/**
 * Settles an inbound job whose destination is held: a retry at `retryAt` that does not use up one of
 * its retries, with its event marked as waiting on the hold. The job stays in pg-boss's retry state,
 * so its conversation's later events keep waiting behind it.
 */
export async function deferHeldJob(
  db: Database,
  boss: PgBoss,
  job: SlotJob<InboundJob>,
  held: DestinationUnusable | DestinationHeld,
  retryAt: Date,
): Promise<void> {
  const attempt = { id: job.id, retryCount: job.retryCount };
  await db.transaction(async (tx) => {
    const on = { db: bossDb(tx) };
    await tx.query("UPDATE inbound_events SET held_by = $2, last_error = $3 WHERE id = $1", [
      job.data.eventId,
      holdKey(held.platform, held.channel),
      `held: ${held.reason}`,
    ]);
    await boss.fail(INBOUND_QUEUE, attempt, { held: held.reason }, on);
    // The attempt it just used is given back. On its last retry the job went to `failed`: retry()
    // brings it back (and grants one more), so a hold never dead-letters an event.
    const moved = await boss.update(INBOUND_QUEUE, undefined, {
      id: job.id,
      retryLimit: job.retryLimit + 1,
      startAfter: retryAt,
      ...on,
    });
    if (moved.updated === 0) {
      await boss.retry(INBOUND_QUEUE, job.id, on);
      await boss.update(INBOUND_QUEUE, undefined, { id: job.id, startAfter: retryAt, ...on });
    }
  });
}

/**
 * Lets a hold go: deletes it and wakes the jobs waiting on it (they would wake by themselves at
 * their next retry). False when another process released it first.
 */
export async function releaseHold(
  db: Database,
  boss: PgBoss | undefined,
  platform: string,
  channel: string,
): Promise<{ released: boolean; woken: number }> {
  const { rows } = await db.query(
    "DELETE FROM chat_destination_holds WHERE platform = $1 AND channel = $2 RETURNING platform",
    [platform, channel],
  );
  if (rows.length === 0) return { released: false, woken: 0 };
  const waiting = await db.query<{ id: number; job_id: string | null }>(
    "UPDATE inbound_events SET held_by = NULL WHERE held_by = $1 AND status = 'queued' RETURNING id, job_id",
    [holdKey(platform, channel)],
  );
  let woken = 0;
  if (boss)
    for (const row of waiting.rows) {
      if (!row.job_id) continue;
      const r = await boss.update(INBOUND_QUEUE, undefined, { id: row.job_id, startAfter: new Date() });
      woken += r.updated;
    }
  return { released: true, woken };
}

/** Records what a recheck found on a hold that stays. */
export async function noteRecheck(
  db: SqlClient,
  platform: string,
  channel: string,
  found: string,
): Promise<void> {
  await db.query(
    "UPDATE chat_destination_holds SET checked_at = now(), last_check = $3 WHERE platform = $1 AND channel = $2",
    [platform, channel, found.slice(0, 500)],
  );
}
