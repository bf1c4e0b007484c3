// Mirror capacity (issue 23): the highest steady webhook rate that `threadbridge worker` processes
// mirror into the fake Slack with a webhook → post p99 under the bound, across many accounts,
// channels and conversations (so Slack's per-channel pacing is not what limits it). One
// `threadbridge web` takes the webhooks; 1, 2 and 4 worker processes take turns at the queue. A
// stepped search: the rate doubles while a step passes, then two bisections between the last pass
// and the first failure. `node bench/mirror-capacity.ts` runs it alone; `npm run bench` includes it.
import type { ChildProcess } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { openDatabase } from "../src/db/database.ts";
import { addAccount } from "../src/instagram/accounts.ts";
import { TokenCipher } from "../src/instagram/token-cipher.ts";
import { instagramResponder, startGraphServer } from "../test/fakes/graph-server.ts";
import { startSlackServer } from "../test/fakes/slack-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { INSERT_CLIENTS, singleRowInserts } from "./baselines.ts";
import { GOAL_OF_INSERTS, goalBudget, goalBudgetLine } from "./goal-budget.ts";
import { cpuSeconds, cpuSpent, freshStores, postgresCpu, roleArgs, startProcess } from "./processes.ts";
import { scaled } from "./quick.ts";
import { p50p99 } from "./stats.ts";
import { type WebhookSender, webhookSender } from "./webhook-sender.ts";

const SECRET = "bench-app-secret-0123456789";
const KEY = Buffer.alloc(32, 9).toString("base64");
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/12";
/** The end-to-end bound a rate must keep at p99. */
export const P99_BOUND_MS = 100;
const ACCOUNTS = 20;
const CONVERSATIONS = 500;
const STEP_SECONDS = Number(process.env.BENCH_CAPACITY_STEP_SECONDS ?? scaled(4, 2));
/** After a step's last webhook, how long its posts may take to arrive before the step fails. */
const DRAIN_MS = 5_000;
const START_RATE = 10;
const MAX_RATE = 3200;
const DRAIN_EVENTS = Number(process.env.BENCH_CAPACITY_DRAIN ?? scaled(1500, 400));

export interface StepResult {
  rate: number;
  achieved: number;
  p50: number;
  p99: number;
  mirrored: number;
  sent: number;
  refused: number;
  pass: boolean;
  /** CPU time per event mirrored from the step's first webhook until its last post (and the
   * backlog it left, when it fell behind), as `CapacityResult.cpuMsPerEvent`: what a steady rate
   * costs, beside what a drain costs. */
  cpuMsPerEvent: CpuPerEvent;
}

/** CPU time per event (ms): the worker processes together, the web process, the Postgres backends
 * serving the run's database (both roles' and the driver's), and this process (the sender and the
 * fakes, which share the machine's cores with what is measured). */
export interface CpuPerEvent {
  workers: number;
  web: number;
  postgres: number;
  driver: number;
}

export interface CapacityResult {
  workers: number;
  /** The highest rate that passed (events/s), 0 when none did. */
  capacity: number;
  steps: StepResult[];
  /** Events mirrored per second while a backlog of `DRAIN_EVENTS` webhooks was worked off, latency
   * aside: what the workers can do at all, the figure a loaded machine still compares. */
  drainRate: number;
  /** CPU time per event during the drain (ms). */
  cpuMsPerEvent: CpuPerEvent;
}

/** This process's CPU milliseconds (user and system) since `since`. */
const driverCpu = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

const account = (a: number) => `178414000000${String(200 + a).padStart(5, "0")}`;
const channel = (a: number) => `C0CAP${a}`;

function dm(a: number, customer: string, mid: string, text: string): string {
  const now = Date.now();
  const id = account(a);
  return JSON.stringify({
    object: "instagram",
    entry: [
      {
        id,
        time: now,
        messaging: [{ sender: { id: customer }, recipient: { id }, timestamp: now, message: { mid, text } }],
      },
    ],
  });
}

/** Runs the search for each worker count in `workerCounts`, each on a fresh database. */
export async function mirrorCapacityBench(
  workerCounts: readonly number[] = [1, 2, 4],
): Promise<CapacityResult[]> {
  const results: CapacityResult[] = [];
  for (const workers of workerCounts) results.push(await searchCapacity(workers));
  return results;
}

async function searchCapacity(workers: number): Promise<CapacityResult> {
  const slack = await startSlackServer();
  const graph = await startGraphServer(instagramResponder());
  const tdb = await createTestDatabase();
  const env = {
    DATABASE_URL: tdb.url,
    REDIS_URL,
    TOKEN_ENCRYPTION_KEY: KEY,
    IG_APP_SECRET: SECRET,
    IG_GRAPH_URL: graph.url,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: "bench-slack-signing-secret",
    SLACK_API_URL: slack.apiUrl,
    // Each channel's own pacing far above what the run sends to one channel.
    SLACK_POSTS_PER_SECOND: "10000",
    LOG_LEVEL: "info",
    NODE_ENV: "production",
    PORT: "0",
    METRICS_PORT: "0",
  };
  const children: ChildProcess[] = [];
  const workerChildren: ChildProcess[] = [];
  const db = await openDatabase({ kind: "postgres", url: tdb.url, poolSize: 2 });
  let capacity = 0;
  let sender: WebhookSender | undefined;
  try {
    await freshStores(REDIS_URL, env);
    const cipher = TokenCipher.fromConfig(KEY);
    for (let a = 0; a < ACCOUNTS; a++)
      await addAccount(db, cipher, {
        igUserId: account(a),
        username: `bench_cap_${a}`,
        token: "IGAA-bench",
        chat: { platform: "slack", channel: channel(a) },
      });
    // BENCH_WEB_NODE_OPTIONS: flags for the web process's node only (--cpu-prof, as the workers').
    const webFlags = process.env.BENCH_WEB_NODE_OPTIONS?.split(" ").filter(Boolean) ?? [];
    const web = await startProcess([...webFlags, ...roleArgs("web")], env);
    children.push(web.child);
    for (let w = 0; w < workers; w++) {
      // BENCH_WORKER_NODE_OPTIONS: flags for the workers' node only (--cpu-prof, --import a probe).
      const flags = process.env.BENCH_WORKER_NODE_OPTIONS?.split(" ").filter(Boolean) ?? [];
      const worker = await startProcess([...flags, ...roleArgs("worker")], env);
      children.push(worker.child);
      workerChildren.push(worker.child);
    }
    // More connections than are ever in flight (the drain's 20 senders, the opening's 50), so no
    // webhook waits for a socket in the driver.
    const webhooks = webhookSender(`http://127.0.0.1:${web.port}/webhooks/instagram`, SECRET, 64);
    sender = webhooks;

    let seq = 0;
    let refused = 0;
    const sentAt = new Map<number, number>();
    const latencies = new Map<number, number>();
    let cursor = 0;
    const collect = () => {
      for (; cursor < slack.calls.length; cursor++) {
        const call = slack.calls[cursor];
        if (call?.method !== "chat.postMessage") continue;
        const m = /cap-(\d+)$/.exec(String(call.args.text ?? ""));
        if (!m) continue;
        const i = Number(m[1]);
        const at = sentAt.get(i);
        if (at !== undefined && !latencies.has(i)) latencies.set(i, call.at - at);
      }
      // The fake keeps every call and reply; the driver forgets what it matched so its own heap
      // and event loop stay flat over the run (bench/soak.ts found them growing into the latency).
      slack.calls.splice(0, cursor);
      cursor = 0;
      for (let a = 0; a < ACCOUNTS; a++) slack.forgetReplies(channel(a), Date.now() - 2_000);
    };
    const send = async (i: number, conversation: number) => {
      const a = conversation % ACCOUNTS;
      const body = dm(a, `8${String(conversation).padStart(15, "0")}`, `mid.cap.${i}`, `cap-${i}`);
      sentAt.set(i, Date.now());
      const status = await webhooks.send(body);
      if (status !== 200) {
        refused++;
        sentAt.delete(i);
      }
    };
    const waitMirrored = async (ids: number[], ms: number): Promise<boolean> => {
      const until = Date.now() + ms;
      for (;;) {
        collect();
        if (ids.every((i) => latencies.has(i))) return true;
        if (Date.now() > until) return false;
        await sleep(50);
      }
    };

    // Every conversation gets its thread first (a root post and a profile lookup each): the
    // search measures a running bridge's messages, not thread creation.
    const opening: number[] = [];
    for (let c = 0; c < CONVERSATIONS; c += 50) {
      const batch = Array.from({ length: Math.min(50, CONVERSATIONS - c) }, (_, k) => c + k);
      await Promise.all(
        batch.map((conversation) => {
          const i = seq++;
          opening.push(i);
          return send(i, conversation);
        }),
      );
    }
    if (!(await waitMirrored(opening, 120_000)))
      throw new Error("mirror capacity: the conversations' first messages were not mirrored in 120 s");

    const workerCpu = () => workerChildren.reduce((sum, c) => sum + cpuSeconds(c.pid as number), 0);
    const database = new URL(tdb.url).pathname.slice(1);
    /** Starts counting the processes' CPU; the function it returns divides what was spent since by
     * `events` (by one when none was stored, as in a step whose every webhook was refused, so the
     * figure stays a number). */
    const cpuMeter = () => {
      const before = {
        workers: workerCpu(),
        web: cpuSeconds(web.child.pid as number),
        postgres: postgresCpu(database),
        driver: process.cpuUsage(),
      };
      return (stored: number): CpuPerEvent => {
        const events = Math.max(stored, 1);
        return {
          workers: (1000 * (workerCpu() - before.workers)) / events,
          web: (1000 * (cpuSeconds(web.child.pid as number) - before.web)) / events,
          postgres: (1000 * cpuSpent(before.postgres, postgresCpu(database))) / events,
          driver: driverCpu(before.driver) / events,
        };
      };
    };
    const perEvent = (cpu: CpuPerEvent) =>
      `workers ${cpu.workers.toFixed(2)} ms, web ${cpu.web.toFixed(2)} ms, Postgres ${cpu.postgres.toFixed(2)} ms, this driver and its fakes ${cpu.driver.toFixed(2)} ms`;

    const step = async (rate: number): Promise<StepResult> => {
      refused = 0;
      const spent = cpuMeter();
      const n = Math.max(1, Math.round(rate * STEP_SECONDS));
      const ids: number[] = [];
      const inflight: Promise<void>[] = [];
      // The driver's own event-loop stalls: the fake Slack stamps a post when this loop reads it,
      // so a stall here is counted as the service's latency.
      const loopDelay = monitorEventLoopDelay({ resolution: 5 });
      loopDelay.enable();
      const t0 = performance.now();
      for (let k = 0; k < n; k++) {
        const due = t0 + (k * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        const i = seq++;
        ids.push(i);
        // Conversations in turn: each sees rate / CONVERSATIONS messages a second.
        inflight.push(send(i, i % CONVERSATIONS));
      }
      await Promise.all(inflight);
      const achieved = n / ((performance.now() - t0) / 1000);
      const stepRefused = refused;
      const stored = ids.filter((i) => sentAt.has(i));
      const complete = (await waitMirrored(stored, DRAIN_MS)) && stepRefused === 0;
      loopDelay.disable();
      const driverStallMs = loopDelay.max / 1e6;
      const got = ids.flatMap((i) => {
        const l = latencies.get(i);
        return l === undefined ? [] : [l];
      });
      const { p50, p99 } = p50p99(got);
      if (process.env.BENCH_CAPACITY_TRACE) await traceStages(db, ids, sentAt, latencies);
      for (const i of ids) {
        sentAt.delete(i);
        latencies.delete(i);
      }
      // A step that fell behind leaves a backlog: let it drain before the next one starts.
      if (!complete) await waitQueueEmpty(db, 60_000);
      const cpu = spent(stored.length);
      const pass = complete && p99 < P99_BOUND_MS && achieved >= rate * 0.95;
      const result = {
        rate,
        achieved,
        p50,
        p99,
        mirrored: got.length,
        sent: n,
        refused: stepRefused,
        pass,
        cpuMsPerEvent: cpu,
      };
      process.stderr.write(
        `mirror capacity, ${workers} worker(s): ${rate}/s → ${achieved.toFixed(0)}/s sent, p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, ${got.length}/${n} mirrored, ${stepRefused} refused, driver stalled ${driverStallMs.toFixed(0)} ms at most: ${pass ? "pass" : "fail"}; CPU per event: ${perEvent(cpu)}\n`,
      );
      return result;
    };

    // A short step first: the processes' code warms up (JIT) and the pools open.
    await step(START_RATE);
    // Then the tables' statistics, as autovacuum has them on any database that has taken traffic
    // for a minute. A fresh database has those of empty tables until its first analyze, and on them
    // Postgres reads a whole queue to find one job (bench/README.md, "Mirror capacity, sixth pass").
    // BENCH_CAPACITY_ANALYZE=0: without it, the first minute of a fresh install.
    if (process.env.BENCH_CAPACITY_ANALYZE !== "0") await db.query("ANALYZE");
    const steps: StepResult[] = [];
    // BENCH_CAPACITY_RATES=30,60: those steps only, no search (profiling at a known load).
    const fixed = process.env.BENCH_CAPACITY_RATES?.split(",").filter(Boolean).map(Number);
    // A probe given with BENCH_WORKER_NODE_OPTIONS (bench/query-count.ts) takes SIGUSR2 as "mark
    // here": around the fixed steps, and around the drain.
    const mark = () => {
      if (process.env.BENCH_SIGNAL_WORKERS) for (const c of workerChildren) c.kill("SIGUSR2");
    };
    if (fixed) {
      mark();
      for (const rate of fixed) steps.push(await step(rate));
      mark();
    } else {
      let good = 0;
      let bad = 0;
      for (let rate = START_RATE; rate <= MAX_RATE; rate *= 2) {
        const r = await step(rate);
        steps.push(r);
        if (!r.pass) {
          bad = rate;
          break;
        }
        good = rate;
      }
      // Bisect only above a passing rate: below the first step it is noise on a loaded machine.
      for (let k = 0; k < 2 && good > 0 && bad - good > 10; k++) {
        const rate = Math.round((good + bad) / 2);
        const r = await step(rate);
        steps.push(r);
        if (r.pass) good = rate;
        else bad = rate;
      }
      capacity = good;
    }

    // Drain: a backlog sent as fast as the web process takes it, 20 at a time, round the
    // conversations; the rate is mirrored events over the time from the first webhook to the last post.
    const backlog: number[] = [];
    mark();
    const spent = cpuMeter();
    const drainStart = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < DRAIN_EVENTS) {
          next++;
          const i = seq++;
          backlog.push(i);
          await send(i, i % CONVERSATIONS);
        }
      }),
    );
    const stored = backlog.filter((i) => sentAt.has(i));
    if (!(await waitMirrored(stored, 300_000)))
      throw new Error("mirror capacity: the drain backlog was not mirrored in 300 s");
    mark();
    const cpu = spent(stored.length);
    const lastPost = Math.max(...stored.map((i) => (sentAt.get(i) as number) + (latencies.get(i) as number)));
    const drainRate = stored.length / ((lastPost - drainStart) / 1000);
    process.stderr.write(
      `mirror capacity, ${workers} worker(s): backlog of ${stored.length} drained at ${drainRate.toFixed(0)}/s; CPU per event: ${perEvent(cpu)}\n`,
    );
    return { workers, capacity, steps, drainRate, cpuMsPerEvent: cpu };
  } finally {
    sender?.close();
    for (const c of children) c.kill("SIGTERM");
    await sleep(1000);
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await db.close();
    await graph.close();
    await slack.close();
    await tdb.drop().catch(() => {});
  }
}

/** BENCH_CAPACITY_TRACE=1: where a step's slowest events spent their time, from the stamps the
 * event row and its job carry (received, job started, job completed) beside the driver's send and
 * the fake Slack's arrival. All on one machine's clock, so the stages add up to the latency. */
async function traceStages(
  db: Awaited<ReturnType<typeof openDatabase>>,
  ids: number[],
  sentAt: Map<number, number>,
  latencies: Map<number, number>,
): Promise<void> {
  const { rows } = await db.query<{ text: string; received: number; started: number; completed: number }>(
    `SELECT e.event::text AS text,
            extract(epoch FROM e.received_at) * 1000 AS received,
            extract(epoch FROM j.started_on) * 1000 AS started,
            extract(epoch FROM j.completed_on) * 1000 AS completed
       FROM inbound_events e JOIN pgboss.job j ON j.id = e.job_id
      WHERE e.received_at > now() - interval '60 seconds'`,
  );
  const byId = new Map(rows.map((r) => [Number(/cap-(\d+)"/.exec(r.text ?? "")?.[1]), r]));
  const t0 = Math.min(...ids.map((i) => sentAt.get(i) ?? Infinity));
  const slow = ids
    .filter((i) => (latencies.get(i) ?? 0) > 50)
    .sort((a, b) => (latencies.get(b) ?? 0) - (latencies.get(a) ?? 0))
    .slice(0, 12);
  for (const i of slow) {
    const r = byId.get(i);
    const sent = sentAt.get(i) as number;
    const posted = sent + (latencies.get(i) as number);
    if (!r) continue;
    process.stderr.write(
      `  slow #${i} at +${(sent - t0).toFixed(0)} ms (${new Date(sent).toISOString().slice(11, 23)}): total ${(posted - sent).toFixed(0)} = ingest ${(r.received - sent).toFixed(0)} + queue ${(r.started - r.received).toFixed(0)} + to post ${(posted - r.started).toFixed(0)} (completed +${(r.completed - posted).toFixed(0)})\n`,
    );
  }
}

async function waitQueueEmpty(db: Awaited<ReturnType<typeof openDatabase>>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'inbound' AND state IN ('created', 'retry', 'active')",
    );
    if ((rows[0]?.n ?? 0) === 0 || Date.now() > until) return;
    await sleep(200);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const counts = (process.env.BENCH_CAPACITY_WORKERS ?? "1,2,4").split(",").map(Number);
  // Run alone, the baseline `npm run bench` reads capacity against is measured here too: single-row
  // inserts from 4 clients, just before the search, on a database of their own.
  const scratch = await createTestDatabase();
  const inserts = await singleRowInserts(scratch.url, INSERT_CLIENTS).finally(() =>
    scratch.drop().catch(() => {}),
  );
  process.stdout.write(
    `single-row inserts (${INSERT_CLIENTS} clients): ${inserts.toFixed(0)}/s; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}\n`,
  );
  for (const r of await mirrorCapacityBench(counts)) {
    process.stdout.write(
      `${r.workers} worker(s): ${r.capacity} events/s (${(r.capacity / inserts).toFixed(3)} of the inserts), drain ${r.drainRate.toFixed(0)}/s, worker CPU ${r.cpuMsPerEvent.workers.toFixed(2)} ms/event, Postgres ${r.cpuMsPerEvent.postgres.toFixed(2)} ms/event (${r.steps.map((s) => `${s.rate}:${s.pass ? "ok" : "x"}:p99=${s.p99.toFixed(0)}`).join(" ")})\n`,
    );
    if (r.workers === 1)
      process.stdout.write(
        `${goalBudgetLine(goalBudget(inserts * GOAL_OF_INSERTS, cpus().length, r.cpuMsPerEvent))}\n`,
      );
  }
  process.stdout.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}\n`,
  );
}
