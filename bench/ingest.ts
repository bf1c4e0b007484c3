// Ingest (issue 23): `threadbridge web` beside a bare express handler, both driven by autocannon
// from this process with signed single-event webhooks, each stored with its job before the 200.
// Part of `npm run bench`; alone: `node bench/ingest.ts` (a fresh database, the table printed).
// The web process is started as the Procfile starts it (its node flags included: roleArgs).
// BENCH_WEB_ROOT=/path/to/checkout runs that checkout's `threadbridge web` under the same driver
// (before/after pairs against a base worktree); BENCH_WEB_NODE_OPTIONS="--cpu-prof" profiles it.
// BENCH_INGEST_AB=/path/to/base runs that checkout's web process and this one's side by side, each
// on its own database, and loads them in turn (with the bare handler) in short rounds, so that a
// change of the machine's load falls on both: the CPU time per webhook of each, per round.
// BENCH_INGEST_STEADY=60,250,1000,2000 measures what a webhook costs at each steady rate instead
// (steadyCost): the mirror's capacity is decided at a few hundred a second, not at full load.
import { type ChildProcess, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import pg from "pg";
import { sign } from "../src/instagram/signature.ts";
import { createTestDatabase, type TestDatabase } from "../test/helpers/postgres.ts";
import { type BenchRow, benchTable } from "./bench-row.ts";
import { at, type FixedRateRequest, type FixedRateResult, fixedRate } from "./fixed-rate.ts";
import {
  cpuSeconds,
  cpuSpent,
  postgresCpu,
  ROOT,
  roleArgs,
  rssMiB,
  startProcess,
  threadCpuSeconds,
  watchPeakRss,
} from "./processes.ts";
import { scaled } from "./quick.ts";

export const SECRET = "bench-app-secret-0123456789";
const ACCOUNT = "17841400000000001";
export const SECONDS = Number(process.env.BENCH_SECONDS ?? scaled(10, 3));
// Time a freshly started process gets to finish its start-up work before its idle RSS is read.
export const SETTLE_MS = scaled(10_000, 3_000);
/** The fixed rate the acknowledgement latency is measured at (issue 23: p99 < 20 ms at 1,000/s). */
export const PACED_RATE = 1000;

/** A signed single-event DM webhook with a fresh mid, so every one is a new row. */
function webhookBody(): FixedRateRequest {
  const now = Date.now();
  const customer = `7${String(Math.floor(Math.random() * 5000)).padStart(15, "0")}`;
  const body = JSON.stringify({
    object: "instagram",
    entry: [
      {
        id: ACCOUNT,
        time: now,
        messaging: [
          {
            sender: { id: customer },
            recipient: { id: ACCOUNT },
            timestamp: now,
            message: { mid: `mid.bench.${randomUUID()}`, text: "Hi, is this still available?" },
          },
        ],
      },
    ],
  });
  return {
    body,
    headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, SECRET) },
  };
}

/** The same webhooks for autocannon, made as each request is sent. */
function webhookRequest(): autocannon.Request {
  return {
    method: "POST",
    path: "/webhooks/instagram",
    setupRequest: (req) => ({ ...req, ...webhookBody() }),
  };
}

/** The acknowledgement latency at PACED_RATE, spread evenly (bench/fixed-rate.ts says why not
 * autocannon's paced mode); throws on any answer but 2xx, like `load`. */
async function paced(port: number, seconds = SECONDS): Promise<FixedRateResult> {
  const r = await fixedRate({
    port,
    path: "/webhooks/instagram",
    rate: PACED_RATE,
    seconds,
    make: webhookBody,
  });
  if (r.non2xx + r.errors > 0)
    throw new Error(
      `port ${port}: ${r.non2xx} non-2xx, ${r.errors} errors (${JSON.stringify(r.errorCodes)}) at ${PACED_RATE}/s`,
    );
  return r;
}

async function load(
  port: number,
  options: { connections: number; seconds?: number },
): Promise<autocannon.Result> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: options.connections,
    duration: options.seconds ?? SECONDS,
    requests: [webhookRequest()],
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0)
    throw new Error(
      `port ${port}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  return result;
}

export interface IngestResult {
  rows: BenchRow[];
  /** requests/s at 50 connections, the service's and the bare handler's. */
  rps: { web: number; bare: number };
  /** CPU time per request at 50 connections (ms): the processes', and Postgres's for the web's. */
  cpuMs: { web: number; bare: number; postgres: number };
  /** RSS of the web process (MiB): idle after SETTLE_MS, and the peak at 50 connections. */
  rss: { idle: number; load: number };
  /** Rows in Postgres after the run: every webhook answered 200 was stored with its job, in
   * `commits` transactions. */
  stored: { events: number; jobs: number; commits: number };
}

/**
 * Starts `threadbridge web` (NODE_ENV=production, LOG_LEVEL=info) on a migrated database and the bare
 * handler, lets them settle, reads the web process's idle RSS, then calls `whileIdle` (the full
 * bench reads the other idle figures there), warms both up and measures. Both are stopped after.
 */
export async function ingestBench(
  dbUrl: string,
  options: { whileIdle?: () => Promise<void>; webRoot?: string; webNodeOptions?: string } = {},
): Promise<IngestResult> {
  const service = await startProcess(
    roleArgs("web", options.webRoot ?? ROOT),
    {
      ...serviceEnv(dbUrl),
      ...(options.webNodeOptions ? { NODE_OPTIONS: options.webNodeOptions } : {}),
    },
    { cwd: options.webRoot ?? ROOT },
  );
  const bare = await startProcess(["bench/bare-server.ts"], { PORT: "0" });
  const webPid = service.child.pid as number;
  const barePid = bare.child.pid as number;
  try {
    await sleep(SETTLE_MS);
    const webIdle = rssMiB(webPid);
    await options.whileIdle?.();

    // Warm both up (JIT, connection pools), then measure.
    for (const port of [service.port, bare.port])
      await autocannon({
        url: `http://127.0.0.1:${port}`,
        connections: 10,
        amount: 2000,
        requests: [webhookRequest()],
      });

    const webWatch = watchPeakRss([webPid]);
    const database = new URL(dbUrl).pathname.slice(1);
    const webCpu0 = cpuSeconds(webPid);
    const pgCpu0 = postgresCpu(database);
    const full = await load(service.port, { connections: 50 });
    const webCpuMs = (1000 * (cpuSeconds(webPid) - webCpu0)) / full.requests.total;
    const pgCpuMs = (1000 * cpuSpent(pgCpu0, postgresCpu(database))) / full.requests.total;
    const [webLoad] = webWatch.stop();
    const bareCpu0 = cpuSeconds(barePid);
    const fullBare = await load(bare.port, { connections: 50 });
    const bareCpuMs = (1000 * (cpuSeconds(barePid) - bareCpu0)) / fullBare.requests.total;
    const fixed = await paced(service.port);
    const fixedBare = await paced(bare.port);

    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    // Rows written by one transaction share its xmin: events per transaction is how far group
    // commit spread a commit's cost.
    const { rows: counts } = await client.query<{ events: number; jobs: number; commits: number }>(
      `SELECT (SELECT count(*)::int FROM inbound_events) AS events,
              (SELECT count(DISTINCT xmin::text)::int FROM inbound_events) AS commits,
              (SELECT count(*)::int FROM pgboss.job WHERE name = 'inbound') AS jobs`,
    );
    await client.end();

    const rps = (r: autocannon.Result) => r.requests.average;
    return {
      rows: [
        {
          scenario: "ingest: signed 1-event webhooks, 50 connections (req/s)",
          target: "≥ 0.25 of the bare handler",
          threadbridge: rps(full).toFixed(0),
          baseline: rps(fullBare).toFixed(0),
          ratio: (rps(full) / rps(fullBare)).toFixed(2),
        },
        {
          scenario:
            "CPU time per webhook of the serving process at 50 connections (ms; a loaded machine changes it less than req/s)",
          target: "—",
          threadbridge: webCpuMs.toFixed(3),
          baseline: bareCpuMs.toFixed(3),
          ratio: (webCpuMs / bareCpuMs).toFixed(1),
        },
        {
          scenario:
            "Postgres CPU time per webhook at 50 connections (ms; the web process's connections, beside the serving process's)",
          target: "—",
          threadbridge: pgCpuMs.toFixed(3),
          baseline: webCpuMs.toFixed(3),
          ratio: (pgCpuMs / webCpuMs).toFixed(1),
        },
        {
          scenario: `ack latency p50 at ${PACED_RATE} webhooks/s, spread evenly (ms, from each request's due time)`,
          target: "—",
          threadbridge: at(fixed.fromDue, 50).toFixed(1),
          baseline: at(fixedBare.fromDue, 50).toFixed(1),
          ratio: (at(fixed.fromDue, 50) / Math.max(at(fixedBare.fromDue, 50), 0.1)).toFixed(1),
        },
        {
          scenario: `ack latency p99 at ${PACED_RATE} webhooks/s, spread evenly (ms, from each request's due time)`,
          target: "< 20",
          threadbridge: at(fixed.fromDue, 99).toFixed(1),
          baseline: at(fixedBare.fromDue, 99).toFixed(1),
          ratio: (at(fixed.fromDue, 99) / Math.max(at(fixedBare.fromDue, 99), 0.1)).toFixed(1),
        },
        {
          scenario: `the same p99 from the moment each request was sent (ms; the generator's own lateness p99 ${fixed.lateP99.toFixed(1)} / ${fixedBare.lateP99.toFixed(1)} ms)`,
          target: "—",
          threadbridge: at(fixed.fromSend, 99).toFixed(1),
          baseline: at(fixedBare.fromSend, 99).toFixed(1),
          ratio: (at(fixed.fromSend, 99) / Math.max(at(fixedBare.fromSend, 99), 0.1)).toFixed(1),
        },
        {
          scenario: `achieved rate in the ${PACED_RATE} webhooks/s run (answers/s)`,
          target: String(PACED_RATE),
          threadbridge: fixed.achieved.toFixed(0),
          baseline: fixedBare.achieved.toFixed(0),
          ratio: "",
        },
      ],
      rps: { web: rps(full), bare: rps(fullBare) },
      cpuMs: { web: webCpuMs, bare: bareCpuMs, postgres: pgCpuMs },
      rss: { idle: webIdle, load: webLoad ?? 0 },
      stored: {
        events: counts[0]?.events ?? 0,
        jobs: counts[0]?.jobs ?? 0,
        commits: counts[0]?.commits ?? 0,
      },
    };
  } finally {
    service.child.kill("SIGTERM");
    bare.child.kill("SIGTERM");
  }
}

/** The environment the bench's service processes run with. */
export function serviceEnv(dbUrl: string) {
  return {
    DATABASE_URL: dbUrl,
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64"),
    IG_APP_SECRET: SECRET,
    LOG_LEVEL: "info",
    PORT: "0",
    NODE_ENV: "production",
  };
}

/** Migrates a database with a checkout's own CLI, as a deployment's release phase does. */
export function migrate(dbUrl: string, root = ROOT): void {
  execFileSync(process.execPath, ["src/cli.ts", "migrate"], {
    cwd: root,
    env: { ...process.env, ...serviceEnv(dbUrl) },
    stdio: "ignore",
  });
}

/** bench/ingest-probe.ts, for BENCH_PROBE=1: stages of each delivery's time in the web process. */
const PROBE = new URL("./ingest-probe.ts", import.meta.url).pathname;

/** The probe's last line in `file` (it appends one on each SIGUSR2), once it has been written. */
async function probeLine(pid: number, file: string): Promise<string> {
  const before = existsSync(file) ? readFileSync(file, "utf8").length : 0;
  process.kill(pid, "SIGUSR2");
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const text = existsSync(file) ? readFileSync(file, "utf8") : "";
    if (text.length > before) return text.slice(before).trim();
  }
  return "(no probe line)";
}

/**
 * Samples what the backends of `database` are doing every `everyMs` until stopped (pg_stat_activity,
 * from a connection of its own): each active backend's wait event ("CPU" when it waits for none),
 * counted per sample. Their shares say where a statement's wall time goes: on a core, on the WAL
 * flush (IO:WALSync), or queued on a lock (Lock:object is the lock every NOTIFY's commit takes).
 */
function sampleWaits(url: string, database: string, everyMs = 10): { stop(): Promise<Map<string, number>> } {
  const counts = new Map<string, number>();
  const client = new pg.Client({ connectionString: url });
  let running = true;
  const done = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ wait: string }>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait FROM pg_stat_activity
         WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()`,
        [database],
      );
      for (const r of rows) counts.set(r.wait, (counts.get(r.wait) ?? 0) + 1);
      await sleep(everyMs);
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await done;
      return counts;
    },
  };
}

/** "CPU 40 %, IO:WALSync 30 %, …" from sampleWaits' counts. */
function waitShares(counts: Map<string, number>): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return [...counts]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 5)
    .map(([k, n]) => `${k} ${((100 * n) / total).toFixed(0)} %`)
    .join(", ");
}

/**
 * Before/after on a loaded machine: `base`'s web process and this checkout's, each on a database of
 * its own, and the bare handler, in short rounds, `rounds` times; a change of the machine's load
 * between rounds falls on all three alike. Each round first measures the acknowledgement latency
 * of each at PACED_RATE webhooks/s spread evenly (`fixedRate`), then (unless `full` is false)
 * loads each at 50 connections for `seconds`: each process's CPU time per request, Postgres's for
 * the web processes, and requests/s against the bare handler's. The order of the three turns each
 * round, so no side always follows the same one. With `probe`, both web processes run
 * bench/ingest-probe.ts and each latency run's stages are printed beside its figures; with
 * `waits`, what their Postgres backends waited on during it (sampleWaits).
 */
export async function ingestAB(
  base: string,
  rounds: number,
  seconds: number,
  options: { full?: boolean; probe?: boolean; waits?: boolean } = {},
): Promise<string[]> {
  const dbs = [await createTestDatabase(), await createTestDatabase()];
  const [baseDb, ourDb] = dbs as [TestDatabase, TestDatabase];
  const started: ChildProcess[] = [];
  const probeDir = options.probe ? mkdtempSync(`${tmpdir()}/ingest-probe-`) : undefined;
  const probeEnv = (side: string): Record<string, string> =>
    probeDir ? { NODE_OPTIONS: `--import ${PROBE}`, INGEST_PROBE_OUT: `${probeDir}/${side}.jsonl` } : {};
  try {
    migrate(baseDb.url, base);
    migrate(ourDb.url);
    const databases: Record<string, string> = {
      base: new URL(baseDb.url).pathname.slice(1),
      this: new URL(ourDb.url).pathname.slice(1),
    };
    const sides = [
      {
        name: "base",
        ...(await startProcess(
          roleArgs("web", base),
          { ...serviceEnv(baseDb.url), ...probeEnv("base") },
          { cwd: base },
        )),
      },
      {
        name: "this",
        ...(await startProcess(roleArgs("web"), { ...serviceEnv(ourDb.url), ...probeEnv("this") })),
      },
      { name: "bare", ...(await startProcess(["bench/bare-server.ts"], { PORT: "0" })) },
    ];
    started.push(...sides.map((x) => x.child));
    await sleep(3000);
    for (const x of sides)
      await autocannon({
        url: `http://127.0.0.1:${x.port}`,
        connections: 10,
        amount: 2000,
        requests: [webhookRequest()],
      });
    const lines: string[] = [];
    const say = (line: string) => {
      lines.push(line);
      process.stdout.write(`${line}\n`);
    };
    const ms = (v: number) => v.toFixed(1);
    for (let round = 1; round <= rounds; round++) {
      const order = sides.map((_, k) => sides[(round + k) % sides.length] as (typeof sides)[number]);
      const latency: Record<string, FixedRateResult> = {};
      for (const x of order) {
        const pid = x.child.pid as number;
        if (probeDir && x.name !== "bare") await probeLine(pid, `${probeDir}/${x.name}.jsonl`);
        const database = databases[x.name];
        const waits = options.waits && database ? sampleWaits(baseDb.url, database) : undefined;
        latency[x.name] = await paced(x.port, seconds);
        if (waits)
          say(`  waits ${x.name} (active backends, share of samples): ${waitShares(await waits.stop())}`);
        if (probeDir && x.name !== "bare")
          say(`  probe ${x.name}: ${await probeLine(pid, `${probeDir}/${x.name}.jsonl`)}`);
      }
      const l = (n: string) => latency[n] as FixedRateResult;
      say(
        `round ${round} (load ${loadavg()[0]?.toFixed(1)}): ack at ${PACED_RATE}/s p50 / p99 / max from due (ms): ${["base", "this", "bare"].map((n) => `${n} ${ms(at(l(n).fromDue, 50))} / ${ms(at(l(n).fromDue, 99))} / ${ms(at(l(n).fromDue, 100))}`).join(", ")}; p99 from send ${["base", "this", "bare"].map((n) => ms(at(l(n).fromSend, 99))).join(" / ")}; generator late p99 ${["base", "this", "bare"].map((n) => ms(l(n).lateP99)).join(" / ")}; achieved ${["base", "this", "bare"].map((n) => l(n).achieved.toFixed(0)).join(" / ")}/s`,
      );
      if (options.full === false) continue;
      const figures: Record<string, { cpuMs: number; pgMs: number; rps: number }> = {};
      for (const x of order) {
        const pid = x.child.pid as number;
        const cpu0 = cpuSeconds(pid);
        const database = databases[x.name];
        const pg0 = database ? postgresCpu(database) : new Map<number, number>();
        if (probeDir && x.name !== "bare") await probeLine(pid, `${probeDir}/${x.name}.jsonl`);
        const r = await load(x.port, { connections: 50, seconds });
        if (probeDir && x.name !== "bare") {
          const line = JSON.parse(await probeLine(pid, `${probeDir}/${x.name}.jsonl`)) as {
            statements: Record<string, number>;
          };
          say(
            `  statements per webhook ${x.name} at 50 connections: ${Object.entries(line.statements)
              .map(([k, n]) => `${k} ${(n / r.requests.total).toFixed(3)}`)
              .join(", ")}`,
          );
        }
        figures[x.name] = {
          cpuMs: (1000 * (cpuSeconds(pid) - cpu0)) / r.requests.total,
          pgMs: database ? (1000 * cpuSpent(pg0, postgresCpu(database))) / r.requests.total : 0,
          rps: r.requests.average,
        };
      }
      const f = (n: string) => figures[n] as { cpuMs: number; pgMs: number; rps: number };
      say(
        `round ${round} (load ${loadavg()[0]?.toFixed(1)}): CPU ms per webhook base ${f("base").cpuMs.toFixed(3)}, this ${f("this").cpuMs.toFixed(3)} (${(f("this").cpuMs / f("base").cpuMs).toFixed(2)}×), bare ${f("bare").cpuMs.toFixed(3)}; Postgres CPU ms per webhook base ${f("base").pgMs.toFixed(3)}, this ${f("this").pgMs.toFixed(3)}; req/s ÷ bare: base ${(f("base").rps / f("bare").rps).toFixed(2)}, this ${(f("this").rps / f("bare").rps).toFixed(2)}`,
      );
    }
    return lines;
  } finally {
    for (const c of started) c.kill("SIGTERM");
    await sleep(1000);
    for (const d of dbs) await d.drop().catch(() => {});
    if (probeDir) rmSync(probeDir, { recursive: true, force: true });
  }
}

/**
 * What one webhook costs `threadbridge web` and Postgres at each steady rate (evenly spread, as
 * Meta sends them; no worker), `rounds` measurements of `seconds` each per rate after a second's
 * warm-up: the web process's main thread (user and system time apart) and its other threads, per
 * webhook. A busy minute shares each statement and wake-up among several webhooks; at a steady
 * rate each pays its own, so this is the web process's part of a capacity step's cost.
 */
export async function steadyCost(
  dbUrl: string,
  rates: readonly number[],
  options: { seconds?: number; rounds?: number } = {},
): Promise<string[]> {
  const seconds = options.seconds ?? 6;
  const rounds = options.rounds ?? 3;
  const service = await startProcess(roleArgs("web"), serviceEnv(dbUrl));
  const pid = service.child.pid as number;
  const database = new URL(dbUrl).pathname.slice(1);
  const ms = (x: number, n: number) => ((1000 * x) / n).toFixed(3);
  const lines = [
    "| webhooks/s | web main thread, ms per webhook (user / system) | web's other threads | Postgres | ack p99 from the due time (ms) |",
    "|---|---|---|---|---|",
  ];
  try {
    await sleep(SETTLE_MS);
    for (const rate of rates) {
      const run = (s: number) =>
        fixedRate({
          port: service.port,
          path: "/webhooks/instagram",
          rate,
          seconds: s,
          warmSeconds: 0,
          make: webhookBody,
        });
      await run(1);
      for (let round = 0; round < rounds; round++) {
        const t0 = threadCpuSeconds(pid);
        const pg0 = postgresCpu(database);
        const r = await run(seconds);
        const t1 = threadCpuSeconds(pid);
        const pgMs = ms(cpuSpent(pg0, postgresCpu(database)), r.sent);
        if (r.non2xx + r.errors > 0) throw new Error(`${rate}/s: ${r.non2xx} non-2xx, ${r.errors} errors`);
        lines.push(
          `| ${rate} | ${ms(t1.user + t1.system - t0.user - t0.system, r.sent)} (${ms(t1.user - t0.user, r.sent)} / ${ms(t1.system - t0.system, r.sent)}) | ${ms(t1.others - t0.others, r.sent)} | ${pgMs} | ${at(r.fromDue, 99).toFixed(1)} |`,
        );
      }
    }
    return lines;
  } finally {
    service.child.kill("SIGTERM");
  }
}

if (import.meta.main && process.env.BENCH_INGEST_STEADY) {
  const rates = process.env.BENCH_INGEST_STEADY.split(",").map(Number);
  if (rates.some((r) => !(r > 0))) throw new Error("BENCH_INGEST_STEADY: rates per second, e.g. 60,250,1000");
  const db = await createTestDatabase();
  try {
    migrate(db.url);
    const lines = await steadyCost(db.url, rates, { seconds: SECONDS });
    process.stdout.write(
      `${[
        `steady-rate cost, ${SECONDS} s per round, load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(" ")}`,
        "",
        ...lines,
      ].join("\n")}\n`,
    );
    await sleep(1000);
  } finally {
    await db.drop();
  }
} else if (import.meta.main && process.env.BENCH_INGEST_AB) {
  await ingestAB(
    process.env.BENCH_INGEST_AB,
    Number(process.env.BENCH_AB_ROUNDS ?? 6),
    Number(process.env.BENCH_SECONDS ?? 4),
    {
      full: process.env.BENCH_AB_FULL !== "0",
      probe: process.env.BENCH_PROBE === "1",
      waits: process.env.BENCH_WAITS === "1",
    },
  );
} else if (import.meta.main) {
  const db = await createTestDatabase();
  const webRoot = process.env.BENCH_WEB_ROOT;
  try {
    migrate(db.url, webRoot);
    const result = await ingestBench(db.url, {
      ...(webRoot ? { webRoot } : {}),
      ...(process.env.BENCH_WEB_NODE_OPTIONS ? { webNodeOptions: process.env.BENCH_WEB_NODE_OPTIONS } : {}),
    });
    process.stdout.write(
      `${[
        `ingest, ${SECONDS} s per load, ${webRoot ?? ROOT}, load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(" ")}`,
        "",
        ...benchTable(result.rows),
        "",
        `web RSS ${result.rss.idle.toFixed(0)} MiB idle, ${result.rss.load.toFixed(0)} MiB peak; stored ${result.stored.events} events, ${result.stored.jobs} jobs, ${(result.stored.events / result.stored.commits).toFixed(1)} events per transaction`,
        `JSON ${JSON.stringify({ rps: result.rps, cpuMs: result.cpuMs, stored: result.stored })}`,
      ].join("\n")}\n`,
    );
    // Give the web process its time to write a CPU profile on exit.
    await sleep(2000);
  } finally {
    await db.drop();
  }
}
