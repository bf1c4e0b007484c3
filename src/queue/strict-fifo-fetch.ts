// pg-boss's fetch for a key_strict_fifo queue, with the same answer found at a cost that does not
// grow with the backlog.
//
// pg-boss (12.38, plans.js fetchNextJob) first finds the head of every key that has a job waiting,
// in a CTE (`strict_fifo_heads`: DISTINCT ON the key over its job_i10 index), then takes the first
// `limit` of those heads by priority and age that no job of their key blocks. The CTE reads every
// waiting job of the queue on every fetch: behind 1,500 waiting events a fetch took 3 ms, the
// costliest statement of a drain, and the slower each fetch the more waits, so a worker that fell
// behind fell further (bench/README.md, "Mirror capacity, sixth pass"; pg-boss measured 47 ms at
// 200,000 waiting jobs). The same set is the waiting jobs that are their key's head: the first of
// the key's entries in job_i10, one probe per candidate. Candidates are read in the order taken
// (job_i11: priority DESC, created_on), and the read stops at `limit`, so a fetch reads the jobs
// ahead of the ones it takes, not all of them.
//
// The update that takes the jobs found joins them (`FROM next … j.id = next.id`), and for the few
// rows `next` yields at a steady rate the planner hashed them and read the whole job table to find
// them: in a small table whose statistics were gathered when it was smaller (completed jobs stay
// until their retention ends), a sequential scan looked cheaper than one probe per job. In a
// capacity run at 250 events/s (each fetch taking one or two jobs) the fetch was the costliest
// statement, 0.8 ms a call for 1,861 rows read (bench/README.md, "Mirror capacity, eighth pass").
// The ids go to the update as an array instead, one input computed once, which it reads by primary
// key whatever the statistics: the form pg-boss's own fetch takes with group concurrency, for the
// same reason.
//
// The rewrite is of pg-boss's own text, so everything else about its fetch stays its own (the
// blockers, SKIP LOCKED, the columns returned, its handling of the rows). A text that is not the
// expected one (another pg-boss) is sent unchanged: slower, never different.
// test/queue/strict-fifo-fetch.test.ts checks that the installed pg-boss's text is rewritten and
// that both fetches take the same jobs in the same order, through retries, deferrals and
// priorities.

/** pg-boss's heads CTE, its parts apart by any white space; captures the table, the queue's name
 * and the schema. */
const HEADS_CTE = new RegExp(
  [
    String.raw`strict_fifo_heads AS MATERIALIZED \(`,
    String.raw`SELECT DISTINCT ON \(h\.singleton_key\) h\.id`,
    String.raw`FROM (\S+) h`,
    String.raw`WHERE h\.name = '([^']+)'`,
    String.raw`AND h\.state < 'active'`,
    String.raw`AND NOT h\.blocked`,
    String.raw`AND h\.policy = 'key_strict_fifo'`,
    String.raw`AND h\.start_after <= (\S+)\.job_now\(\)`,
    String.raw`ORDER BY h\.singleton_key, h\.state DESC, h\.created_on, h\.id`,
    String.raw`\),\s*`,
  ].join(String.raw`\s*`),
);
const HEADS_TEST = "j.id IN (SELECT id FROM strict_fifo_heads)";
/** The update's join with the jobs taken; captures the queue's name. */
const UPDATE_JOIN = /FROM next\s+WHERE name = '([^']+)' AND j\.id = next\.id\b/;

/**
 * pg-boss's fetch `text` with its heads found per candidate and the jobs taken by id (above), or
 * undefined when `text` is not a key_strict_fifo fetch of the shape this was written against.
 */
export function strictFifoFetch(text: string): string | undefined {
  const cte = HEADS_CTE.exec(text);
  const join = UPDATE_JOIN.exec(text);
  if (!cte || !join || text.split(HEADS_TEST).length !== 2) return undefined;
  const [whole, table, name, schema] = cte as unknown as [string, string, string, string];
  if (join[1] !== name) return undefined;
  // The candidate is the first waiting job of its key in the heads' order: the same DISTINCT ON,
  // for its key alone, read in job_i10's own order (name, singleton_key, state DESC, created_on,
  // id; start_after in the index), so it stops at the key's first job. In COALESCE, which changes
  // nothing (the candidate is among the rows read, so there is always a head), for the planner:
  // it takes `id = (subquery)` to pass one row in the whole queue, and so would read every
  // candidate, test each and sort the few it expects, which is pg-boss's cost again. An expression
  // it cannot see into it counts as passing half, and it reads candidates in order until `limit`.
  const isHead = `COALESCE(j.id = (
            SELECT h.id FROM ${table} h
            WHERE h.name = '${name}'
              AND h.singleton_key = j.singleton_key
              AND h.state < 'active'
              AND NOT h.blocked
              AND h.policy = 'key_strict_fifo'
              AND h.start_after <= ${schema}.job_now()
            ORDER BY h.state DESC, h.created_on, h.id
            LIMIT 1
          ), false)`;
  return text
    .replace(whole, "")
    .replace(HEADS_TEST, isHead)
    .replace(join[0], `WHERE name = '${join[1]}' AND j.id = ANY (ARRAY(SELECT id FROM next))`);
}
