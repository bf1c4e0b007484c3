// A fixed-rate (open-loop) load for the acknowledgement latency at 1,000 webhooks/s: request i is
// due at start + i / rate, whatever the answers to the earlier ones, as webhooks arrive from Meta.
//
// Why not autocannon's `overallRate`: it gives each connection a quota per second and sends the
// quota back to back from the start of each second (autocannon 9, lib/httpClient.js), so 1,000/s
// over 25 connections is 25 concurrent requests at full speed for the first part of every second
// and nothing after: the server is saturated in bursts, and the latency is that of a closed loop
// at 25 connections. It also records each answer with a coordinated-omission correction whose
// expected interval is `ceil(1 / rate)` = 1 ms (seconds taken for milliseconds), so an answer of
// L ms is counted L times (L, L−1, … 1 ms): its p99 is a latency-weighted quantile that a few
// stalls decide.
//
// Here a timer ticks every millisecond and sends every request that is due by then, each on a
// kept-alive connection of a pool (up to `connections`, opened as needed; a request waits for a
// free one if all are busy, and that wait is part of its latency). Each latency is counted once,
// from the moment the request was due (so a late generator or a full pool is counted against the
// answer, as for a real sender, and the bare baseline measured the same way carries the same
// generator) and, beside it, from the moment it was handed to the connection pool. The bodies are
// made and signed before the run, so the generator's own work per request is the HTTP write.
import http from "node:http";
import { performance } from "node:perf_hooks";

export interface FixedRateRequest {
  body: string;
  headers: Record<string, string>;
}

export interface FixedRateResult {
  /** Answers per second over the measured part. */
  achieved: number;
  sent: number;
  /** Latency from the moment each request was due (ms), ascending. */
  fromDue: Float64Array;
  /** Latency from the moment each request was handed to the connection pool (ms), ascending. */
  fromSend: Float64Array;
  /** How late the generator handed requests over (ms): p99 and max, its own scheduling delay. */
  lateP99: number;
  lateMax: number;
  non2xx: number;
  errors: number;
  /** The errors by code (ECONNRESET, …), so that a failed run says what failed. */
  errorCodes: Record<string, number>;
}

/**
 * Sends `rate` requests a second to `port` + `path` for `warmSeconds` (not counted: connections
 * open, code warms) and then `seconds` (counted), each with a body from `make` (called for every
 * request before the run starts).
 */
export async function fixedRate(options: {
  port: number;
  path: string;
  rate: number;
  seconds: number;
  warmSeconds?: number;
  connections?: number;
  make: () => FixedRateRequest;
}): Promise<FixedRateResult> {
  const warm = options.warmSeconds ?? 1;
  const total = Math.round(options.rate * (warm + options.seconds));
  const counted = Math.round(options.rate * warm);
  const requests = Array.from({ length: total }, options.make);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections ?? 50 });
  const fromDue = new Float64Array(total - counted);
  const fromSend = new Float64Array(total - counted);
  const late: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const errorCodes: Record<string, number> = {};
  let answered = 0;
  let next = 0;
  let firstCountedDue = 0;
  let lastAnswer = 0;

  const start = performance.now() + 5;
  const dueAt = (i: number) => start + (i * 1000) / options.rate;

  await new Promise<void>((resolve) => {
    const finish = () => {
      answered++;
      if (answered === total) resolve();
    };
    const send = (i: number) => {
      const r = requests[i] as FixedRateRequest;
      const due = dueAt(i);
      const sent = performance.now();
      if (i >= counted) late.push(sent - due);
      const req = http.request(
        {
          port: options.port,
          host: "127.0.0.1",
          path: options.path,
          method: "POST",
          agent,
          headers: { ...r.headers, "content-length": Buffer.byteLength(r.body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const now = performance.now();
            if (i >= counted) {
              fromDue[i - counted] = now - due;
              fromSend[i - counted] = now - sent;
              lastAnswer = now;
              if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) non2xx++;
            }
            finish();
          });
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (i >= counted) {
          errors++;
          const code = `${err.code ?? err.message}${req.reusedSocket ? " (reused socket)" : ""}`;
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        }
        finish();
      });
      req.end(r.body);
    };
    const tick = () => {
      const now = performance.now();
      while (next < total && dueAt(next) <= now) send(next++);
      if (next < total) setTimeout(tick, Math.max(0, Math.min(1, dueAt(next) - performance.now())));
    };
    firstCountedDue = dueAt(counted);
    setTimeout(tick, 5);
  });
  agent.destroy();
  fromDue.sort();
  fromSend.sort();
  late.sort((a, b) => a - b);
  return {
    achieved: (total - counted) / ((lastAnswer - firstCountedDue) / 1000),
    sent: total - counted,
    fromDue,
    fromSend,
    lateP99: late[Math.floor(0.99 * late.length)] ?? 0,
    lateMax: late.at(-1) ?? 0,
    non2xx,
    errors,
    errorCodes,
  };
}

/** Nearest-rank percentile of an ascending array (ms). */
export function at(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
