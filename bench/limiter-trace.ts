// A probe for `node --import ./bench/limiter-trace.ts` (bench/outbound.ts passes it to the workers
// with BENCH_LIMITER_TRACE=<dir>): where a worker's share of the Send API limit goes. It wraps the
// rate limiter and the gateway of the process it is loaded into and writes, every second and at
// exit, $BENCH_LIMITER_TRACE/trace-<pid>.json:
//   - grants asked of the limiter: granted / refused, and the round trip of each ask;
//   - turns taken (waitTurn) and the time each waited;
//   - turns late when their caller woke for them (slots), taken again, and how late;
//   - turns left unused because they were late (fresh() false) and how late, and the slack of the
//     others (how long before their deadline they left);
//   - departures: the wall-clock time (timeOrigin + now, ms) at which each Send API call was let go,
//     and how many sends were inside the gateway (waiting for a turn or calling) every 5 ms.
// bench/outbound.ts merges the files of the three workers into one report.
import { writeFileSync } from "node:fs";
import { InstagramGateway } from "../src/outbound/instagram-gateway.ts";
import { OutboundLimiter } from "../src/ratelimit/limiter.ts";

const dir = process.env.BENCH_LIMITER_TRACE;
if (dir) {
  const wall = () => performance.timeOrigin + performance.now();
  const t = {
    pid: process.pid,
    grants: { ok: 0, refused: 0, rtt: [] as number[] },
    turns: { n: 0, waitMs: [] as number[] },
    fresh: { ok: 0, late: 0, lateMs: [] as number[], slackMs: [] as number[] },
    wake: { ok: 0, late: 0, lateMs: [] as number[] },
    margin: [] as number[],
    departures: [] as number[],
    inGateway: [] as [number, number][],
  };
  const L = OutboundLimiter.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const grant = L.grant as (...a: unknown[]) => Promise<{ ok: boolean }>;
  L.grant = async function (this: unknown, ...a: unknown[]) {
    const at = performance.now();
    const r = await grant.apply(this, a);
    if (a[1] === "send_text") {
      if (r.ok) t.grants.ok++;
      else t.grants.refused++;
      t.grants.rtt.push(performance.now() - at);
    }
    return r;
  };
  const waitTurn = L.waitTurn as (...a: unknown[]) => Promise<unknown>;
  L.waitTurn = function (this: unknown, ...a: unknown[]) {
    const at = performance.now();
    const p = waitTurn.apply(this, a);
    if (a[1] === "send_text") {
      t.turns.n++;
      p.then(
        () => t.turns.waitMs.push(performance.now() - at),
        () => {},
      );
    }
    return p;
  };
  const fresh = L.fresh as (...a: unknown[]) => boolean;
  L.fresh = function (this: unknown, ...a: unknown[]) {
    const ok = fresh.apply(this, a);
    if (a[0] === "send_text") {
      const late = performance.now() - (a[1] as number);
      if (ok) {
        t.fresh.ok++;
        t.fresh.slackMs.push(-late);
        t.departures.push(wall());
      } else {
        t.fresh.late++;
        t.fresh.lateMs.push(late);
      }
    }
    return ok;
  };
  // The lateness margin of departure slots (LATENESS in the limiter) after each wake-up.
  const observeLateness = L.observeLateness;
  if (observeLateness)
    L.observeLateness = function (this: { lateMargin(c: string): number }, ...a: unknown[]) {
      observeLateness.apply(this, a);
      if (a[0] === "send_text") t.margin.push(this.lateMargin("send_text"));
    };
  // The learned margin of the design before departure slots, when the probe runs against it.
  const observeDelay = L.observeDelay;
  if (observeDelay)
    L.observeDelay = function (this: { margin(c: string): number }, ...a: unknown[]) {
      observeDelay.apply(this, a);
      if (a[1] === "send_text") t.margin.push(this.margin("send_text"));
    };
  // The limiter's own check when a caller wakes for its turn (turns late by then are taken again).
  const onTime = L.onTime as ((...a: unknown[]) => boolean) | undefined;
  if (onTime)
    L.onTime = function (this: unknown, ...a: unknown[]) {
      const ok = onTime.apply(this, a);
      if (ok) t.wake.ok++;
      else {
        t.wake.late++;
        t.wake.lateMs.push(performance.now() - (a[0] as number));
      }
      return ok;
    };
  let inGateway = 0;
  const G = InstagramGateway.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const call = G.call as (...a: unknown[]) => Promise<unknown>;
  G.call = async function (this: unknown, ...a: unknown[]) {
    inGateway++;
    try {
      return await call.apply(this, a);
    } finally {
      inGateway--;
    }
  };
  let last = -1;
  setInterval(() => {
    if (inGateway !== last || t.inGateway.length === 0) t.inGateway.push([wall(), inGateway]);
    last = inGateway;
  }, 5).unref();
  const write = () => writeFileSync(`${dir}/trace-${process.pid}.json`, JSON.stringify(t));
  setInterval(write, 1_000).unref();
  // Written before the worker's own shutdown, which leaves the process by itself.
  process.prependListener("SIGTERM", write);
}
