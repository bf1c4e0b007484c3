// Where the Send API's share of its limit goes, read from Redis itself (MONITOR on the bench's
// database, Redis's own clock): every ask for a grant (`threadbridgeGrant`, its member) and every
// departure logged (`threadbridgeDeparted`, the member and its time). A place in the departure log
// comes free a window after the call holding it left, so each of the L places cycles in
// window + (free → grant) + (grant → logged departure); the pacer (GCRA, one grant per window ÷ L,
// at most one early) can hold a grant back further. For every grant once the log is full this
// finds the moment the log and the pacer first allowed it, whether a refused ask was waiting then
// (the limiter was the bound) or not (the senders were: nobody asked), and the means of both parts.
import type { Redis } from "ioredis";

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
    // Grant: keys (log, tat, pause), then limit, window, member, paced. Departed: key, member, at.
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
  let late = 0;
  let lateWaited = 0;
  let write = 0;
  let r = 0;
  for (const [k, g] of grants.entries()) {
    const paceGate = tat - spacing;
    tat = Math.max(tat, g.grantedAt) + spacing;
    if (k >= limit) {
      left.sort((a, b) => a - b);
      const logGate = (left[left.length - limit] as number) + windowMs;
      const gate = Math.max(logGate, paceGate);
      if (logGate >= paceGate) logBound++;
      // A refused ask in the 30 ms before the gate: some process was waiting for this place.
      while (r < refused.length && (refused[r] as number) < gate - 30) r++;
      const waiting = r < refused.length && (refused[r] as number) <= gate;
      n++;
      late += g.grantedAt - gate;
      write += g.departedAt - g.grantedAt;
      if (waiting) {
        waited++;
        lateWaited += g.grantedAt - gate;
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
    `mean ms from allowed to granted ${(late / n).toFixed(2)} (${(lateWaited / Math.max(1, waited)).toFixed(2)} when awaited), ` +
    `from granted to the logged departure ${(write / n).toFixed(2)}; ${(asks.size / grants.length).toFixed(2)} asks per grant`
  );
}
