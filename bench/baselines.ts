// The floors the other figures are read against, measured in the same run on the same machine:
// single-row Postgres inserts and Redis round trips. The bare express handler is bench/bare-server.ts.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import pg from "pg";
import { OutboundLimiter } from "../src/ratelimit/limiter.ts";
import { scaled } from "./quick.ts";
import { p50p99 } from "./stats.ts";

const INSERT_SECONDS = scaled(5, 2);
const ROUND_TRIPS = scaled(5000, 1000);
export const INSERT_CLIENTS = 4;

export interface Latency {
  p50: number;
  p99: number;
}

/** Rows per second of `INSERT … VALUES (one row)`, each its own transaction (autocommit), from
 * `clients` connections at once into a scratch table. */
export async function singleRowInserts(dbUrl: string, clients: number): Promise<number> {
  const conns = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      return c;
    }),
  );
  const table = `bench_scratch_${randomBytes(4).toString("hex")}`;
  try {
    await conns[0]?.query(
      `CREATE TABLE ${table} (id bigserial PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
    );
    const end = performance.now() + INSERT_SECONDS * 1000;
    const counts = await Promise.all(
      conns.map(async (c) => {
        let n = 0;
        while (performance.now() < end) {
          await c.query(`INSERT INTO ${table} (body) VALUES ($1)`, ["Hi, is this still available?"]);
          n++;
        }
        return n;
      }),
    );
    return counts.reduce((a, b) => a + b, 0) / INSERT_SECONDS;
  } finally {
    await conns[0]?.query(`DROP TABLE IF EXISTS ${table}`);
    await Promise.all(conns.map((c) => c.end()));
  }
}

async function timeEach(n: number, call: (i: number) => Promise<unknown>): Promise<Latency> {
  for (let i = 0; i < 100; i++) await call(i); // connection and JIT warm-up
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(i);
    ms.push(performance.now() - t0);
  }
  return p50p99(ms);
}

/** Redis round trips from one ioredis client, one call at a time: PING, and SET/GET of a small value. */
export async function redisRoundTrips(redisUrl: string): Promise<{ ping: Latency; setGet: Latency }> {
  const redis = new Redis(redisUrl);
  const key = `bench:rtt:${randomBytes(4).toString("hex")}`;
  try {
    const ping = await timeEach(ROUND_TRIPS, () => redis.ping());
    const setGet = await timeEach(ROUND_TRIPS, (i) =>
      i % 2 === 0 ? redis.set(key, String(i)) : redis.get(key),
    );
    return { ping, setGet };
  } finally {
    await redis.del(key);
    await redis.quit();
  }
}

/** One OutboundLimiter.reserve (the departure log's grant script, which reads the pause too; the
 * departure report that follows is not awaited) against the same Redis, on a class whose limit is
 * never reached, so every call is a grant. */
export async function limiterReserve(redisUrl: string): Promise<Latency> {
  const redis = new Redis(redisUrl);
  const keyPrefix = `bench:rl:${randomBytes(4).toString("hex")}`;
  // Until the client is ready the limiter falls back to its in-memory pacer, which is not measured here.
  await redis.ping();
  const limiter = new OutboundLimiter({
    redis,
    keyPrefix,
    limits: { private_reply: { points: 1_000_000, durationSeconds: 3600 } },
  });
  try {
    return await timeEach(ROUND_TRIPS, async () => {
      const r = await limiter.reserve("17841400000000001", "private_reply");
      if (!r.ok) throw new Error("limiter bench: a reservation under the limit was refused");
    });
  } finally {
    limiter.dispose();
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}
