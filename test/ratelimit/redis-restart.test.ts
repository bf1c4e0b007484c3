// The shared Redis restarts (its sliding logs are lost) while two processes keep sending for one
// account. While it is down each process keeps to half the limit on its insurance pacer; when it is
// back the log does not know those calls, so each process seeds its own recent insurance grants
// into it and, for the per-second classes, keeps its pacer as well for one window plus the
// reconnect spread. Proven here: no window of the limit ever holds more than the limit, across the
// outage and both edges of it.
import type { ChildProcess } from "node:child_process";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { createLogger } from "../../src/log/logger.ts";
import { OutboundLimiter } from "../../src/ratelimit/limiter.ts";
import { maxInWindow } from "../fakes/graph-load-server.ts";
import { startSenders } from "../helpers/senders.ts";
import { startPrivateRedis } from "../helpers/servers.ts";
import { waitFor } from "../helpers/service.ts";
import { freePort } from "../outbound/helpers.ts";

let server: ChildProcess | undefined;
const clients: Redis[] = [];
const limiters: OutboundLimiter[] = [];

afterAll(async () => {
  for (const l of limiters) l.dispose();
  for (const c of clients) c.disconnect();
  server?.kill("SIGKILL");
});

it("keeps two processes within the limit across a Redis restart", { timeout: 60_000 }, async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  server = await startPrivateRedis(port);
  const LIMIT = 20;
  const warnings: string[] = [];
  const log = createLogger("warn", {
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString("utf8").split("\n"))
          if (line.trim()) warnings.push(JSON.parse(line).msg);
        done();
      },
    }),
  });
  for (let i = 0; i < 2; i++) {
    // The service's own client options (src/service.ts).
    const c = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    c.on("error", () => {});
    clients.push(c);
    limiters.push(
      new OutboundLimiter({
        redis: c,
        processes: 2,
        guardMs: 100,
        log,
        limits: { send_text: { points: LIMIT, durationSeconds: 1 } },
      }),
    );
  }
  await waitFor(
    async () => (clients.every((c) => c.status === "ready") ? true : undefined),
    5_000,
    "clients",
  );

  const { calls: granted, stop } = startSenders(limiters, "restart-1");

  await sleep(2_000);
  server.kill("SIGKILL");
  await sleep(2_500);
  server = await startPrivateRedis(port);
  await waitFor(
    async () => (clients.every((c) => c.status === "ready") ? true : undefined),
    10_000,
    "reconnect",
  );
  await sleep(3_000);
  await stop();

  const most = maxInWindow(granted, 1000);
  console.log(
    `redis-restart: ${granted.length} grants in ${((granted.at(-1) ?? 0) - (granted[0] ?? 0)).toFixed(0)} ms; most in any 1 s: ${most} (limit ${LIMIT})`,
  );
  expect(granted.length).toBeGreaterThan(LIMIT * 5);
  expect(most).toBeLessThanOrEqual(LIMIT);
  // Each process said once that it was limiting on its own.
  expect(warnings).toEqual(
    Array(2).fill("rate limiter: Redis unavailable, limiting per process (insurance limiter)"),
  );
});
