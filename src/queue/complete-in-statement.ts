// pg-boss's fenced completion of one job (`boss.complete(queue, { id, retryCount })`) as a CTE of
// our own SQL, so a handler can complete its job in the same statement as its last write: one round
// trip and one commit instead of two, and the write and the completion commit together (bench/README.md,
// "Mirror capacity, third pass").
//
// Read against pg-boss 12.38 (plans.js completeJobs with fenced = true, includeQueued = false): it
// sets completed_on to pgboss.job_now(), state to 'completed' and output to the completion's data
// (null when none is given, as the job loop gives none), and matches the job by queue name and id
// only while it is active in the attempt fetched (`(id || ':' || retry_count) = ANY(...)`, the same
// test as `id = ... AND retry_count = ...`). A job meanwhile expired, failed, held or fetched again
// by another process matches nothing, as with pg-boss's own. Its `blocked` and
// `pending_dependencies` assignments are to themselves when includeQueued is off, so they are left
// out; it unblocks no dependents inline either (its Navigator does that out of band).
// test/queue/complete-in-statement.test.ts compares a job completed here with one completed by
// pg-boss, column by column, and checks the fence, so an upgrade that changes completion fails there.
// Through pgboss.job with the queue name a literal: Postgres prunes to the queue's partition at plan
// time, as pg-boss's statement on the partition itself.

/** The job to complete: as fetched (its id and the attempt, pg-boss's retryCount). */
export interface JobAttempt {
  queue: string;
  id: string;
  retryCount: number;
}

const QUEUE_NAME = /^[A-Za-z0-9_.\-/]+$/;

/**
 * A data-modifying CTE body (use as `completed AS (<this>)`) that completes the job whose id is
 * parameter `$idParam` (uuid) and fetched attempt `$retryParam` (int), returning its id and key when
 * it was completed. `queue` is inlined (a literal prunes the partitions); it must be a queue name.
 */
export function completeJobSql(queue: string, idParam: number, retryParam: number): string {
  if (!QUEUE_NAME.test(queue)) throw new Error(`not a queue name: ${queue}`);
  // The state compared as text: the same test, which no index can answer. As `state = 'active'` it
  // matched job_i14 (name, state, …) as well as the primary key (name, id), at the same estimated
  // cost, and the planner took job_i14 and read every active job of the queue to find this one: a
  // worker's 32 slots, more with more workers (test/queue/complete-in-statement.test.ts).
  return `UPDATE pgboss.job
       SET completed_on = pgboss.job_now(), state = 'completed', output = NULL
     WHERE name = '${queue}' AND id = $${idParam}::uuid AND state::text = 'active' AND retry_count = $${retryParam}::int
     RETURNING id, singleton_key`;
}

/** How many waiting jobs the successor test reads at most, less one (successorSql). */
export const SUCCESSOR_SCAN = 4;

/**
 * Whether a job of the same key as the one CTE `completed` (completeJobSql) completed may wait in
 * `queue` (in the statement's snapshot): the job its completion makes runnable in a key_strict_fifo
 * queue. The conditions are those of pg-boss's fetch heads on its job_i10 index, less the start
 * time (a job deferred to later still calls for a fetch).
 *
 * It reads the first SUCCESSOR_SCAN + 1 waiting jobs in the fetch's own order (job_i11: priority,
 * then age), of any key: whether one of them is of this key and, past that many, "yes" without
 * looking further. The answer only spares the job loop a fetch that would find nothing, and with
 * several jobs waiting a fetch is what a freed slot calls for.
 *
 * The bound is the point (bench/README.md, "Mirror capacity, seventh pass"). The exact question is
 * one look-up of the key in job_i10, but the planner need not take it: with statistics gathered
 * while few jobs waited (a quiet queue; autovacuum analyzes a large job table rarely), job_i11 costs
 * the same, and through it the test read every waiting job of the queue, each completion slower the
 * longer the backlog. Unordered, the bounded read became a bitmap scan of every waiting job once
 * the statistics knew of a backlog. In job_i11's order, both plans stop after five rows.
 */
export function successorSql(queue: string, completed = "completed"): string {
  if (!QUEUE_NAME.test(queue)) throw new Error(`not a queue name: ${queue}`);
  return `(SELECT count(*) > ${SUCCESSOR_SCAN}
            OR COALESCE(bool_or(w.singleton_key = (SELECT singleton_key FROM ${completed})), false)
       FROM (SELECT j.singleton_key FROM pgboss.job j
              WHERE j.name = '${queue}' AND j.state < 'active' AND NOT j.blocked AND j.policy = 'key_strict_fifo'
              ORDER BY j.priority DESC, j.created_on, j.start_after
              LIMIT ${SUCCESSOR_SCAN + 1}) w)`;
}
