// The Send API limiter alone, without the database: three sending threads (each with its own event
// loop, Redis client and OutboundLimiter, as three worker processes have) take turns for one
// account at the real 100/s and send each call by HTTP to the Graph fake, which stamps arrivals in
// a thread of its own. What it shows is the limiter's own share of the limit, which the full
// outbound bench (bench/outbound.ts) only shows when the workers' database work is not the bound
// (a quiet machine). Runs against the limiter of the worktree it is in; it uses the departure log's
// API when there is one (takeTurn / departed), else the grant-time one (waitTurn / fresh).
//   node bench/limiter-probe.ts   PROBE_GUARD_MS (20), PROBE_SECONDS (10), PROBE_SENDERS (16 per thread),
//   PROBE_LIMIT (100)
// With the departure log's API it also says where each grant's time went (`cycle`): a place in the
// log comes free a window after the call holding it left, so each of the L places cycles in
// window + (slot free → grant) + (grant → write); the decomposition gives the mean of each part.
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Redis } from "ioredis";
import { maxInWindow } from "../test/fakes/graph-load-server.ts";

const ACCOUNT = "17841400002399999";
// PROBE_LIMIT: another limit per second (the ratio to it does not depend on it: each place of the
// log cycles in window + delays whatever L is), which a loaded machine can keep up with.
const LIMIT = Number(process.env.PROBE_LIMIT ?? 100);

/** One grant: Redis's TIME when made, and when its call left on Redis's clock (grant + write − ask). */
interface GrantTrace {
  grantedAt: number;
  departedAt: number;
}

/** Where the time of each place in the log went (module comment): for each grant once the log is
 * full, the moment the log would first have allowed it (the L-th latest departure before it + the
 * window) and the pacer (GCRA, at most PACE_BURST − 1 = 1 early), which of the two bound it, how
 * late after that it was made, and how long its call took from the grant to the write. */
function decompose(grants: GrantTrace[], asks: number, windowMs: number): string | undefined {
  if (grants.length <= LIMIT * 2) return undefined;
  const g = [...grants].sort((a, b) => a.grantedAt - b.grantedAt);
  const spacing = windowMs / LIMIT;
  let tat = 0;
  const departed: number[] = [];
  let logBound = 0;
  let late = 0;
  let write = 0;
  let n = 0;
  for (const [k, x] of g.entries()) {
    const paceGate = tat - spacing;
    tat = Math.max(tat, x.grantedAt) + spacing;
    if (k >= LIMIT) {
      departed.sort((a, b) => a - b);
      const logGate = (departed[departed.length - LIMIT] as number) + windowMs;
      const gate = Math.max(logGate, paceGate);
      if (logGate >= paceGate) logBound++;
      late += x.grantedAt - gate;
      write += x.departedAt - x.grantedAt;
      n++;
    }
    departed.push(x.departedAt);
  }
  const f = (v: number) => (v / n).toFixed(2);
  return (
    `cycle: ${n} grants after the first ${LIMIT}: ${((100 * logBound) / n).toFixed(0)} % bound by the log (the rest by the pacer); ` +
    `mean ms from the moment allowed to the grant ${f(late)}, from the grant to the logged departure (write − ask) ${f(write)}; ` +
    `${(asks / grants.length).toFixed(2)} asks per grant`
  );
}

interface Options {
  graphUrl: string;
  keyPrefix: string;
  guardMs: number;
  senders: number;
}

if (isMainThread) {
  const guardMs = Number(process.env.PROBE_GUARD_MS ?? 20);
  const seconds = Number(process.env.PROBE_SECONDS ?? 10);
  const senders = Number(process.env.PROBE_SENDERS ?? 16);
  // Imported here only: the module starts a fake of its own in any other thread that imports it.
  const { startGraphLoadThread } = await import("../test/fakes/graph-load-thread.ts");
  const graph = await startGraphLoadThread({ realtime: true });
  const options: Options = { graphUrl: graph.url, keyPrefix: `probe:${randomUUID()}`, guardMs, senders };
  const threads = [0, 1, 2].map(() => new Worker(new URL(import.meta.url), { workerData: options }));
  // Each thread says when it is ready to send, then what it measured.
  await Promise.all(threads.map((w) => new Promise((resolve) => w.once("message", resolve))));
  const done = threads.map(
    (w) =>
      new Promise<{ delays: number[]; grants: GrantTrace[]; asks: number }>((resolve) =>
        w.once("message", (m) => resolve(m)),
      ),
  );
  await sleep(seconds * 1000);
  for (const w of threads) w.postMessage("stop");
  const results = await Promise.all(done);
  const delays = results.flatMap((m) => m.delays).sort((a, b) => a - b);
  const cycle = decompose(
    results.flatMap((m) => m.grants),
    results.reduce((n, m) => n + m.asks, 0),
    1000 + guardMs,
  );
  const pct = (p: number) => (delays[Math.floor((delays.length - 1) * p)] ?? Number.NaN).toFixed(1);
  for (const w of threads) await w.terminate();
  const times = (await graph.calls()).filter((c) => c.account === ACCOUNT).map((c) => c.at);
  const stalls = await graph.stalls();
  await graph.close();
  const cleanup = new Redis(process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/12");
  const keys = await cleanup.keys(`${options.keyPrefix}:*`);
  if (keys.length > 0) await cleanup.del(...keys);
  await cleanup.quit();
  const span = (Math.max(...times) - Math.min(...times)) / 1000;
  const rate = (times.length - 1) / span;
  process.stdout.write(
    `limiter probe, guard ${guardMs} ms, 3 threads × ${senders} senders, ${seconds} s: ` +
      `${(rate / LIMIT).toFixed(3)} of the limit (${times.length} calls over ${span.toFixed(2)} s), ` +
      `most in any sliding 1 s ${maxInWindow(times, 1000)}; fake${stalls.realtime ? " (real-time thread)" : ""} stalls max ${stalls.maxMs.toFixed(1)} ms, ` +
      `p99 ${stalls.p99Ms.toFixed(1)} ms; ask-to-write p50 / p99 / max ${pct(0.5)} / ${pct(0.99)} / ${pct(1)} ms; load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}\n`,
  );
  if (cycle) process.stdout.write(`${cycle}\n`);
} else if (parentPort) {
  const o = workerData as Options;
  const port = parentPort;
  const { OutboundLimiter } = await import("../src/ratelimit/limiter.ts");
  const departures = await import("../src/outbound/departures.ts").catch(() => undefined);
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/12");
  // Connected first, as the service does: a limiter without Redis takes the insurance for a while.
  if (redis.status !== "ready") await new Promise((resolve) => redis.once("ready", resolve));
  // biome-ignore lint/suspicious/noExplicitAny: the probe runs against either limiter's API.
  const limiter: any = new OutboundLimiter({
    redis,
    keyPrefix: o.keyPrefix,
    guardMs: o.guardMs,
    processes: 3,
    limits: { send_text: { points: LIMIT, durationSeconds: 1 } },
  });
  port.postMessage("ready");
  let running = true;
  /** From asking for each grant to its call's write (the departure log's API only). */
  const delays: number[] = [];
  const grants: GrantTrace[] = [];
  // Every ask to Redis, granted or not (acquire calls the instance's grant).
  let asks = 0;
  const grant = limiter.grant.bind(limiter);
  limiter.grant = (...args: unknown[]) => {
    asks++;
    return grant(...args);
  };
  port.on("message", () => {
    running = false;
  });
  const send = (i: number) =>
    fetch(`${o.graphUrl}/v21.0/${ACCOUNT}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ recipient: { id: `64${i}` }, message: { text: "probe" } }),
    }).then((r) => r.text());
  const sender = async () => {
    for (let i = 0; running; i++) {
      if (typeof limiter.takeTurn === "function" && departures) {
        const turn = await limiter.takeTurn(ACCOUNT, "send_text");
        if (!limiter.fresh(turn)) {
          limiter.release(turn);
          continue;
        }
        // As the gateway: the departure logged right after the write, not once the answer came
        // (until then the entry would stay pending, and a full log of pending entries is polled).
        const watch = new departures.DepartureWatch((at: number) => limiter.departed(turn, at));
        try {
          await watch.run(() => send(i));
        } finally {
          if (!watch.seen) limiter.departed(turn, watch.departedAt);
          delays.push(watch.departedAt - turn.askedAt);
          if (turn.ticket)
            grants.push({
              grantedAt: turn.ticket.grantedAt,
              departedAt: turn.ticket.grantedAt + watch.departedAt - turn.askedAt,
            });
        }
      } else {
        let askedAt: number;
        do askedAt = await limiter.waitTurn(ACCOUNT, "send_text");
        while (!limiter.fresh("send_text", askedAt));
        await send(i);
        limiter.observeDelay(ACCOUNT, "send_text", performance.now() - askedAt);
      }
    }
  };
  await Promise.all(Array.from({ length: o.senders }, sender));
  limiter.dispose();
  redis.disconnect();
  port.postMessage({ delays, grants, asks });
}
