import { randomFillSync } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

// uuid's v7() asks the system for 16 fresh random bytes per id (crypto.getRandomValues), about 2 %
// of the web process's busy time under webhook load (bench/README.md, Ingest). The same ids from a
// pool of random bytes filled 256 ids at a time; the timestamp and the counter follow uuid's own
// monotonic rule (RFC 9562 method 1, as uuid's v7 without options): within a millisecond the
// counter goes up by one, seeded from the random bytes at each new millisecond.
const IDS_PER_FILL = 256;
const pool = Buffer.allocUnsafe(16 * IDS_PER_FILL);
let at = pool.length;
let msecs = Number.NEGATIVE_INFINITY;
let seq = 0;

/** A UUIDv7, greater than every one this process made before (pg-boss orders a thread's jobs
 * created in one statement by id). */
export function jobId(): string {
  if (at === pool.length) {
    randomFillSync(pool);
    at = 0;
  }
  const random = pool.subarray(at, at + 16);
  at += 16;
  const now = Date.now();
  if (now > msecs) {
    seq =
      (((random[6] as number) & 0x7f) << 24) |
      ((random[7] as number) << 16) |
      ((random[8] as number) << 8) |
      (random[9] as number);
    msecs = now;
  } else {
    seq = (seq + 1) | 0;
    // The counter ran over: the id moves to the next millisecond, as uuid's does.
    if (seq === 0) msecs++;
  }
  return uuidv7({ random, msecs, seq });
}
