import { setTimeout as sleep } from "node:timers/promises";
import type { Database } from "../../src/db/database.ts";

/** How long no message may be sent, while some wait, before the wait fails. */
const STALL_MS = 10_000;

/**
 * Waits until no message waits to be sent. The fuzzing hands agents' messages over faster than a
 * thread sends them (in order; about 25 a second here), and the chat fake keeps delivering them for
 * a while after the fuzzing test has returned, so with `npm run fuzz`'s thousands of cases a reply
 * written after them waits half a minute behind them. What must not happen is a queue that stops:
 * the wait fails only when messages wait and none was sent (or failed for good) for STALL_MS, never
 * for being long.
 */
export async function sendsDrain(db: Database): Promise<void> {
  let settled = -1;
  let movedAt = Date.now();
  for (;;) {
    const { rows } = await db.query<{ waiting: number; settled: number }>(
      `SELECT count(*) FILTER (WHERE delivery_state = 'pending')::int AS waiting,
              count(*) FILTER (WHERE delivery_state IN ('sent', 'failed'))::int AS settled
         FROM messages`,
    );
    const now = rows[0] ?? { waiting: 0, settled: 0 };
    if (now.waiting === 0) return;
    if (now.settled > settled) {
      settled = now.settled;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > STALL_MS)
      throw new Error(`${now.waiting} messages wait to be sent, and none was sent in ${STALL_MS / 1000} s`);
    await sleep(200);
  }
}
