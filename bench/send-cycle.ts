// Where the Send API's share of its limit goes, read from Redis itself (MONITOR on the bench's
// database, Redis's own clock): every ask for a grant (`threadbridgeGrant`, its member) and every
// departure logged (`threadbridgeDeparted`, the member and its time). A place in the departure log
// comes free a window after the call holding it left, so each of the L places cycles in
// window + (free → logged departure); the pacer (GCRA, one grant per window ÷ L, at most one early)
// can hold a call back further. For every grant once the log is full this finds the moment the log
// and the pacer first allowed its call to leave, whether a refused ask was waiting for it (the
// limiter was the bound) or not (the senders were: nobody asked), how long before that moment it
// was granted (the gateway's turns are granted up to GRANT_AHEAD_MS ahead of it, limiter.ts), and
// the mean time from the moment to the logged departure: what each cycle of the limit pays.
import type { Redis } from "ioredis";
import { GRANT_AHEAD_MS } from "../src/ratelimit/limiter.ts";

export interface SendCycleTrace {
  stop(): Promise<string>;
}

/** Starts watching `client`'s database for the departure log of `cls` (key `…:<cls>:<account>`). */
export async function traceSendCycle(
  client: Redis,
  database: number,
  cls: string,
  limit: number,
  windowMs: number,
): Promise<SendCycleTrace> {
  const asks = new Map<string, number>();
  const departed = new Map<string, number>();
  const monitor = await client.monitor();
  monitor.on("monitor", (time: string, args: string[], _source: string, db: string) => {
    if (Number(db) !== database) return;
    const command = args[0]?.toLowerCase();
    if ((command !== "evalsha" && command !== "eval") || !args[3]?.includes(`:${cls}:`)) return;
    // Grant: keys (log, tat, pause), then limit, window, member, paced, ahead. Departed: key,
    // member, at.
    if (args[2] === "3" && args[8]) asks.set(args[8], Number(time) * 1000);
    else if (args[2] === "1" && args[4] && args[5]) departed.set(args[4], Number(args[5]));
  });
  return {
    async stop() {
      monitor.disconnect();
      return decompose(asks, departed, limit, windowMs);
    },
  };
}

function decompose(
  asks: Map<string, number>,
  departed: Map<string, number>,
  limit: number,
  windowMs: number,
): string {
  const grants = [...departed]
    .filter(([m]) => asks.has(m))
    .map(([m, at]) => ({ grantedAt: asks.get(m) as number, departedAt: at }))
    .sort((a, b) => a.grantedAt - b.grantedAt);
  const refused = [...asks]
    .filter(([m]) => !departed.has(m))
    .map(([, t]) => t)
    .sort((a, b) => a - b);
  if (grants.length <= limit * 3) return `send cycle: too few grants traced (${grants.length})`;
  const spacing = windowMs / limit;
  let tat = 0;
  const left: number[] = [];
  let n = 0;
  let logBound = 0;
  let waited = 0;
  let early = 0;
  let toDeparture = 0;
  let toDepartureWaited = 0;
  let r = 0;
  for (const [k, g] of grants.entries()) {
    // As GRANT_LUA: the pacer's gate one spacing before its theoretical time, the log's a window
    // after the departure whose leaving frees a place; the pacer's time then moves on from the
    // later of its own, the grant's and the log's.
    const paceGate = tat - spacing;
    let logGate = Number.NEGATIVE_INFINITY;
    if (k >= limit) {
      left.sort((a, b) => a - b);
      logGate = (left[left.length - limit] as number) + windowMs;
    }
    tat = Math.max(tat, g.grantedAt, logGate) + spacing;
    if (k >= limit) {
      const gate = Math.max(logGate, paceGate);
      if (logGate >= paceGate) logBound++;
      // A refused ask in the 30 ms before the place could be granted (up to GRANT_AHEAD_MS
      // before the gate): some process was waiting for it.
      while (r < refused.length && (refused[r] as number) < gate - GRANT_AHEAD_MS - 30) r++;
      const waiting = r < refused.length && (refused[r] as number) <= gate;
      n++;
      early += gate - g.grantedAt;
      toDeparture += g.departedAt - gate;
      if (waiting) {
        waited++;
        toDepartureWaited += g.departedAt - gate;
      }
    }
    left.push(g.departedAt);
  }
  const span = ((grants.at(-1)?.grantedAt as number) - (grants[0]?.grantedAt as number)) / 1000;
  const lo = grants[Math.floor(grants.length / 10)]?.grantedAt as number;
  const hi = grants[Math.floor((grants.length * 9) / 10)]?.grantedAt as number;
  const middle = Math.floor((grants.length * 8) / 10) / ((hi - lo) / 1000);
  const pct = (x: number) => `${((100 * x) / n).toFixed(0)} %`;
  return (
    `send cycle (Redis's clock): ${grants.length} grants, ${((grants.length - 1) / span / limit).toFixed(3)} of the limit over the run, ` +
    `${(middle / limit).toFixed(3)} over its middle 80 %; of the ${n} after the first ${limit}, ${pct(waited)} were awaited by a refused ask ` +
    `(the limiter was the bound; the rest waited for a sender), ${pct(logBound)} were allowed by the log last (the rest by the pacer); ` +
    `mean ms from the moment the log and the pacer allowed a call to its logged departure ${(toDeparture / n).toFixed(2)} ` +
    `(${(toDepartureWaited / Math.max(1, waited)).toFixed(2)} when awaited), each granted ${(early / n).toFixed(2)} ms before that moment ` +
    `on average (negative: after it); ${(asks.size / grants.length).toFixed(2)} asks per grant`
  );
}
