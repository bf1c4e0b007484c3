import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { OutboundLimiter } from "../../src/ratelimit/limiter.ts";
import { testRedisUrl } from "../helpers/redis.ts";

const REDIS_URL = testRedisUrl();
const prefix = `test:rl:${randomUUID()}`;
const clients: Redis[] = [];
const limiters: OutboundLimiter[] = [];

function rawClient(url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1 });
  c.on("error", () => {});
  clients.push(c);
  return c;
}

/** A client to the test Redis, connected. */
async function client(): Promise<Redis> {
  const c = rawClient(REDIS_URL);
  if (c.status !== "ready") await new Promise((resolve) => c.once("ready", resolve));
  return c;
}

function limiter(opts: ConstructorParameters<typeof OutboundLimiter>[0]): OutboundLimiter {
  // The client timestamps a grant after the call returns; on a loaded CI machine that can lag the
  // grant by more than the default 40 ms guard, so the tests give the limiter a wider one.
  const l = new OutboundLimiter({ keyPrefix: prefix, guardMs: 150, ...opts });
  limiters.push(l);
  return l;
}

/** Largest number of timestamps in any half-open window [t, t + windowMs). */
function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let max = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while ((t[i] ?? 0) - (t[j] ?? 0) >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

afterAll(async () => {
  for (const l of limiters) l.dispose();
  const c = new Redis(REDIS_URL);
  const keys = await c.keys(`${prefix}:*`);
  if (keys.length > 0) await c.del(...keys);
  await c.quit();
  for (const x of clients) x.disconnect();
});

describe("OutboundLimiter with Redis", () => {
  it("three processes never exceed 50 calls in any sliding second", async () => {
    const limits = { send_text: { points: 50, durationSeconds: 1 } };
    const ls = await Promise.all([0, 1, 2].map(async () => limiter({ redis: await client(), limits })));
    const granted: number[] = [];
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        (ls[i % 3] as OutboundLimiter).waitTurn("acct-1", "send_text").then(() => {
          granted.push(performance.now());
        }),
      ),
    );
    const elapsed = performance.now() - start;
    expect(granted).toHaveLength(300);
    const max = maxInWindow(granted, 1000);
    console.log(`300 calls in ${Math.round(elapsed)} ms; max in any 1000 ms window: ${max}`);
    expect(max).toBeLessThanOrEqual(50);
    // 300 calls at 50 a second cannot take less than 5 s; how close to that they come is
    // throughput, which bench/ measures (npm run bench), not a test on a machine of any load.
    expect(elapsed).toBeGreaterThanOrEqual(5000);
  }, 20_000);

  it("turns granted ahead leave at their moment, and three processes keep any second within the limit", async () => {
    const limits = { send_text: { points: 50, durationSeconds: 1 } };
    // No guard: each call is stamped when it leaves, the moment its departure is logged with, so
    // the stamps are what an observer without jitter would count, and one early call shows.
    const ls = await Promise.all(
      [0, 1, 2].map(async () => limiter({ redis: await client(), limits, guardMs: 0 })),
    );
    const left: number[] = [];
    let ahead = 0;
    let early = 0;
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const l = ls[i % 3] as OutboundLimiter;
        const turn = await l.takeTurn("acct-ahead", "send_text", undefined, { ahead: true });
        // Granted before its moment (Redis said how long to wait), however late the answer came.
        if (turn.readyAt > turn.askedAt) ahead++;
        await l.ready([turn]);
        const at = performance.now();
        if (at < turn.readyAt) early++;
        left.push(at);
        l.departed(turn, at);
      }),
    );
    expect(left).toHaveLength(200);
    expect(early).toBe(0);
    // The waiters of three processes queue on the pacer and the log: most turns are granted ahead.
    expect(ahead).toBeGreaterThan(100);
    expect(maxInWindow(left, 1000)).toBeLessThanOrEqual(50);
    // A turn not asked for ahead may leave at once, as before.
    const now = await (ls[0] as OutboundLimiter).takeTurn("acct-at-once", "send_text");
    expect(now.readyAt).toBe(now.askedAt);
    (ls[0] as OutboundLimiter).departed(now);
  }, 20_000);

  it("queued() tells a new caller that callers are lined up, and how long the first was told to wait", async () => {
    const l = limiter({ redis: await client(), limits: { send_text: { points: 1, durationSeconds: 10 } } });
    expect(l.queued("acct-lined", "send_text")).toBeUndefined();
    expect(await l.reserve("acct-lined", "send_text")).toEqual({ ok: true });
    const abort = new AbortController();
    const waiting = l.takeTurn("acct-lined", "send_text", abort.signal).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    // The place frees a window (10 s and the guard) after the first call: far past a 5 s wait.
    expect(l.queued("acct-lined", "send_text")).toBeGreaterThan(5_000);
    expect(l.queued("acct-other", "send_text")).toBeUndefined();
    abort.abort(new Error("gave up"));
    expect(await waiting).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(l.queued("acct-lined", "send_text")).toBeUndefined();
  });

  it("accounts and classes are independent", async () => {
    const l = limiter({
      redis: await client(),
      limits: {
        send_text: { points: 3, durationSeconds: 10 },
        send_media: { points: 2, durationSeconds: 10 },
      },
    });
    for (let i = 0; i < 3; i++) expect(await l.reserve("ind-a", "send_text")).toEqual({ ok: true });
    const over = await l.reserve("ind-a", "send_text");
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.retryAfterMs).toBeGreaterThan(9000);
    for (let i = 0; i < 3; i++) expect(await l.reserve("ind-b", "send_text")).toEqual({ ok: true });
    expect((await l.reserve("ind-b", "send_text")).ok).toBe(false);
    expect(await l.reserve("ind-a", "send_media")).toEqual({ ok: true });
    expect(await l.reserve("ind-a", "send_media")).toEqual({ ok: true });
    expect((await l.reserve("ind-a", "send_media")).ok).toBe(false);
    expect(l.degraded()).toBe(false);
  });

  it("private_reply 15 per 3 s holds across two instances", async () => {
    const limits = { private_reply: { points: 15, durationSeconds: 3 } };
    const ls = [limiter({ redis: await client(), limits }), limiter({ redis: await client(), limits })];
    const granted: number[] = [];
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (ls[i % 2] as OutboundLimiter).waitTurn("pr-1", "private_reply").then(() => {
          granted.push(performance.now());
        }),
      ),
    );
    expect(maxInWindow(granted, 3000)).toBeLessThanOrEqual(15);
    expect(performance.now() - start).toBeGreaterThanOrEqual(6000);
  }, 20_000);

  it("pauseUntil blocks every class for the account across instances, then ends", async () => {
    const a = limiter({ redis: await client() });
    const b = limiter({ redis: await client() });
    const until = Date.now() + 800;
    await a.pauseUntil("pz-1", until);
    for (const cls of ["send_text", "send_media", "private_reply", "conversations", "platform"] as const) {
      const r = await b.reserve("pz-1", cls);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.retryAfterMs).toBeGreaterThan(500);
    }
    expect(await b.reserve("pz-2", "send_text")).toEqual({ ok: true });
    await b.waitTurn("pz-1", "send_text");
    const at = Date.now();
    expect(at).toBeGreaterThanOrEqual(until - 5);
    expect(at).toBeLessThan(until + 1000);
    expect(await a.reserve("pz-1", "conversations")).toEqual({ ok: true });
  });

  it("observeUsage slows the platform class only", async () => {
    const l = limiter({ redis: await client(), limits: { platform: { points: 8, durationSeconds: 10 } } });
    l.observeUsage("use-1", 95);
    let n = 0;
    while ((await l.reserve("use-1", "platform")).ok) n++;
    expect(n).toBe(2);
    l.observeUsage("use-1", 10);
    while ((await l.reserve("use-1", "platform")).ok) n++;
    expect(n).toBe(8);
  });
});

describe("OutboundLimiter without a working Redis", () => {
  it("Redis on a closed port: insurance grants within the limit and degraded() is true", async () => {
    const l = limiter({
      redis: rawClient("redis://127.0.0.1:1"),
      limits: { send_text: { points: 20, durationSeconds: 1 } },
    });
    expect(l.degraded()).toBe(true);
    const granted: number[] = [];
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, () =>
        l.waitTurn("down-1", "send_text").then(() => granted.push(performance.now())),
      ),
    );
    expect(maxInWindow(granted, 1000)).toBeLessThanOrEqual(20);
    expect(performance.now() - start).toBeGreaterThanOrEqual(2000);
    expect(l.degraded()).toBe(true);
  }, 20_000);

  it("insurance keeps a process to its share while a learned margin holds the pacer", async () => {
    // Two sending processes: on insurance each keeps to half the limit. The margin's hold after
    // each grant once lasted one full-limit slot, which let each grant at the whole rate.
    const l = limiter({
      redis: rawClient("redis://127.0.0.1:1"),
      limits: { send_text: { points: 20, durationSeconds: 1 } },
      processes: 2,
    });
    l.observeDelay("share-1", "send_text", 50);
    expect(l.margin("send_text")).toBeGreaterThan(0);
    const granted: number[] = [];
    for (let i = 0; i < 25; i++) {
      await l.waitTurn("share-1", "send_text");
      granted.push(performance.now());
    }
    expect(maxInWindow(granted, 1000)).toBeLessThanOrEqual(10);
  }, 20_000);

  it("Redis disconnected mid-test: keeps limiting, degraded() flips", async () => {
    const c = await client();
    const l = limiter({ redis: c, limits: { conversations: { points: 2, durationSeconds: 1 } } });
    expect(await l.reserve("mid-1", "conversations")).toEqual({ ok: true });
    expect(l.degraded()).toBe(false);
    const closed = new Promise((resolve) => c.once("end", resolve));
    c.disconnect();
    await closed;
    expect(l.degraded()).toBe(true);
    const granted: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, () =>
        l.waitTurn("mid-1", "conversations").then(() => granted.push(performance.now())),
      ),
    );
    expect(maxInWindow(granted, 1000)).toBeLessThanOrEqual(2);
  }, 20_000);

  it("no Redis configured: memory limits and degraded() is false", async () => {
    const l = new OutboundLimiter({ limits: { send_media: { points: 10, durationSeconds: 1 } } });
    const granted: number[] = [];
    await Promise.all(
      Array.from({ length: 25 }, () =>
        l.waitTurn("mem-1", "send_media").then(() => granted.push(performance.now())),
      ),
    );
    expect(maxInWindow(granted, 1000)).toBeLessThanOrEqual(10);
    expect(l.degraded()).toBe(false);
    await l.pauseUntil("mem-1", Date.now() + 300);
    const r = await l.reserve("mem-1", "send_media");
    expect(r.ok).toBe(false);
  }, 20_000);

  it("no Redis: a call that leaves late holds the pacer from its departure, not its grant", async () => {
    // The first call of a process leaves long after its grant (fetch loads and connects on first
    // use: 380 ms in a CLI backfill on a busy machine). Spaced from the grants, the 1st and 3rd
    // calls then left 880 ms apart at 2/s.
    const l = new OutboundLimiter({
      guardMs: 20,
      limits: { conversations: { points: 2, durationSeconds: 1 } },
    });
    const left: number[] = [];
    const first = await l.takeTurn("late-1", "conversations");
    // While it has not left, no other turn is granted, even after a spacing (510 ms) has passed.
    const second = l.takeTurn("late-1", "conversations");
    let secondGranted = false;
    void second.then(() => {
      secondGranted = true;
    });
    await new Promise((r) => setTimeout(r, 600));
    expect(secondGranted).toBe(false);
    left.push(performance.now());
    l.departed(first, left[0]);
    for (const next of [second, l.takeTurn("late-1", "conversations")]) {
      const turn = await next;
      // Its moment is a spacing (510 ms) after the last departure, whenever the pacer's own hold
      // ended; as the gateway does, its call waits for that moment, checked on the clock.
      expect(turn.readyAt).toBeGreaterThanOrEqual((left.at(-1) as number) + 510);
      await l.ready([turn]);
      left.push(performance.now());
      l.departed(turn, left.at(-1));
    }
    // Three departures span at least D + guard (1,020 ms). The pacer's own holds end on timers of
    // whole milliseconds set from the event loop's cached time, early by up to that cache's lag
    // (1,018.65 ms was seen once in a CI run before the turns waited in `ready`); the fault this
    // checks left the calls 880 ms apart.
    expect((left[2] as number) - (left[0] as number)).toBeGreaterThanOrEqual(1_020);
    // A turn released unused no longer holds the others back.
    const unused = await l.takeTurn("late-2", "conversations");
    l.release(unused);
    const after = await Promise.race([
      l.takeTurn("late-2", "conversations").then(() => "granted"),
      new Promise((r) => setTimeout(() => r("blocked"), 2_000)),
    ]);
    expect(after).toBe("granted");
  }, 20_000);

  it("waitTurn honours an abort signal", async () => {
    const l = new OutboundLimiter();
    await l.pauseUntil("ab-1", Date.now() + 10_000);
    await expect(l.waitTurn("ab-1", "send_text", AbortSignal.timeout(100))).rejects.toThrow();
  });
});
