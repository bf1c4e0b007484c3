// The job loop the inbound and outbound queues run on (queue/work-slots.ts), against a real pg-boss
// on the test database: each job settled on its own, per-key order kept, retries, the NOTIFY bell,
// the heartbeat, and the stop.
import type { PgBoss } from "pg-boss";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { createLogger } from "../../src/log/logger.ts";
import { completeJobSql, successorSql } from "../../src/queue/complete-in-statement.ts";
import { JobBell } from "../../src/queue/job-bell.ts";
import {
  COMPLETED_BY_HANDLER,
  COMPLETED_NO_SUCCESSOR,
  type SlotJob,
  stopWork,
  workSlots,
} from "../../src/queue/work-slots.ts";
import { type Commit, observedCommits } from "../helpers/commit-settings.ts";
import { useIdleService } from "../helpers/idle-service.ts";
import { waitFor } from "../helpers/service.ts";

let db: Database;
let boss: PgBoss;
let bell: JobBell;
let queues = 0;

const service = useIdleService();
beforeAll(async () => {
  // No workers of the service's own: each test runs a loop on a queue of its own.
  ({ db, boss } = service);
  bell = await JobBell.listen(db, createLogger("silent", { pretty: false }));
});

afterAll(async () => {
  await bell?.close();
  // Before the helper's own afterAll stops the service: after-hooks run last-registered first.
  await stopWork(boss);
});

/** A key_strict_fifo queue as the inbound and outbound ones are, with short retries. */
async function queue(options: { heartbeatSeconds?: number; expireInSeconds?: number } = {}): Promise<string> {
  const name = `slots-test-${queues++}`;
  await boss.createQueue(name, {
    policy: "key_strict_fifo",
    notify: true,
    retryLimit: 3,
    retryDelay: 1,
    ...options,
  });
  return name;
}

const send = (name: string, key: string, n: number) =>
  boss.send(name, { key, n }, { singletonKey: key }) as Promise<string>;

async function state(id: string): Promise<{ state: string; retry_count: number }> {
  const { rows } = await db.query<{ state: string; retry_count: number }>(
    "SELECT state, retry_count FROM pgboss.job WHERE id = $1",
    [id],
  );
  return rows[0] as { state: string; retry_count: number };
}

type Data = { key: string; n: number };

it("settles each job as it finishes: one that waits holds back only its own key", async () => {
  const name = await queue();
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const done: string[] = [];
  const slots = await workSlots<Data>(
    boss,
    name,
    { concurrency: 4, pollingIntervalSeconds: 0.2, bell },
    async (job) => {
      if (job.data.key === "slow" && job.data.n === 1) await gate;
      done.push(`${job.data.key}${job.data.n}`);
    },
  );
  const slow1 = await send(name, "slow", 1);
  await send(name, "slow", 2);
  for (let n = 1; n <= 3; n++) await send(name, "a", n);
  for (let n = 1; n <= 3; n++) await send(name, "b", n);

  await waitFor(async () => (done.length === 6 ? true : undefined), 10_000, "the other keys' jobs");
  expect(done.filter((d) => d.startsWith("a"))).toEqual(["a1", "a2", "a3"]);
  expect(done.filter((d) => d.startsWith("b"))).toEqual(["b1", "b2", "b3"]);
  // The slow key's first job is still held, and its second waits behind it.
  expect(done.some((d) => d.startsWith("slow"))).toBe(false);
  expect((await state(slow1)).state).toBe("active");

  release();
  await waitFor(async () => (done.length === 8 ? true : undefined), 10_000, "the slow key's jobs");
  expect(done.slice(6)).toEqual(["slow1", "slow2"]);
  expect((await state(slow1)).state).toBe("completed");
  await slots.stop();
});

it("fails a job that throws, which pg-boss retries as the next attempt, in its key's order", async () => {
  const name = await queue();
  const seen: string[] = [];
  const slots = await workSlots<Data>(
    boss,
    name,
    { concurrency: 2, pollingIntervalSeconds: 0.2, bell },
    async (job) => {
      seen.push(`${job.data.n}@${job.retryCount}`);
      if (job.data.n === 1 && job.retryCount === 0) throw new Error("first try fails");
    },
  );
  const first = await send(name, "k", 1);
  const second = await send(name, "k", 2);
  await waitFor(async () => ((await state(second)).state === "completed" ? true : undefined), 15_000, "both");
  // The second job waited for the first one's retry (retryDelay 1 s).
  expect(seen).toEqual(["1@0", "1@1", "2@0"]);
  expect(await state(first)).toEqual({ state: "completed", retry_count: 1 });
  await slots.stop();
});

it("leaves a job its handler completed in its own statement to it, and runs the key's next one", async () => {
  const name = await queue();
  const ran: number[] = [];
  let completes = 0;
  const complete = boss.complete.bind(boss);
  boss.complete = ((...args: Parameters<PgBoss["complete"]>) => {
    if (args[0] === name) completes++;
    return complete(...args);
  }) as PgBoss["complete"];
  try {
    const slots = await workSlots<Data>(
      boss,
      name,
      { concurrency: 2, pollingIntervalSeconds: 0.2, bell },
      async (job) => {
        ran.push(job.data.n);
        if (job.data.n === 2) return undefined;
        // As the inbound handler does with its processed mark (mirror/pipeline.ts).
        await db.query(`WITH completed AS (${completeJobSql(name, 1, 2)}) SELECT count(*) FROM completed`, [
          job.id,
          job.retryCount,
        ]);
        return COMPLETED_BY_HANDLER;
      },
    );
    const first = await send(name, "k", 1);
    const second = await send(name, "k", 2);
    const third = await send(name, "k", 3);
    await waitFor(async () => ((await state(third)).state === "completed" ? true : undefined), 10_000, "all");
    expect(ran).toEqual([1, 2, 3]);
    expect((await state(first)).state).toBe("completed");
    expect((await state(second)).state).toBe("completed");
    // pg-boss's complete() only for the job whose handler left it to the loop.
    expect(completes).toBe(1);
    await slots.stop();
  } finally {
    boss.complete = complete;
  }
});

/** A handler as the inbound one: completes its job in a statement of its own and says whether a
 * job of its key waits (queue/complete-in-statement.ts). */
async function completeItself(name: string, job: SlotJob<Data>) {
  const { rows } = await db.query<{ successor: boolean }>(
    `WITH completed AS (${completeJobSql(name, 1, 2)}) SELECT ${successorSql(name)} AS successor`,
    [job.id, job.retryCount],
  );
  return rows[0]?.successor ? COMPLETED_BY_HANDLER : COMPLETED_NO_SUCCESSOR;
}

it("does not fetch after a completion that makes nothing runnable, and still runs every job", async () => {
  const name = await queue();
  let fetches = 0;
  const fetch = boss.fetch.bind(boss);
  boss.fetch = ((...args: Parameters<PgBoss["fetch"]>) => {
    if (args[0] === name) fetches++;
    return fetch(...args);
  }) as PgBoss["fetch"];
  try {
    const handled: string[] = [];
    let gate: Promise<void> | undefined;
    // A poll far longer than the test: only the bell and the completions make it fetch.
    const slots = await workSlots<Data>(
      boss,
      name,
      { concurrency: 2, pollingIntervalSeconds: 60, bell },
      async (job) => {
        if (gate) await gate;
        handled.push(`${job.data.key}${job.data.n}`);
        return completeItself(name, job);
      },
    );
    await new Promise((r) => setTimeout(r, 200));
    // Jobs of keys of their own, one at a time: the NOTIFY's fetch each, none after the completions.
    const before = fetches;
    for (let n = 1; n <= 6; n++) {
      await send(name, `solo${n}`, 1);
      await waitFor(async () => (handled.length === n ? true : undefined), 5_000, `job ${n}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(fetches - before).toBeLessThanOrEqual(7);
    // A key's next job, queued before its first completes: fetched after that completion.
    let open: () => void = () => {};
    gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    await send(name, "k", 1);
    await new Promise((r) => setTimeout(r, 300));
    await send(name, "k", 2);
    // More jobs than slots, while both are taken: each completion fetches what is owed.
    for (let n = 1; n <= 4; n++) await send(name, `busy${n}`, 1);
    await new Promise((r) => setTimeout(r, 300));
    gate = undefined;
    open();
    await waitFor(
      async () => (handled.length === 12 ? true : undefined),
      5_000,
      "every job, without the poll",
    );
    expect(handled.filter((h) => h.startsWith("k"))).toEqual(["k1", "k2"]);
    await slots.stop();
  } finally {
    boss.fetch = fetch;
  }
});

it("is woken by the bell when a job is queued, and fetches no more than the jobs call for", async () => {
  const name = await queue();
  let fetches = 0;
  // Counts the fetches (this file's loops are the only fetchers), each still the real boss's.
  const fetch = boss.fetch.bind(boss);
  boss.fetch = ((...args: Parameters<PgBoss["fetch"]>) => {
    fetches++;
    return fetch(...args);
  }) as PgBoss["fetch"];
  const handled: number[] = [];
  // A poll far longer than the test: only the bell and the completions make it fetch.
  const slots = await workSlots<Data>(
    boss,
    name,
    { concurrency: 8, pollingIntervalSeconds: 60, bell },
    async (job: SlotJob<Data>) => {
      handled.push(job.data.n);
    },
  );
  await new Promise((r) => setTimeout(r, 200));
  const before = fetches;
  const jobs = 20;
  for (let n = 0; n < jobs; n++) {
    await send(name, `c${n}`, n);
    await new Promise((r) => setTimeout(r, 30));
  }
  await waitFor(async () => (handled.length === jobs ? true : undefined), 10_000, "every job");
  // Each job: the fetch its NOTIFY caused and the one after its completion (which a key's next job
  // would need). One worker per slot fetched up to 8 times per job here.
  await slots.stop();
  delete (boss as { fetch?: unknown }).fetch;
  expect(fetches - before).toBeLessThanOrEqual(2 * jobs + 2);
});

it("with a fetch gap, fetches at once when idle and at most once a gap while jobs are in hand", async () => {
  const name = await queue();
  const fetchedAt: number[] = [];
  const batches: number[] = [];
  const fetch = boss.fetch.bind(boss);
  boss.fetch = (async (...args: Parameters<PgBoss["fetch"]>) => {
    if (args[0] !== name) return fetch(...args);
    fetchedAt.push(performance.now());
    const jobs = await fetch(...args);
    batches.push(jobs.length);
    return jobs;
  }) as PgBoss["fetch"];
  const GAP = 2_000;
  try {
    const started = new Map<string, number>();
    const { promise: gate, resolve: open } = Promise.withResolvers<void>();
    const slots = await workSlots<Data>(
      boss,
      name,
      { concurrency: 8, pollingIntervalSeconds: 60, bell, fetchGapMs: GAP },
      async (job) => {
        started.set(job.data.key, performance.now());
        if (job.data.key === "first") await gate;
      },
    );
    // Idle: the bell's fetch goes at once, though the loop's first fetch was moments ago (once that
    // one has answered: a job committed before it read would be its, with no fetch for the bell).
    await waitFor(async () => (batches.length > 0 ? true : undefined), 5_000, "the loop's first fetch");
    const sentAt = performance.now();
    await send(name, "first", 1);
    await waitFor(async () => (started.has("first") ? true : undefined), 5_000, "the first job");
    expect((started.get("first") as number) - sentAt).toBeLessThan(GAP * 0.75);
    expect((fetchedAt.at(-1) as number) - (fetchedAt.at(-2) as number)).toBeLessThan(GAP);
    // While it runs, five jobs queued 20 ms apart (five rings) come in one fetch a gap after the last.
    const before = fetchedAt.length;
    for (let n = 1; n <= 5; n++) {
      await send(name, `busy${n}`, n);
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(async () => (started.size === 6 ? true : undefined), 3 * GAP, "the five jobs");
    const during = fetchedAt.slice(before - 1);
    for (let i = 1; i < during.length; i++)
      expect((during[i] as number) - (during[i - 1] as number)).toBeGreaterThanOrEqual(GAP - 1);
    expect(batches[before]).toBe(5);
    open();
    // A stop does not wait out a gap.
    const stopAt = performance.now();
    await slots.stop();
    expect(performance.now() - stopAt).toBeLessThan(GAP);
  } finally {
    boss.fetch = fetch;
  }
});

it("with an unflushed fetch, takes the same jobs in a commit that does not wait for the flush", async () => {
  const fetches = async (unflushedFetch: boolean) => {
    const name = await queue();
    const commits: Commit[] = [];
    const ran: Data[] = [];
    for (const n of [1, 2, 3]) await send(name, n === 3 ? "b" : "a", n);
    const slots = await workSlots<Data>(
      boss,
      name,
      { concurrency: 4, pollingIntervalSeconds: 0.1, db: observedCommits(db, commits), unflushedFetch },
      async (job) => {
        ran.push(job.data);
      },
    );
    await waitFor(async () => (ran.length === 3 ? true : undefined), 10_000, "three jobs");
    await slots.stop();
    // Its key's order kept, and each job whole.
    expect(ran.filter((d) => d.key === "a").map((d) => d.n)).toEqual([1, 2]);
    expect([...ran].sort((x, y) => x.n - y.n)).toEqual([
      { key: "a", n: 1 },
      { key: "a", n: 2 },
      { key: "b", n: 3 },
    ]);
    return commits.filter((c) => c.statement.startsWith("tb_fetch_")).map((c) => c.synchronousCommit);
  };
  const unflushed = await fetches(true);
  // A fetch that takes a job commits without the flush; one that takes none has nothing to commit.
  expect(unflushed).toContain("off");
  expect(await fetches(false)).not.toContain("off");
});

it("keeps a long job's claim alive with its heartbeat", { timeout: 30_000 }, async () => {
  const name = await queue({ heartbeatSeconds: 10 });
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const slots = await workSlots<Data>(
    boss,
    name,
    { concurrency: 1, pollingIntervalSeconds: 0.2, bell },
    () => gate,
  );
  const id = await send(name, "k", 1);
  await waitFor(async () => ((await state(id)).state === "active" ? true : undefined), 5_000, "the claim");
  const heartbeat = async () =>
    (
      await db.query<{ at: Date }>("SELECT heartbeat_on AS at FROM pgboss.job WHERE id = $1", [id])
    ).rows[0]?.at?.getTime() ?? 0;
  const first = await heartbeat();
  // Refreshed at half the heartbeat (5 s).
  await waitFor(
    async () => ((await heartbeat()) > first ? true : undefined),
    12_000,
    "a refreshed heartbeat",
  );
  release();
  await waitFor(
    async () => ((await state(id)).state === "completed" ? true : undefined),
    5_000,
    "completion",
  );
  expect((await state(id)).retry_count).toBe(0);
  await slots.stop();
});

it("on stop waits for the jobs in hand, then fails those still running so they are retried", async () => {
  const name = await queue();
  let releaseQuick: () => void = () => {};
  const quick = new Promise<void>((resolve) => {
    releaseQuick = resolve;
  });
  const slots = await workSlots<Data>(
    boss,
    name,
    { concurrency: 2, pollingIntervalSeconds: 0.2, bell },
    (job) => (job.data.key === "quick" ? quick : new Promise<void>(() => {})),
  );
  const q = await send(name, "quick", 1);
  const stuck = await send(name, "stuck", 1);
  await waitFor(
    async () =>
      (await state(q)).state === "active" && (await state(stuck)).state === "active" ? true : undefined,
    5_000,
    "both claimed",
  );
  const stopping = slots.stop(1_000);
  setTimeout(releaseQuick, 200);
  await stopping;
  expect((await state(q)).state).toBe("completed");
  // Failed at the end of the grace: back in retry, not lost and not left active until its expiry.
  expect((await state(stuck)).state).toBe("retry");
  // Nothing is fetched after the stop.
  await send(name, "late", 1);
  await new Promise((r) => setTimeout(r, 500));
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND singleton_key = 'late' AND state = 'created'",
    [name],
  );
  expect(rows[0]?.n).toBe(1);
});

it("fails a job whose handler outruns its expiry, and keeps its slot until the handler returns", async () => {
  const name = await queue({ expireInSeconds: 1 });
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const started: string[] = [];
  const slots = await workSlots<Data>(
    boss,
    name,
    { concurrency: 1, pollingIntervalSeconds: 0.2, bell },
    async (job) => {
      started.push(`${job.data.key}@${job.retryCount}`);
      if (job.retryCount === 0 && job.data.key === "long") await gate;
    },
  );
  const long = await send(name, "long", 1);
  await send(name, "other", 1);
  await waitFor(async () => ((await state(long)).state === "retry" ? true : undefined), 5_000, "the expiry");
  // The one slot is still the overrunning handler's.
  await new Promise((r) => setTimeout(r, 300));
  expect(started).toEqual(["long@0"]);
  release();
  await waitFor(async () => (started.length === 3 ? true : undefined), 10_000, "the rest");
  expect(started.sort()).toEqual(["long@0", "long@1", "other@0"]);
  await slots.stop();
});
