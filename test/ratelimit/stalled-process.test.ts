// One of two processes stalls (a busy event loop, a GC pause) while Redis grants it turns. A log of
// grant times would hold them at Redis's time; the stalled process only gets to them when it
// wakes, and would then send them all at once, closer together than the log allowed for. The
// chaos run saw it after a Postgres restart: 11 Send API calls in a second of 10. Simulated
// faithfully here: the stalled process's Redis answers reach it only when the stall ends, while
// the other process runs on. The departure log counts the stalled grants as pending meanwhile,
// and each at the moment it was used.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { OutboundLimiter } from "../../src/ratelimit/limiter.ts";
import { maxInWindow } from "../fakes/graph-load-server.ts";
import { testRedisUrl } from "../helpers/redis.ts";
import { startSenders } from "../helpers/senders.ts";

const clients: Redis[] = [];
const limiters: OutboundLimiter[] = [];

afterAll(() => {
  for (const l of limiters) l.dispose();
  for (const c of clients) c.disconnect();
});

/** A Redis client whose limiter answers are held until `stalledUntil()` has passed. */
function stallable(c: Redis, stalledUntil: () => number): Redis {
  return new Proxy(c, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== "threadbridgeGrant" || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const answer = await value.apply(target, args);
        const wait = stalledUntil() - performance.now();
        if (wait > 0) await sleep(wait);
        return answer;
      };
    },
  });
}

it("counts the calls of a process whose grants reach it late when they leave", {
  timeout: 30_000,
}, async () => {
  const LIMIT = 10;
  const prefix = `test:rl:${randomUUID()}`;
  let stallEnd = 0;
  for (let i = 0; i < 2; i++) {
    const c = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    c.on("error", () => {});
    await new Promise((resolve) => c.once("ready", resolve));
    clients.push(c);
    limiters.push(
      new OutboundLimiter({
        redis: i === 0 ? stallable(c, () => stallEnd) : c,
        keyPrefix: prefix,
        processes: 2,
        guardMs: 40,
        limits: { send_text: { points: LIMIT, durationSeconds: 1 } },
      }),
    );
  }
  const { calls, stop } = startSenders(limiters, "stall-1");
  for (let round = 0; round < 4; round++) {
    await sleep(1_200);
    stallEnd = performance.now() + 400;
  }
  await sleep(1_500);
  await stop();

  expect(calls.length).toBeGreaterThan(LIMIT * 4);
  expect(maxInWindow(calls, 1_000)).toBeLessThanOrEqual(LIMIT);
});

it("counts a call that leaves long after its grant when it leaves", {
  timeout: 30_000,
}, async () => {
  // Here the stall comes after the grant arrived: between the turn and the call the caller's own
  // work runs (its queue, the gateway), and every fifth call of one process waits 300 ms there.
  // A log of grants needed the grant left unused (11 calls in a second of 10 without that); the
  // departure log has the call pending until it says when it left.
  const LIMIT = 10;
  const prefix = `test:rl:${randomUUID()}`;
  const pair: OutboundLimiter[] = [];
  for (let i = 0; i < 2; i++) {
    const c = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    c.on("error", () => {});
    await new Promise((resolve) => c.once("ready", resolve));
    clients.push(c);
    const l = new OutboundLimiter({
      redis: c,
      keyPrefix: prefix,
      processes: 2,
      guardMs: 20,
      limits: { send_text: { points: LIMIT, durationSeconds: 1 } },
    });
    limiters.push(l);
    pair.push(l);
  }
  const calls: number[] = [];
  let running = true;
  let turns = 0;
  const sender = async (l: OutboundLimiter, stalls: boolean) => {
    while (running) {
      const turn = await l.takeTurn("stall-2", "send_text");
      if (stalls && ++turns % 5 === 0) await sleep(300);
      expect(l.fresh(turn)).toBe(true);
      calls.push(performance.now());
      l.departed(turn);
    }
  };
  const senders = pair.flatMap((l, i) => [sender(l, i === 0), sender(l, i === 0), sender(l, i === 0)]);
  await sleep(5_000);
  running = false;
  await Promise.all(senders);

  expect(calls.length).toBeGreaterThan(LIMIT * 3);
  expect(maxInWindow(calls, 1_000)).toBeLessThanOrEqual(LIMIT);
});
