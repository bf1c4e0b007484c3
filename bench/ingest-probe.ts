// A probe for the web process, `node --import <abs>/bench/ingest-probe.ts` (BENCH_WEB_NODE_OPTIONS):
// where a webhook's acknowledgement time goes. For each delivery it stamps (performance.now(), ms)
// the request's arrival (headers parsed), its submit to the IngestBatcher (body read, signature
// checked, parsed), the start of the statement that stores it, that statement's result, and the
// 200 written; and it records GC pauses and the event-loop delay. On SIGUSR2 it writes the
// percentiles of each stage since the last mark to $INGEST_PROBE_OUT (JSON, appended: one line per
// mark) and starts over; also the statements the process sent, by kind. It patches the
// checkout's own IngestBatcher (the module under the web process's working directory), so it
// measures a base checkout as well as this one, as long as the batcher keeps its `submit` and
// `commit(batch)` methods.
import { AsyncLocalStorage } from "node:async_hooks";
import { appendFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { monitorEventLoopDelay, PerformanceObserver, performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

interface Stamps {
  arrived: number;
  submitted?: number;
  flushed?: number;
  stored?: number;
  answered?: number;
  batchEvents?: number;
  inFlightAtFlush?: number;
}

const out = process.env.INGEST_PROBE_OUT ?? "/tmp/ingest-probe.jsonl";
const als = new AsyncLocalStorage<Stamps>();
let done: Stamps[] = [];
let gcPauses: number[] = [];
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();

new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push(e.duration);
}).observe({ entryTypes: ["gc"] });

// Each request's handlers run in its own context, so the batcher's submit and the answer find it.
const emit = http.Server.prototype.emit as (this: http.Server, event: string, ...args: unknown[]) => boolean;
http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
  if (event === "request")
    return als.run({ arrived: performance.now() }, () => emit.call(this, event, ...args));
  return emit.call(this, event, ...args);
} as typeof http.Server.prototype.emit;

const end = http.ServerResponse.prototype.end;
http.ServerResponse.prototype.end = function (this: http.ServerResponse, ...args: unknown[]) {
  const s = als.getStore();
  if (s?.submitted !== undefined && s.answered === undefined && this.statusCode === 200) {
    s.answered = performance.now();
    done.push(s);
  }
  return (end as (...a: unknown[]) => http.ServerResponse).apply(this, args);
} as typeof end;

// Statements sent by the web process, by kind: the webhook's store, the workers' wake-up, others.
let statements: Record<string, number> = {};
const { default: pg } = (await import(
  pathToFileURL(createRequire(`${process.cwd()}/package.json`).resolve("pg")).href
)) as { default: typeof import("pg") };
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
  const q = args[0] as string | { text?: string } | undefined;
  const text = typeof q === "string" ? q : (q?.text ?? "");
  const kind = /INSERT INTO inbound_events/.test(text)
    ? "store"
    : /pg_notify/.test(text)
      ? "notify"
      : "other";
  statements[kind] = (statements[kind] ?? 0) + 1;
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

const byRecords = new WeakMap<object, Stamps>();
const { IngestBatcher } = (await import(
  pathToFileURL(`${process.cwd()}/src/ingest/ingest-batcher.ts`).href
)) as typeof import("../src/ingest/ingest-batcher.ts");
type Batch = Array<{ records: object; resolve: (r: unknown) => void }>;
const proto = IngestBatcher.prototype as unknown as {
  submit(records: object): Promise<unknown>;
  commit(batch: Batch): Promise<void>;
  inFlight: number;
};
const submit = proto.submit;
proto.submit = function (this: typeof proto, records: object) {
  const s = als.getStore();
  if (s) {
    s.submitted = performance.now();
    byRecords.set(records, s);
  }
  return submit.call(this, records);
};
const commit = proto.commit;
proto.commit = function (this: typeof proto, batch: Batch) {
  const now = performance.now();
  const events = batch.reduce((n, p) => n + ((p.records as unknown[]).length ?? 0), 0);
  for (const p of batch) {
    const s = byRecords.get(p.records);
    if (!s) continue;
    s.flushed = now;
    s.batchEvents = events;
    s.inFlightAtFlush = this.inFlight;
    const resolve = p.resolve;
    p.resolve = (r) => {
      s.stored = performance.now();
      resolve(r);
    };
  }
  return commit.call(this, batch);
};

function pct(values: number[]): Record<string, number> {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
  const r = (v: number) => Math.round(v * 100) / 100;
  return { n: s.length, p50: r(at(50)), p90: r(at(90)), p99: r(at(99)), max: r(s.at(-1) ?? Number.NaN) };
}

process.on("SIGUSR2", () => {
  const d = done.filter((s) => s.flushed !== undefined && s.stored !== undefined);
  const stage = (f: (s: Stamps) => number) => pct(d.map(f));
  // The slowest 1 %: which stage made each of them slow.
  const total = (s: Stamps) => (s.answered as number) - s.arrived;
  const slow = [...d].sort((a, b) => total(b) - total(a)).slice(0, Math.max(1, Math.ceil(d.length / 100)));
  const mean = (xs: Stamps[], f: (s: Stamps) => number) =>
    Math.round((xs.reduce((a, s) => a + f(s), 0) / Math.max(1, xs.length)) * 100) / 100;
  const stages = {
    read: (s: Stamps) => (s.submitted as number) - s.arrived,
    queued: (s: Stamps) => (s.flushed as number) - (s.submitted as number),
    statement: (s: Stamps) => (s.stored as number) - (s.flushed as number),
    answer: (s: Stamps) => (s.answered as number) - (s.stored as number),
  };
  const line = {
    pid: process.pid,
    deliveries: d.length,
    statements,
    total: stage(total),
    ...Object.fromEntries(Object.entries(stages).map(([k, f]) => [k, stage(f)])),
    slowest1pct: Object.fromEntries([
      ["total", mean(slow, total)],
      ...Object.entries(stages).map(([k, f]) => [k, mean(slow, f)]),
    ]),
    batchEvents: pct(d.map((s) => s.batchEvents ?? Number.NaN)),
    inFlightAtFlush: pct(d.map((s) => s.inFlightAtFlush ?? Number.NaN)),
    gcPauseMs: { ...pct(gcPauses), sum: Math.round(gcPauses.reduce((a, b) => a + b, 0)) },
    loopDelayMs: {
      p50: loop.percentile(50) / 1e6,
      p99: loop.percentile(99) / 1e6,
      max: loop.max / 1e6,
    },
  };
  appendFileSync(out, `${JSON.stringify(line)}\n`);
  done = [];
  statements = {};
  gcPauses = [];
  loop.reset();
});
