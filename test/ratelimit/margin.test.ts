// The limiter's learned margin (MARGIN in src/ratelimit/limiter.ts): calls whose grant-to-answer
// delays spread widen the class's window by that spread, in this process without Redis, and in
// every process sharing the Redis when one reports it.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { OutboundLimiter } from "../../src/ratelimit/limiter.ts";
import { testRedisUrl } from "../helpers/redis.ts";

const LIMIT = 5;
const GUARD = 20;
const limits = { send_text: { points: LIMIT, durationSeconds: 1 } };
const clients: Redis[] = [];
const limiters: OutboundLimiter[] = [];

afterAll(() => {
  for (const l of limiters) l.dispose();
  for (const c of clients) c.disconnect();
});

async function redis(): Promise<Redis> {
  const c = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  c.on("error", () => {});
  clients.push(c);
  if (c.status !== "ready") await new Promise((resolve) => c.once("ready", resolve));
  return c;
}

/** Grant times of `n` calls taken one after another on `pick(i)`. */
async function grants(n: number, pick: (i: number) => OutboundLimiter): Promise<number[]> {
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    await pick(i).waitTurn("17841400003300001", "send_text");
    at.push(performance.now());
  }
  return at;
}

/** The shortest time spanned by any LIMIT + 1 consecutive grants. */
function tightest(at: number[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i + LIMIT < at.length; i++)
    min = Math.min(min, (at[i + LIMIT] as number) - (at[i] as number));
  return min;
}

describe("the margin learned from grant-to-answer delays", () => {
  it("is the spread of the delays, in steps of 5 ms, at most 500 ms", () => {
    const l = new OutboundLimiter({ limits, guardMs: GUARD });
    limiters.push(l);
    expect(l.margin("send_text")).toBe(0);
    // A process's first delays count whole: nothing yet says what is usual.
    l.observeDelay("a", "send_text", 3);
    expect(l.margin("send_text")).toBe(5);
    for (let i = 0; i < 200; i++) l.observeDelay("a", "send_text", 10);
    expect(l.margin("send_text")).toBe(0);
    for (let i = 0; i < 10; i++) l.observeDelay("a", "send_text", 10 + 231);
    expect(l.margin("send_text")).toBe(235);
    for (let i = 0; i < 10; i++) l.observeDelay("a", "send_text", 5_000);
    expect(l.margin("send_text")).toBe(500);
  });

  it("spaces the in-memory pacer's grants by it", { timeout: 30_000 }, async () => {
    const l = new OutboundLimiter({ limits, guardMs: GUARD });
    limiters.push(l);
    for (let i = 0; i < 10; i++) l.observeDelay("a", "send_text", 300);
    const at = await grants(LIMIT * 2 + 1, () => l);
    // Without the margin any 6 grants span ≥ 1,020 ms; with it ≥ 1,320 ms.
    expect(tightest(at)).toBeGreaterThanOrEqual(1_000 + GUARD + 300 - 5);
  });

  it("widens the window of every process sharing the Redis", { timeout: 30_000 }, async () => {
    const keyPrefix = `test:margin:${randomUUID()}`;
    const slow = new OutboundLimiter({ redis: await redis(), keyPrefix, limits, guardMs: GUARD });
    const other = new OutboundLimiter({ redis: await redis(), keyPrefix, limits, guardMs: GUARD });
    limiters.push(slow, other);
    // One call of the slow process took 300 ms from grant to answer; the other process has seen none.
    slow.observeDelay("17841400003300001", "send_text", 300);
    await new Promise((r) => setTimeout(r, 100)); // the report reaches Redis
    expect(other.margin("send_text")).toBe(0);
    const at = await grants(LIMIT * 2 + 1, (i) => (i % 2 === 0 ? other : slow));
    expect(tightest(at)).toBeGreaterThanOrEqual(1_000 + GUARD + 300 - 5);
  });
});
