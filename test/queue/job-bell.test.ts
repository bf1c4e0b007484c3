// The wake-ups of the job loops across processes (queue/job-bell.ts): each job queued wakes one
// process's loop, not every one; a busy holder passes its rings on; a holder that stops or vanishes
// is replaced at once or at the next claim. Two bells on one database stand for two processes, each
// with its own loop on the same queue (work-slots.ts), fetching on its own named statement so each
// loop's fetches are counted apart.
import type { PgBoss } from "pg-boss";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database, SqlClient } from "../../src/db/database.ts";
import { createLogger } from "../../src/log/logger.ts";
import { JobBell } from "../../src/queue/job-bell.ts";
import { type SlotJob, type Slots, stopWork, workSlots } from "../../src/queue/work-slots.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { useIdleService } from "../helpers/idle-service.ts";
import { waitFor } from "../helpers/service.ts";

needsDatabaseServer("two processes' listeners competing for a queue's advisory lock");

let db: Database;
let boss: PgBoss;
let queues = 0;
const bells: JobBell[] = [];
const log = createLogger("silent", { pretty: false });

const service = useIdleService();
beforeAll(() => {
  ({ db, boss } = service);
});

afterAll(async () => {
  await Promise.all(bells.map((b) => b.close()));
  await stopWork(boss);
});

type Data = { key: string; n: number };

async function queue(): Promise<string> {
  const name = `bell-test-${queues++}`;
  await boss.createQueue(name, { policy: "key_strict_fifo", notify: true, retryLimit: 3, retryDelay: 1 });
  return name;
}

const send = (name: string, key: string, n: number) =>
  boss.send(name, { key, n }, { singletonKey: key }) as Promise<string>;

async function listen(): Promise<JobBell> {
  const bell = await JobBell.listen(db, log);
  bells.push(bell);
  return bell;
}

/** A process's loop on `name`: its bell, the jobs it ran and the fetches it made. A poll far
 * longer than any test, so only rings, passes and completions make it fetch. */
async function worker(
  name: string,
  options: { concurrency?: number; wakeOne?: boolean; handle?: (job: SlotJob<Data>) => Promise<void> } = {},
): Promise<{ bell: JobBell; slots: Slots; ran: number[]; fetches: () => number }> {
  const bell = await listen();
  const ran: number[] = [];
  let fetches = 0;
  const counting: SqlClient = {
    query: db.query.bind(db),
    queryPrepared: (queryName, text, params) => {
      if (queryName.startsWith("tb_fetch_")) fetches++;
      return (db.queryPrepared as NonNullable<SqlClient["queryPrepared"]>)(queryName, text, params);
    },
  };
  const slots = await workSlots<Data>(
    boss,
    name,
    {
      concurrency: options.concurrency ?? 8,
      pollingIntervalSeconds: 60,
      bell,
      db: counting,
      wakeOne: options.wakeOne ?? true,
    },
    async (job) => {
      ran.push(job.data.n);
      await options.handle?.(job);
    },
  );
  return { bell, slots, ran, fetches: () => fetches };
}

type Process = Awaited<ReturnType<typeof worker>>;

/** `a` and `b` once both have claimed `name` and one of them holds it, the holder first. */
async function holderFirst(name: string, a: Process, b: Process): Promise<[Process, Process]> {
  const settled = () => {
    const [x, y] = [a.bell.holds(name), b.bell.holds(name)];
    return x !== undefined && y !== undefined && x !== y ? true : undefined;
  };
  await waitFor(async () => settled(), 5_000, "a holder");
  return a.bell.holds(name) ? [a, b] : [b, a];
}

it("wakes one process's loop for each job queued, not every listening one", async () => {
  const name = await queue();
  const a = await worker(name);
  const b = await worker(name);
  const [holder, standby] = await holderFirst(name, a, b);
  // Past each loop's first fetch.
  await new Promise((r) => setTimeout(r, 200));
  const before = { holder: holder.fetches(), standby: standby.fetches() };
  const jobs = 10;
  for (let n = 0; n < jobs; n++) {
    await send(name, `c${n}`, n);
    await new Promise((r) => setTimeout(r, 40));
  }
  await waitFor(async () => (holder.ran.length === jobs ? true : undefined), 10_000, "every job");
  // Every job woke the holder alone: the standby neither ran one nor looked for one.
  expect(standby.ran).toEqual([]);
  expect(standby.fetches() - before.standby).toBe(0);
  expect(holder.fetches() - before.holder).toBeGreaterThanOrEqual(jobs);
  await Promise.all([a.slots.stop(), b.slots.stop()]);
});

it("passes a ring on while the holder's slots are half taken or more", async () => {
  const name = await queue();
  const { promise: gate, resolve: open } = Promise.withResolvers<void>();
  const blocked = { handle: () => gate };
  const a = await worker(name, { concurrency: 2, ...blocked });
  const b = await worker(name, { concurrency: 2, ...blocked });
  const [holder, standby] = await holderFirst(name, a, b);
  // The holder learns at a claim that a standby listens (once a second; two, with room to spare).
  await new Promise((r) => setTimeout(r, 2_500));
  await send(name, "k1", 1);
  await waitFor(async () => (holder.ran.length === 1 ? true : undefined), 5_000, "the first job");
  // One of two slots taken: the next ring is passed on, and the standby takes its job at once,
  // though it polls once a minute and the holder could take it too.
  await send(name, "k2", 2);
  await waitFor(
    async () => (holder.ran.length + standby.ran.length === 2 ? true : undefined),
    5_000,
    "job 2",
  );
  await send(name, "k3", 3);
  await waitFor(
    async () => (holder.ran.length + standby.ran.length === 3 ? true : undefined),
    5_000,
    "the third job, by a standby woken by the pass",
  );
  expect(standby.ran.length).toBeGreaterThanOrEqual(1);
  open();
  await Promise.all([a.slots.stop(), b.slots.stop()]);
});

it("hands the wake-ups to a standby at once when the holder stops, and at its next claim when it vanishes", async () => {
  const name = await queue();
  const a = await worker(name);
  const b = await worker(name);
  const [first, second] = await holderFirst(name, a, b);

  // Stopped: its loop leaves (the last for the queue in that process), the standby is told and
  // claims at once; a job queued right after is its.
  await first.slots.stop();
  await waitFor(async () => (second.bell.holds(name) ? true : undefined), 900, "the handover");
  const sentAt = Date.now();
  await send(name, "after-stop", 1);
  await waitFor(async () => (second.ran.includes(1) ? true : undefined), 5_000, "the job after the stop");
  // Well under the loops' minute-long poll: a ring brought it.
  expect(Date.now() - sentAt).toBeLessThan(3_000);

  // Vanished: the holder's listener session is cut (a crash says nothing); the lock goes with the
  // session, and a standby claims it within a claim interval.
  const third = await worker(name);
  await waitFor(
    async () => (third.bell.holds(name) === false ? true : undefined),
    5_000,
    "a third standing by",
  );
  await second.slots.stop();
  // (Its loop stopped with a word; now the bell of the new holder is cut without one.)
  await waitFor(async () => (third.bell.holds(name) ? true : undefined), 900, "the third takes over");
  const fourth = await worker(name);
  await new Promise((r) => setTimeout(r, 300));
  await db.query(
    `SELECT pg_terminate_backend(pid) FROM pg_locks
      WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' AND objsubid = 2 AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  await waitFor(async () => (third.bell.holds(name) ? undefined : true), 2_000, "the cut noticed");
  // The fourth's next claim, or the third's own once it has reconnected: whichever comes first.
  await waitFor(
    async () => (third.bell.holds(name) || fourth.bell.holds(name) ? true : undefined),
    3_000,
    "a live process takes over",
  );
  const cutAt = Date.now();
  await send(name, "after-cut", 2);
  await waitFor(
    async () => (third.ran.includes(2) || fourth.ran.includes(2) ? true : undefined),
    5_000,
    "job 2",
  );
  expect(Date.now() - cutAt).toBeLessThan(3_000);
  await Promise.all([third.slots.stop(), fourth.slots.stop()]);
});

it("rings every process's loop for a queue that does not ask for one to be woken", async () => {
  const name = await queue();
  const a = await worker(name, { wakeOne: false });
  const b = await worker(name, { wakeOne: false });
  await new Promise((r) => setTimeout(r, 300));
  expect(a.bell.holds(name) && b.bell.holds(name)).toBe(true);
  const before = [a.fetches(), b.fetches()];
  for (let n = 0; n < 3; n++) {
    await send(name, `e${n}`, n);
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitFor(async () => (a.ran.length + b.ran.length === 3 ? true : undefined), 5_000, "every job");
  // Each heard every NOTIFY and looked: one took each job.
  expect(a.fetches() - (before[0] as number)).toBeGreaterThanOrEqual(3);
  expect(b.fetches() - (before[1] as number)).toBeGreaterThanOrEqual(3);
  await Promise.all([a.slots.stop(), b.slots.stop()]);
});
