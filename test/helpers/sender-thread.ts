// A sending process for the departure-log tests: a worker thread with an event loop of its own, its
// own Redis client and OutboundLimiter, sending Send API calls by HTTP to a Graph fake as the
// gateway does (a turn, the freshness check, the call watched for when it leaves, the departure
// reported). `blockEveryMs`: this thread blocks its event loop for that long inside every
// `blockEvery`-th request, after the request was created and before it is written: the stretch
// between a grant and the call's first byte that no check before the call can see.
import { subscribe } from "node:diagnostics_channel";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Redis } from "ioredis";
import { DepartureWatch } from "../../src/outbound/departures.ts";
import { OutboundLimiter } from "../../src/ratelimit/limiter.ts";

export interface SenderThreadOptions {
  redisUrl: string;
  keyPrefix: string;
  graphUrl: string;
  account: string;
  limit: number;
  guardMs: number;
  senders: number;
  /** Block the event loop for `blockMs` in every `blockEvery`-th request (0: never). */
  blockEvery: number;
  blockMs: number;
  /** How the departure is reported: at the write (the product's way), or at the check before the
   * call (what a grant-time log assumes; for showing the test can fail). */
  report: "write" | "check";
}

/** Starts a sender thread; `stop()` ends its loops and resolves with the number of calls sent. */
export function startSenderThread(options: SenderThreadOptions): { stop: () => Promise<number> } {
  const worker = new Worker(new URL(import.meta.url), { workerData: options });
  const done = new Promise<number>((resolve, reject) => {
    worker.once("message", (m: { sent: number }) => resolve(m.sent));
    worker.once("error", reject);
  });
  return {
    stop: async () => {
      worker.postMessage("stop");
      const sent = await done;
      await worker.terminate();
      return sent;
    },
  };
}

if (!isMainThread && parentPort) {
  const o = workerData as SenderThreadOptions;
  const port = parentPort;
  let requests = 0;
  if (o.blockEvery > 0)
    subscribe("undici:request:create", () => {
      if (++requests % o.blockEvery !== 0) return;
      const end = performance.now() + o.blockMs;
      while (performance.now() < end) {
        // A blocked event loop: nothing else in this thread runs meanwhile.
      }
    });
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const limiter = new OutboundLimiter({
    redis,
    keyPrefix: o.keyPrefix,
    guardMs: o.guardMs,
    processes: 3,
    limits: { send_text: { points: o.limit, durationSeconds: 1 } },
  });
  let running = true;
  let sent = 0;
  port.on("message", () => {
    running = false;
  });
  const sender = async (n: number) => {
    for (let i = 0; running; i++) {
      const turn = await limiter.takeTurn(o.account, "send_text");
      if (!limiter.fresh(turn)) {
        limiter.release(turn);
        continue;
      }
      const checked = performance.now();
      const watch = new DepartureWatch();
      const res = await watch.run(() =>
        fetch(`${o.graphUrl}/v21.0/${o.account}/messages`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ recipient: { id: `6300${n}${i}` }, message: { text: "hi" } }),
        }),
      );
      await res.text();
      limiter.departed(turn, o.report === "write" ? watch.departedAt : checked);
      sent++;
    }
  };
  await Promise.all(Array.from({ length: o.senders }, (_, n) => sender(n)));
  limiter.dispose();
  redis.disconnect();
  port.postMessage({ sent });
}
