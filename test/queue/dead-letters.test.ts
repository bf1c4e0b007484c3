// A replayed or discarded dead letter: its event's status and its job change in one commit, so a
// worker never takes the job back up while its event still reads dead (the replay's own mark
// written after the worker's would otherwise undo it: the event stuck at `queued`, processed).
import pg from "pg";
import type { PgBoss } from "pg-boss";
import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { INBOUND_QUEUE } from "../../src/queue/boss.ts";
import { discardDeadLetters, replayDeadLetters } from "../../src/queue/dead-letters.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { useIdleService } from "../helpers/idle-service.ts";
import { waitFor } from "../helpers/service.ts";

let db: Database;
let boss: PgBoss;
const service = useIdleService();
beforeAll(() => {
  ({ db, boss } = service);
});

/** A dead event: its job fetched and failed past its limit, the event marked dead. */
async function deadEvent(key: string): Promise<{ id: number; jobId: string }> {
  const [jobId] = (await boss.insert(
    INBOUND_QUEUE,
    [{ data: { eventId: 0 }, singletonKey: key, retryLimit: 0 }],
    {
      returnId: true,
    },
  )) as string[];
  const fetched = await boss.fetch(INBOUND_QUEUE, { batchSize: 10 });
  if (!fetched.some((j) => j.id === jobId)) throw new Error(`job ${jobId} was not fetched`);
  await boss.fail(INBOUND_QUEUE, jobId as string, { reason: "test" });
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO inbound_events (account_id, dedupe_key, kind, thread_key, event, raw, occurred_at, job_id, status)
     VALUES ('17841400000000001', $1, 'dm', $2, '{}', '{}', now(), $3, 'dead') RETURNING id`,
    [`dead:${key}`, key, jobId],
  );
  return { id: Number(rows[0]?.id), jobId: jobId as string };
}

const jobState = async (id: string) =>
  (await db.query<{ state: string }>("SELECT state FROM pgboss.job WHERE id = $1", [id])).rows[0]?.state;
const eventStatus = async (id: number) =>
  (await db.query<{ status: string }>("SELECT status FROM inbound_events WHERE id = $1", [id])).rows[0]
    ?.status;

describe.each([
  ["replay", replayDeadLetters, "retry", "queued"],
  ["discard", discardDeadLetters, undefined, "discarded"],
] as const)("%s of a dead letter", (_, act, jobAfter, statusAfter) => {
  it("changes its job only together with its event's status", async (ctx) => {
    if (!needsDatabaseServer("holds the event's row from a second connection", ctx)) return;
    const { id, jobId } = await deadEvent(`dm:${_}`);
    // Another session holds the event's row (as a worker's attempt would), so the action waits on it.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query("SELECT 1 FROM inbound_events WHERE id = $1 FOR UPDATE", [id]);
      const acting = act(db, boss, [id]);
      await waitFor(async () => {
        const { rows } = await other.query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        return rows.length ? true : undefined;
      });
      // Waiting for the row, the action has changed nothing yet: the job is not runnable.
      expect(await jobState(jobId)).toBe("failed");
      await other.query("COMMIT");
      expect(await acting).toEqual([id]);
    } finally {
      await other.end();
    }
    expect(await jobState(jobId)).toBe(jobAfter);
    expect(await eventStatus(id)).toBe(statusAfter);
    // Done once: the event is no longer dead.
    expect(await act(db, boss, [id])).toEqual([]);
  });
});
