// The key_strict_fifo fetch with its heads found per candidate and its jobs taken by id
// (queue/strict-fifo-fetch.ts), held to pg-boss's own: the installed pg-boss's text is the one
// rewritten, both fetches take the same jobs, batch by batch, from two queues given the same jobs
// and the same outcomes, and the rewrite's reads stay bounded.
import type { PgBoss } from "pg-boss";
import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { strictFifoFetch } from "../../src/queue/strict-fifo-fetch.ts";
import { useIdleService } from "../helpers/idle-service.ts";
import { inRolledBackTransaction, rowsRead } from "../helpers/plan.ts";

let db: Database;
let boss: PgBoss;
let queues = 0;

const service = useIdleService();
beforeAll(() => {
  ({ db, boss } = service);
});

type Data = { label: string };

async function queue(): Promise<string> {
  const name = `fifo-fetch-${queues++}`;
  await boss.createQueue(name, { policy: "key_strict_fifo", retryLimit: 3, retryDelay: 0 });
  return name;
}

/** pg-boss's fetch text for `name`, as its fetch would send it. */
async function fetchText(name: string, batchSize: number): Promise<string> {
  let text = "";
  await boss.fetch(name, {
    batchSize,
    db: {
      executeSql: async (t: string) => {
        text = t;
        return { rows: [] };
      },
    },
  });
  return text;
}

/** A fetch through pg-boss, on our connection, with the text rewritten or not. */
function fetcher(rewrite: boolean) {
  return (name: string, batchSize: number) =>
    boss.fetch<Data>(name, {
      batchSize,
      includeMetadata: true,
      db: {
        executeSql: (text: string, values?: unknown[]) =>
          db.query(rewrite ? (strictFifoFetch(text) ?? "SELECT 'not rewritten'") : text, values),
      },
    });
}

describe("strictFifoFetch", () => {
  it("rewrites the installed pg-boss's key_strict_fifo fetch, and nothing else", async () => {
    const name = await queue();
    const text = await fetchText(name, 5);
    const rewritten = strictFifoFetch(text);
    expect(rewritten).toBeDefined();
    expect(rewritten).not.toMatch(/strict_fifo_heads/);
    expect(rewritten).toMatch(/WITH\s+next AS \(/);
    expect(rewritten).toMatch(/FOR UPDATE OF j SKIP LOCKED/);
    await boss.createQueue(`${name}-plain`);
    expect(strictFifoFetch(await fetchText(`${name}-plain`, 5))).toBeUndefined();
  });

  it("takes the jobs pg-boss's own fetch takes, batch by batch, through retries, deferrals and priorities", async () => {
    const [theirs, ours] = [await queue(), await queue()];
    // The same jobs, sent to each queue in the same order: five keys, some jobs urgent, one key's
    // first job deferred (its next one goes first, as pg-boss's heads have it).
    const plan: { key: string; label: string; priority?: number; startAfter?: number }[] = [];
    for (let n = 0; n < 4; n++)
      for (const key of ["a", "b", "c", "d", "e"])
        plan.push({
          key,
          label: `${key}${n}`,
          ...(key === "d" && n === 2 ? { priority: 5 } : {}),
          ...(key === "c" && n === 0 ? { startAfter: 3600 } : {}),
        });
    for (const name of [theirs, ours])
      for (const p of plan)
        await boss.send(
          name,
          { label: p.label },
          {
            singletonKey: p.key,
            ...(p.priority ? { priority: p.priority } : {}),
            ...(p.startAfter ? { startAfter: p.startAfter } : {}),
          },
        );
    // These fail once (a retry with no delay: its key waits for it).
    const failOnce = new Set(["a1", "b0", "e2"]);
    const run = async (name: string, fetch: ReturnType<typeof fetcher>) => {
      const failed = new Set<string>();
      const batches: string[][] = [];
      for (let round = 0; round < 60; round++) {
        const jobs = await fetch(name, 3);
        if (jobs.length === 0) break;
        batches.push(jobs.map((j) => j.data.label).sort());
        for (const job of jobs) {
          const attempt = { id: job.id, retryCount: job.retryCount };
          if (failOnce.has(job.data.label) && !failed.has(job.data.label)) {
            failed.add(job.data.label);
            await boss.fail(name, attempt, { message: "once" });
          } else await boss.complete(name, attempt);
        }
      }
      return batches;
    };
    const expected = await run(theirs, fetcher(false));
    const actual = await run(ours, fetcher(true));
    // Every job but the deferred one, some of them twice.
    expect(expected.flat()).toHaveLength(plan.length - 1 + failOnce.size);
    expect(actual).toEqual(expected);
  });

  it("never hands out two jobs of one key, however many fetch at once", async () => {
    const name = await queue();
    for (let n = 0; n < 30; n++)
      await boss.send(name, { label: `${n % 3}-${n}` }, { singletonKey: String(n % 3) });
    const fetch = fetcher(true);
    const taken = (await Promise.all(Array.from({ length: 6 }, () => fetch(name, 3)))).flat();
    const keys = taken.map((j) => j.data.label.split("-")[0]);
    expect(new Set(keys).size).toBe(keys.length);
    // The oldest job of each key.
    expect(taken.map((j) => j.data.label).sort()).toEqual(["0-0", "1-1", "2-2"]);
  });

  it("takes the jobs it found by id, not by reading the job table, whatever the statistics", async () => {
    const name = await queue();
    // A queue that has done some work, its statistics gathered when it had done less: completed
    // jobs stay in the table until their retention ends, and autovacuum analyzes a table rarely.
    const done = async (from: number, count: number) => {
      await boss.insert(
        name,
        Array.from({ length: count }, (_, k) => ({
          data: { label: "done" },
          singletonKey: `done-${from + k}`,
        })),
      );
      await db.query(
        `UPDATE pgboss.job SET state = 'completed', completed_on = now() WHERE name = $1 AND state = 'created'`,
        [name],
      );
    };
    await done(0, 300);
    await db.query("ANALYZE pgboss.job_common");
    await done(300, 1200);
    // A steady rate: a fetch with many slots free finds a job or two.
    await boss.send(name, { label: "a" }, { singletonKey: "a" });
    await boss.send(name, { label: "b" }, { singletonKey: "b" });
    const text = strictFifoFetch(await fetchText(name, 28)) as string;
    // Rolled back: the two jobs stay where they were.
    const plan = await inRolledBackTransaction(db, async (tx) => {
      const { rows } = await tx.query<{ "QUERY PLAN": unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`);
      return rows[0]?.["QUERY PLAN"];
    });
    // Two jobs taken: a few index entries and rows read, not the queue's 1,500 finished jobs (the
    // join pg-boss writes read them all here, by a sequential scan under a hash join).
    expect(JSON.stringify(plan)).toMatch(/"Actual Rows":\s*2\b/);
    expect(rowsRead(plan)).toBeLessThan(40);
  });
});
