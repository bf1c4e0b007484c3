// Per-account outbound rate limiting for the Instagram API, shared by every process through Redis.
//
// GUARANTEE (the test in test/ratelimit/limiter.test.ts measures it):
//   For each (account, class) with limit L calls per D seconds, no window of D + guardMs
//   (guardMs defaults to 20 ms) ever contains more than L granted calls — a true sliding window,
//   not fixed windows (fixed windows let 2·L through around a window edge).
//   - With Redis, this holds across all processes sharing the Redis, on the Redis clock:
//     RateLimiterRedis runs a custom script (`customIncrTtlLuaScript`) that keeps a sliding log
//     (a sorted set of grant times, from Redis TIME) and grants only while fewer than L entries
//     are younger than D + guardMs. Classes with windows of a second or two are also paced, one
//     grant per (D + guardMs) / L on average (GCRA, at most 2 grants early to catch up on missed slots), which keeps the
//     arrival spread of calls small; longer windows
//     allow bursts up to L, and the (L+1)-th call waits until the oldest entry is
//     D + guardMs + 1 ms old.
//   - Without Redis (and in the insurance limiter), RateLimiterMemory paces calls: 1 point per
//     (D + guardMs) / L, so any L + 1 grants span at least D + guardMs. No bursts, same rate.
//   The guard absorbs the latency between the grant and the moment the call is actually made /
//   observed (network and event-loop jitter), so an observer timestamping calls on its own clock
//   sees ≤ L in any window of D as long as its jitter stays below guardMs. It costs ~2 % of
//   throughput on 1-second classes and nothing measurable on hourly ones. What the machine adds
//   on top (a loaded event loop, a CPU shared with other processes) is measured, not guessed:
//   the learned margin (MARGIN below) widens the window by it, so the guard need only cover the
//   network and the observer, and a 20 ms default gives ≥ 0.97 of the limit on a quiet machine.
//
// LATE GRANTS: a grant that reaches this process later than the guard after it asked (a stalled
// event loop, a GC pause) is left unused and the turn taken again: its calls would otherwise leave
// bunched together, later than the log thinks (`stale`; test/ratelimit/stalled-process.test.ts).
//
// REDIS FAILURE: every RateLimiterRedis has `rejectIfRedisNotReady` and an insuranceLimiter: the
// in-memory pacer above at 1/N of the limit, N being the number of processes that send
// (`processes`, OUTBOUND_WORKERS). While Redis is unreachable each process keeps sending within
// its share, so N processes together stay within L per D; if more processes run than configured,
// the excess is bounded by the outage itself: `degraded()` shows in /readyz, and Instagram answers
// over-limit calls with codes 4/17/32/613, which callers back off on.
//
// REDIS RETURN: a restarted Redis has lost its sliding logs, and none of them saw the insurance
// grants. So a process back on Redis first adds its own insurance grants of the last window to the
// log (seeding), and for the paced classes keeps its pacer as well, at its 1/N share, for one
// window plus the spread in which the other processes reconnect (ioredis retries at most every
// 2 s): until then another process may still be granting on insurance without having seeded.
// test/ratelimit/redis-restart.test.ts measures it: without this, 21 grants in a second of 20.
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Logger } from "../log/logger.ts";
import { type ApiClass, type ClassLimit, limitsFromOverrides } from "./classes.ts";

export type Reservation = { ok: true } | { ok: false; retryAfterMs: number };
/** A reservation that also says when its request to the limiter left (performance.now()): the
 * start of the call's lateness, which `fresh` and `observeDelay` measure from. */
export type Grant = { ok: true; askedAt: number } | { ok: false; retryAfterMs: number };

export interface OutboundLimiterOptions {
  /** Shared Redis. Its `rlflxIncr` command is redefined with the sliding-log script, so do not
   * share this client with other RateLimiterRedis instances that use the default script. */
  redis?: Redis;
  /** Prefix of every Redis key; default "threadbridge:rl". Limiter keys are
   * `<prefix>:<class>:<account>`, pauses `<prefix>:pause:<account>`. */
  keyPrefix?: string;
  limits?: Partial<Record<ApiClass, ClassLimit>>;
  /** Extra window length absorbing call/observation jitter; default 20 ms. */
  guardMs?: number;
  log?: Pick<Logger, "warn" | "info">;
  /** How many processes send for the same accounts (OUTBOUND_WORKERS). With Redis the limit is
   * shared exactly; without it (the insurance limiter) each process keeps to 1/N of it, so N
   * processes together stay within the limit. Default 1. */
  processes?: number;
}

// KEYS[1] = sorted set of grant times. ARGV (fixed by RateLimiterRedis): [1] points to consume,
// [2] whole seconds (unused), [3] limit, [4] window in seconds (may be fractional: D + guard).
// Returns {consumed, msBeforeNext}; consumed > limit means rejected (the library's contract).
const PACE_BURST = 2;
/** The learned margin never widens a window by more than this (a process that stalls for longer is
 * caught by the late-grant check instead). */
const MAX_MARGIN_MS = 500;
/** Windows up to this long are paced in Redis too (`paced` in the script). */
const PACED_WINDOW_MS = 2_000;
const SLIDING_LOG_LUA = `
local PACE_BURST = ${PACE_BURST}
local MAX_MARGIN_MS = ${MAX_MARGIN_MS}
local key = KEYS[1]
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local baseWindowMs = math.ceil(tonumber(ARGV[4]) * 1000)
-- The margin the sending processes measured (their calls' delay from grant to answer beyond the
-- usual, MARGIN below), shared by all: a call granted by one process is counted by every other.
local margin = tonumber(redis.call('GET', key .. ':margin') or '0')
if margin > MAX_MARGIN_MS then margin = MAX_MARGIN_MS end
local windowMs = baseWindowMs + margin
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Kept as long as the widest window may need them; counted within this grant's window.
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - baseWindowMs - MAX_MARGIN_MS))
local count = redis.call('ZCOUNT', key, '(' .. (now - windowMs), '+inf')
-- Per-second classes are also paced (GCRA): one grant per windowMs / limit on average, with up
-- to PACE_BURST grants early to make up for slots the waiters missed. A burst of L grants would
-- put L calls in flight at once, and their spread in arrival time is what an observer counts
-- against the limit; evenly spaced grants keep that spread small. Longer windows (750/hour) keep
-- their bursts, which agents need and which no jitter can push over an hour's limit.
local paced = windowMs <= ${PACED_WINDOW_MS}
local spacing = windowMs / limit
local tatKey = key .. ':tat'
local tat = 0
if paced then
  tat = tonumber(redis.call('GET', tatKey) or '0')
  if tat < now then tat = now end
  local early = tat - (PACE_BURST - 1) * spacing - now
  if early > 0 then
    return {limit + cost, math.ceil(early)}
  end
end
if count + cost <= limit then
  for i = 1, cost do
    redis.call('ZADD', key, now, now .. ':' .. (count + i))
  end
  redis.call('PEXPIRE', key, baseWindowMs + MAX_MARGIN_MS + 1)
  if paced then
    redis.call('SET', tatKey, tostring(tat + cost * spacing), 'PX', windowMs * 2)
  end
  return {count + cost, windowMs}
end
local idx = count + cost - limit - 1
local oldest = redis.call('ZRANGEBYSCORE', key, '(' .. (now - windowMs), '+inf', 'WITHSCORES', 'LIMIT', idx, 1)
local wait = tonumber(oldest[2]) + windowMs + 1 - now
if wait < 1 then wait = 1 end
return {limit + cost, wait}
`;

// MARGIN: a process reports the margin it measured; the larger of the reports of the last
// MARGIN_HOLD_MS stands (a smaller one replaces it only once it has expired).
const MARGIN_LUA = `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) >= current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`;

// A pause is only ever extended by another pause, never shortened.
const PAUSE_LUA = `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
`;

/** How far apart the processes may reconnect to a returning Redis: ioredis' longest retry delay. */
const RECONNECT_SPREAD_MS = 2_000;
/** How long degraded() stays true after a Redis error or an insurance use. */
const DEGRADED_HOLD_MS = 5_000;
/** Late grants in a row left unused before the lateness is taken for a slow Redis (`stale`). */
const STALE_STREAK_MAX = 3;
/** waitTurn re-checks at least this often (usage factor or pauses may change meanwhile). */
const MAX_SLEEP_MS = 1_000;
/** How many of a class's recent grant-to-answer delays the margin is learned from. */
const DELAY_SAMPLES = 100;
/** A reported margin stands this long unless a larger one replaces it. */
const MARGIN_HOLD_MS = 10_000;
/** Margins are rounded up to this step, so windows do not change with every call. */
const MARGIN_STEP_MS = 5;

/** RateLimiterMemory that reports when it is consumed (as the insurance of a Redis limiter). */
class Pacer extends RateLimiterMemory {
  onConsume: (() => void) | undefined;
  /** As an insurance: the window of the limit it stands in for. The calls Redis granted just
   * before it went away are not known here, so an outage starts with one window of waiting, after
   * which they are all too old to matter. */
  insuranceWindowMs: number | undefined;
  private lastUseAt = 0;
  private holdUntil = 0;
  /** As an insurance: per key, the times of its grants in the last window (seeded into Redis on
   * its return), and the time of its last grant (for the transition after the return). */
  private readonly grants = new Map<string, number[]>();
  private readonly lastGrant = new Map<string, number>();

  override async consume(
    key: string | number,
    pointsToConsume?: number,
    options?: Record<string, unknown>,
  ): Promise<RateLimiterRes> {
    this.onConsume?.();
    const window = this.insuranceWindowMs;
    if (window === undefined) return super.consume(key, pointsToConsume, options);
    const now = Date.now();
    if (now - this.lastUseAt > window) this.holdUntil = now + window;
    this.lastUseAt = now;
    if (now < this.holdUntil) throw new RateLimiterRes(0, this.holdUntil - now, 0, false);
    const res = await super.consume(key, pointsToConsume, options);
    const k = String(key);
    this.grants.set(k, [...this.recentGrants(k, now, window), now]);
    this.lastGrant.set(k, now);
    return res;
  }

  /** Paces `key` without counting as insurance use (the transition after Redis returns). */
  pace(key: string): Promise<RateLimiterRes> {
    return super.consume(key, 1);
  }

  /** The insurance grants of `key` still inside the window, handed over once (to Redis). */
  takeGrants(key: string): number[] {
    const recent = this.recentGrants(key, Date.now(), this.insuranceWindowMs ?? 0);
    this.grants.delete(key);
    return recent;
  }

  /** Whether `key` had an insurance grant in the last `ms`. */
  insuredWithin(key: string, ms: number): boolean {
    const last = this.lastGrant.get(key);
    if (last === undefined) return false;
    if (last > Date.now() - ms) return true;
    this.lastGrant.delete(key);
    return false;
  }

  private recentGrants(key: string, now: number, window: number): number[] {
    return (this.grants.get(key) ?? []).filter((t) => t > now - window);
  }
}

type Factor = 1 | 2 | 4;

export class OutboundLimiter {
  readonly limits: Readonly<Record<ApiClass, ClassLimit>>;
  private readonly redis: Redis | undefined;
  private readonly prefix: string;
  private readonly guardMs: number;
  private readonly log: Pick<Logger, "warn" | "info"> | undefined;
  private readonly pacers = new Map<ApiClass, Pacer>();
  private readonly stores = new Map<string, RateLimiterRedis | Pacer>();
  private readonly localPause = new Map<string, number>();
  private readonly factors = new Map<string, Factor>();
  private readonly queues = new Map<string, Promise<void>>();
  /** Per class: recent delays from grant to answer (ms), and the margin learned from them. */
  private readonly delays = new Map<ApiClass, number[]>();
  private readonly margins = new Map<ApiClass, number>();
  /** Per Redis margin key: the margin last reported there, and when. */
  private readonly reported = new Map<string, { margin: number; at: number }>();
  private lastTroubleAt = 0;
  private staleStreak = 0;
  private slowRedisTold = false;
  private readonly onRedisError: (err: Error) => void;
  private readonly processes: number;

  constructor(opts: OutboundLimiterOptions = {}) {
    this.limits = limitsFromOverrides(opts.limits);
    this.redis = opts.redis;
    this.prefix = opts.keyPrefix ?? "threadbridge:rl";
    this.guardMs = opts.guardMs ?? 20;
    if (!Number.isFinite(this.guardMs) || this.guardMs < 0) throw new Error("guardMs must be ≥ 0");
    this.log = opts.log;
    this.processes = opts.processes ?? 1;
    if (!Number.isInteger(this.processes) || this.processes < 1) throw new Error("processes must be ≥ 1");
    this.onRedisError = (err) => this.trouble(err);
    this.redis?.on("error", this.onRedisError);
  }

  /** Consume one call for `account` in `cls` if the limit allows it now; otherwise say how long
   * until it may. Never grants over the limit; throws only on programming errors. */
  async reserve(account: string, cls: ApiClass): Promise<Reservation> {
    const g = await this.grant(account, cls);
    return g.ok ? { ok: true } : g;
  }

  /** `reserve`, saying when the granting request left: see `Grant`. */
  async grant(account: string, cls: ApiClass): Promise<Grant> {
    if (!(cls in this.limits)) throw new Error(`unknown API class: ${String(cls)}`);
    if (typeof account !== "string" || account === "") throw new Error("account id required");
    const paused = await this.pauseRemainingMs(account);
    if (paused > 0) return { ok: false, retryAfterMs: paused };
    const factor = cls === "platform" ? (this.factors.get(account) ?? 1) : 1;
    let asked: number;
    try {
      if (this.redis?.status === "ready") await this.afterInsurance(account, cls);
      asked = performance.now();
      await this.store(cls, factor).consume(account, 1);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        return { ok: false, retryAfterMs: Math.max(1, Math.ceil(err.msBeforeNext)) };
      }
      throw err;
    }
    if (this.stale(performance.now() - asked, cls)) return { ok: false, retryAfterMs: 1 };
    // A slowed platform call also holds the in-memory pacer for `factor` slots, so memory mode
    // (and insurance) slow down the same way; harmless while Redis serves. A learned margin
    // spaces the pacer's grants as it widens Redis's window. A slot is this process's share: as
    // the insurance, the pacer grants one call per N slots (N processes), and a hold of one slot
    // would let it grant N times its share (redis-outage.test.ts saw 83 calls in a second of 50).
    const slots = factor * this.pacerSeconds(cls, this.margin(cls)) * this.pacerShare();
    if (factor > 1 || this.margin(cls) > 0) await this.pacer(cls).block(account, slots);
    return { ok: true, askedAt: asked };
  }

  /**
   * MARGIN. The guard is a fixed allowance for the time between a grant and the call's arrival at
   * Instagram; on a loaded or slow machine that time grows and spreads (a busy event loop, CPU
   * starved by other processes), and calls granted a window apart arrive less than a window
   * apart. So the caller reports how long each granted call took from asking for its grant
   * (`Grant.askedAt`: Redis's answer, and the wait for this process to read it, spread under load
   * too) to its answer (an upper bound of the time to its arrival), and the limiter widens the class's window by the
   * spread of the recent ones (their 98th percentile above their least, which the network's own
   * latency, the same for all, does not move; above zero for a process's first DELAY_SAMPLES). With Redis the margin is shared, since every
   * process's grants count against the others': the largest one reported recently stands.
   */
  observeDelay(account: string, cls: ApiClass, ms: number): void {
    if (!(cls in this.limits) || !Number.isFinite(ms) || ms < 0) return;
    const recent = this.delays.get(cls) ?? [];
    recent.push(ms);
    if (recent.length > DELAY_SAMPLES) recent.shift();
    this.delays.set(cls, recent);
    const sorted = [...recent].sort((a, b) => a - b);
    const high = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.98))] as number;
    // Until DELAY_SAMPLES calls show what this machine's usual delay is, none is taken for usual:
    // the first calls' delays count whole (a process's first call, or a stall during its first
    // ones, would otherwise go unmeasured), at the cost of a wider window for its first calls.
    const floor = recent.length < DELAY_SAMPLES ? 0 : (sorted[0] as number);
    const spread = high - floor;
    const margin = Math.min(MAX_MARGIN_MS, Math.ceil(spread / MARGIN_STEP_MS) * MARGIN_STEP_MS);
    this.margins.set(cls, margin);
    if (this.redis?.status === "ready") this.report(account, cls, margin);
  }

  /**
   * Whether a grant asked for at `askedAt` may still be used: the late-grant test of its arrival
   * (LATE GRANTS above) made again just before the call leaves. Between the grant's arrival and
   * the call the caller's own promises run (its turn's queue, the gateway), and a process that
   * stalls there would send late as surely as one that stalled waiting for Redis. A grant that
   * is no longer fresh is left unused, and the turn taken again.
   */
  fresh(cls: ApiClass, askedAt: number): boolean {
    return !this.stale(performance.now() - askedAt, cls);
  }

  /** The margin this process learned for `cls` (ms), for tests and the bench. */
  margin(cls: ApiClass): number {
    return this.margins.get(cls) ?? 0;
  }

  private report(account: string, cls: ApiClass, margin: number): void {
    const key = `${(this.store(cls, 1) as RateLimiterRedis).getKey(account)}:margin`;
    const last = this.reported.get(key);
    const now = Date.now();
    if (last && margin <= last.margin && now - last.at < MARGIN_HOLD_MS / 2) return;
    this.reported.set(key, { margin, at: now });
    this.redis?.eval(MARGIN_LUA, 1, key, String(margin), String(MARGIN_HOLD_MS)).catch((err: unknown) => {
      this.reported.delete(key);
      this.trouble(err);
    });
  }

  /** Wait until a call is granted. Calls of one process for one (account, class) line up, so
   * only one of them polls at a time. Resolves with the grant's `askedAt`; rejects with the
   * signal's reason when aborted. */
  waitTurn(account: string, cls: ApiClass, signal?: AbortSignal): Promise<number> {
    const qk = `${cls}\u0000${account}`;
    const prev = this.queues.get(qk) ?? Promise.resolve();
    const mine = prev.then(() => this.acquire(account, cls, signal));
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(qk, tail);
    void tail.then(() => {
      if (this.queues.get(qk) === tail) this.queues.delete(qk);
    });
    if (!signal) return mine;
    return new Promise<number>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      mine.then(
        (askedAt) => {
          signal.removeEventListener("abort", onAbort);
          resolve(askedAt);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  /** True while Redis is configured but not serving (not ready, or an error / insurance use in
   * the last 5 s): calls are then limited per process only. For /readyz. */
  degraded(): boolean {
    if (!this.redis) return false;
    return this.redis.status !== "ready" || Date.now() - this.lastTroubleAt < DEGRADED_HOLD_MS;
  }

  /** Refuse every class for `account` until `untilMs` (epoch ms), e.g. from
   * `estimated_time_to_regain_access`. Shared through Redis (PX expiry) and kept locally. */
  async pauseUntil(account: string, untilMs: number): Promise<void> {
    const ms = Math.ceil(untilMs - Date.now());
    if (ms <= 0) return;
    this.localPause.set(account, Math.max(this.localPause.get(account) ?? 0, untilMs));
    if (this.redis?.status !== "ready") return;
    try {
      await this.redis.eval(PAUSE_LUA, 1, this.pauseKey(account), String(ms));
    } catch (err) {
      this.trouble(err);
    }
  }

  /**
   * Feed the highest usage percentage from the platform usage headers (X-App-Usage /
   * X-Business-Use-Case-Usage) for `account`. Only the `platform` class slows down, per process:
   *   ≤ 75 % → normal; > 75 % → each call costs 2 slots (half the rate); > 90 % → 4 slots.
   * With Redis a call at factor f is granted only while the sliding log holds fewer than L/f
   * entries; in memory the pacer is held for f slots after each call.
   */
  observeUsage(account: string, maxPercent: number): void {
    const factor: Factor = maxPercent > 90 ? 4 : maxPercent > 75 ? 2 : 1;
    if (factor === 1) this.factors.delete(account);
    else this.factors.set(account, factor);
  }

  /** Stop listening to the Redis client (the client itself belongs to the caller). */
  dispose(): void {
    this.redis?.off("error", this.onRedisError);
  }

  private async acquire(account: string, cls: ApiClass, signal?: AbortSignal): Promise<number> {
    for (;;) {
      signal?.throwIfAborted();
      const r = await this.grant(account, cls);
      if (r.ok) return r.askedAt;
      await sleep(Math.min(r.retryAfterMs, MAX_SLEEP_MS), undefined, signal ? { signal } : {});
    }
  }

  private async pauseRemainingMs(account: string): Promise<number> {
    const now = Date.now();
    const localUntil = this.localPause.get(account);
    let remaining = 0;
    if (localUntil !== undefined) {
      if (localUntil <= now) this.localPause.delete(account);
      else remaining = localUntil - now;
    }
    if (this.redis?.status === "ready") {
      try {
        remaining = Math.max(remaining, await this.redis.pttl(this.pauseKey(account)));
      } catch (err) {
        this.trouble(err);
      }
    }
    return remaining;
  }

  /** The sliding window of a class: D + guard, in ms. */
  private windowMs(cls: ApiClass): number {
    return this.limits[cls].durationSeconds * 1000 + this.guardMs;
  }

  /** Seconds per call of the in-memory pacer: (D + guard + margin) / L. */
  private pacerSeconds(cls: ApiClass, marginMs = 0): number {
    const { points, durationSeconds } = this.limits[cls];
    return (durationSeconds * 1000 + this.guardMs + marginMs) / points / 1000;
  }

  /** How many processes share the limit the pacer keeps: all of it is this process's without
   * Redis; as the insurance of a Redis limiter, its 1/N share. */
  private pacerShare(): number {
    return this.redis ? this.processes : 1;
  }

  /** The in-memory pacer: the whole limit without Redis; the insurance of a Redis limiter, where
   * it holds this process to its 1/N share of the limit while Redis is away. */
  private pacer(cls: ApiClass): Pacer {
    let p = this.pacers.get(cls);
    if (!p) {
      p = new Pacer({
        points: 1,
        duration: this.pacerSeconds(cls) * this.pacerShare(),
        keyPrefix: `${this.prefix}:${cls}`,
      });
      if (this.redis) {
        p.onConsume = () => this.trouble(undefined);
        p.insuranceWindowMs = this.windowMs(cls);
      }
      this.pacers.set(cls, p);
    }
    return p;
  }

  private store(cls: ApiClass, factor: Factor): RateLimiterRedis | Pacer {
    if (!this.redis) return this.pacer(cls);
    const sk = `${cls}:${factor}`;
    let s = this.stores.get(sk);
    if (!s) {
      const { points, durationSeconds } = this.limits[cls];
      s = new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: `${this.prefix}:${cls}`,
        points: Math.max(1, Math.floor(points / factor)),
        duration: durationSeconds + this.guardMs / 1000,
        customIncrTtlLuaScript: SLIDING_LOG_LUA,
        rejectIfRedisNotReady: true,
        insuranceLimiter: this.pacer(cls),
      });
      this.stores.set(sk, s);
    }
    return s;
  }

  private pauseKey(account: string): string {
    return `${this.prefix}:pause:${account}`;
  }

  /** Back on Redis after insurance grants (REDIS RETURN above): seed them into the sliding log
   * once, and keep pacing a per-second class at this process's share through the transition.
   * Throws RateLimiterRes while the pacer says wait. */
  private async afterInsurance(account: string, cls: ApiClass): Promise<void> {
    const pacer = this.pacers.get(cls);
    if (!pacer) return;
    const window = this.windowMs(cls);
    const seeds = pacer.takeGrants(account);
    if (seeds.length > 0) {
      // The key the sliding-log script reads: the store's own, whatever its usage factor.
      const key = (this.store(cls, 1) as RateLimiterRedis).getKey(account);
      const members = seeds.flatMap((t, i) => [t, `${t}:insured:${i}`]);
      try {
        await this.redis
          ?.multi()
          .zadd(key, ...members)
          .pexpire(key, window + 1)
          .exec();
      } catch (err) {
        this.trouble(err);
      }
    }
    if (window <= PACED_WINDOW_MS) {
      const transition = window + RECONNECT_SPREAD_MS;
      if (pacer.insuredWithin(account, transition)) await pacer.pace(account);
    }
  }

  /**
   * Whether a grant that took `elapsedMs` to arrive must go unused. The log holds the grant's time
   * on Redis; the call leaves when this process gets to it. A process stalled meanwhile (a busy
   * event loop, a GC pause) would send calls
   * granted over a stretch of time all at once, closer together than the log allows for, and an
   * observer would count more than the limit in a window. So a grant that arrives later than the
   * guard is left unused (it stays in the log, which only makes the limiter stricter) and the turn
   * is taken again. A Redis whose every answer is slower than the guard is not a stall but a
   * configuration: after a few in a row the grant is used, and the operator is told once.
   */
  private stale(elapsedMs: number, cls: ApiClass): boolean {
    if (elapsedMs <= this.guardMs + this.margin(cls)) {
      this.staleStreak = 0;
      return false;
    }
    this.staleStreak += 1;
    if (this.staleStreak <= STALE_STREAK_MAX) return true;
    if (!this.slowRedisTold) {
      this.slowRedisTold = true;
      this.log?.warn(
        { elapsedMs: Math.round(elapsedMs), guardMs: this.guardMs, marginMs: this.margin(cls) },
        "rate limiter: Redis answers more slowly than the guard; raise IG_RATE_LIMIT_GUARD_MS",
      );
    }
    return false;
  }

  private trouble(err: unknown): void {
    // Not degraded(): the client's status has already left "ready" when its error event fires, and
    // the warning would then never be logged.
    const announced = Date.now() - this.lastTroubleAt < DEGRADED_HOLD_MS;
    this.lastTroubleAt = Date.now();
    if (!announced) {
      this.log?.warn(
        { err: err instanceof Error ? err.message : undefined },
        "rate limiter: Redis unavailable, limiting per process (insurance limiter)",
      );
    }
  }
}
