// Per-account outbound rate limiting for the Instagram API, shared by every process through Redis.
//
// GUARANTEE (test/ratelimit/limiter.test.ts, stalled-process.test.ts and slots.test.ts measure it):
//   For each (account, class) with limit L calls per D seconds, no window of D + guardMs
//   (guardMs defaults to 20 ms) ever contains more than L granted calls — a true sliding window,
//   not fixed windows (fixed windows let 2·L through around a window edge).
//   - Classes with windows of a second or two (the Send API's 100/s) get DEPARTURE SLOTS from
//     Redis (SLOT_LUA): times on Redis's clock, handed out in order to whichever process asks, up
//     to a window ahead. The asking process names an allowance a (half the guard, plus LATENESS
//     below): its call leaves within [slot, slot + a] or not at all. It maps the slot onto its own
//     clock (CLOCK below), sleeps until it and, just before the call leaves, checks it is not later
//     than that (`fresh`); a late slot is left unused and another taken. Redis grants a slot only
//     while fewer than L earlier calls may still leave after slot − (D + guard/2): so no L + 1
//     calls ever leave within D + guard/2, by construction, on a loaded machine as on a quiet one;
//     the guard's other half is for the network and the observer. At a = guard/2 slots are
//     (D + guard) / L apart: D / (D + guard) of the limit (0.980 at 20 ms), less unused slots.
//     What the log counts for a process's calls is widened further by the spread of its calls
//     from the check to their answer beyond the network's half (CALLS): that way is not checked.
//   - Longer windows (750/hour) keep a sliding log in Redis (SLIDING_LOG_LUA, run by
//     RateLimiterRedis: a sorted set of grant times from Redis TIME) and grant while fewer than L
//     entries are younger than D + guardMs: bursts up to L, which agents need and which no jitter
//     can push over an hour's limit; the (L+1)-th call waits until the oldest entry is
//     D + guardMs + 1 ms old.
//   - Without Redis (and in the insurance limiter), RateLimiterMemory paces calls: 1 point per
//     (D + guardMs) / L, so any L + 1 grants span at least D + guardMs. No bursts, same rate.
//
// Why slots and not a window widened by what the machine adds: the design before this one granted
// at the moment of asking (GCRA with a burst of 2) and widened everyone's window by a learned
// margin, the spread of grant-to-answer delays (Redis's round trip, the call and its answer). The
// bench's probe (bench/limiter-trace.ts) saw that margin at 420–500 ms of its 500 ms cap on the
// loaded machine, which caps the rate at two thirds of the limit, and most of what it measured
// (the answer's way back, Instagram's time) cannot make a call arrive early. A slot is known before
// it is due, so a slow answer from Redis no longer makes a call late; only this process's own
// lateness between its slot and its call does, and that is what `fresh` checks and LATENESS sizes.
//
// LATE GRANTS (the sliding-log and memory paths): a grant that reaches this process later than the
// guard after it asked (a stalled event loop, a GC pause) is left unused and the turn taken again:
// its calls would otherwise leave bunched together, later than the log thinks
// (test/ratelimit/stalled-process.test.ts).
//
// CLOCK: a slot is a time on Redis's clock, a call leaves on this process's. Every answer of the
// slot script carries Redis's TIME; a request's midpoint on the local monotonic clock is within
// half its round trip of that time. The offset is taken from the fastest of the recent requests
// (CLOCK_SAMPLES, CLOCK_MAX_AGE_MS), and its error (half that round trip) is paid on both sides:
// a call waits until slot + error and must leave by slot − error + allowance. A slow answer only
// shortens the time the process has before its slot; the lead (`lead`) asks for slots a median
// round trip ahead, so that the answer usually arrives first. Not further: when the slots reserved
// ahead run short, the ones between the last of them and now + lead are never used (the bench lost
// a fifth of the limit at load 7 with a lead at the 95th percentile: 0.546 against 0.665 at p50),
// and an answer a little late still leaves within the allowance (LATENESS widens it if not).
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
/** A turn: the call may leave from `leaveAt` and must have left by `leaveBy` (performance.now()
 * of this process), or be left unused (`fresh`). */
export type Grant = { ok: true; leaveAt: number; leaveBy: number } | { ok: false; retryAfterMs: number };

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

/** Windows up to this long get departure slots (SLOT_LUA); longer ones the sliding log. */
const PACED_WINDOW_MS = 2_000;

// KEYS[1] = the class's log for the account: for each slot, the latest moment its call may leave
// (slot + allowance); KEYS[2] = the next free slot; KEYS[3] = the account's pause. ARGV: [1] limit,
// [2] window (ms: D + half the guard, the other half being the network's), [3] lead (ms: no slot
// sooner than this after now), [4] horizon (ms: no slot later than lead + this after now; refused
// instead, with the time to ask again), [5] allowance (ms: how late after its slot the asking
// process may let the call leave). Returns {granted 0/1, ms from now to the slot (or to ask again),
// Redis TIME seconds, microseconds}, numbers as strings (Lua would truncate them to integers).
//
// Why the log holds latest departures: calls j leave within [slot_j, slot_j + allowance_j]. If a
// new slot s has fewer than L earlier calls whose latest departure lies after s - window, no L + 1
// calls can leave within a window, whatever allowances the processes asked for: the binding case
// is every earlier call leaving as late as it may and the new one as early. With one allowance a
// for all, this spaces slots (window + a) / L apart, which the next free slot anticipates.
const SLOT_LUA = `
local limit = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local lead = tonumber(ARGV[3])
local horizon = tonumber(ARGV[4])
local allowance = tonumber(ARGV[5])
local t = redis.call('TIME')
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return {0, tostring(paused), t[1], t[2]} end
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local slot = tonumber(redis.call('GET', KEYS[2]) or '0')
if slot < now + lead then slot = now + lead end
-- The log also holds the grants a process made on its insurance while Redis was away (seeded on
-- its return), which no next free slot knows of.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.3f', now - windowMs))
local from = '(' .. string.format('%.3f', slot - windowMs)
local count = redis.call('ZCOUNT', KEYS[1], from, '+inf')
if count >= limit then
  local e = redis.call('ZRANGEBYSCORE', KEYS[1], from, '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
  slot = tonumber(e[2]) + windowMs
end
if slot - now - lead > horizon then
  return {0, string.format('%.3f', slot - now - lead - horizon), t[1], t[2]}
end
local latest = string.format('%.3f', slot + allowance)
redis.call('ZADD', KEYS[1], latest, string.format('%.3f', slot))
local keep = math.ceil(slot + allowance - now + windowMs) + 1
-- Kept as long as any process's widest allowance may need its entries, not only this one's.
redis.call('PEXPIRE', KEYS[1], keep + 1000)
redis.call('SET', KEYS[2], string.format('%.3f', slot + (windowMs + allowance) / limit), 'PX', keep)
return {1, string.format('%.3f', slot - now), t[1], t[2]}
`;

// The sliding log for the classes without slots (windows longer than PACED_WINDOW_MS), run by
// RateLimiterRedis. KEYS[1] = sorted set of grant times. ARGV (fixed by RateLimiterRedis):
// [1] points to consume, [2] whole seconds (unused), [3] limit, [4] window in seconds (D + guard).
// Returns {consumed, msBeforeNext}; consumed > limit means rejected (the library's contract).
const SLIDING_LOG_LUA = `
local key = KEYS[1]
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local windowMs = math.ceil(tonumber(ARGV[4]) * 1000)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - windowMs))
local count = redis.call('ZCOUNT', key, '(' .. (now - windowMs), '+inf')
if count + cost <= limit then
  for i = 1, cost do
    redis.call('ZADD', key, now, now .. ':' .. (count + i))
  end
  redis.call('PEXPIRE', key, windowMs + 1)
  return {count + cost, windowMs}
end
local idx = count + cost - limit - 1
local oldest = redis.call('ZRANGEBYSCORE', key, '(' .. (now - windowMs), '+inf', 'WITHSCORES', 'LIMIT', idx, 1)
local wait = tonumber(oldest[2]) + windowMs + 1 - now
if wait < 1 then wait = 1 end
return {limit + cost, wait}
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
/** LATENESS: how many recent wake-ups the allowance is widened by, in what steps, how far. */
const LATENESS_SAMPLES = 100;
const LATENESS_STEP_MS = 5;
const LATENESS_MAX_MS = 500;
/** CLOCK: how many recent slot requests, and of how long ago, the offset is taken from. */
const CLOCK_SAMPLES = 64;
const CLOCK_MAX_AGE_MS = 10_000;
/** The lead: slots are asked for this far ahead of the median of the recent round trips, within
 * these bounds (CLOCK above). */
const LEAD_SAMPLES = 50;
const LEAD_MIN_MS = 2;
const LEAD_MAX_MS = 1_000;

/** Redis's clock against this process's (CLOCK above): the offset of the fastest recent request,
 * and its error. */
class RedisClock {
  private readonly samples: { rtt: number; offset: number; at: number }[] = [];
  private readonly rtts: number[] = [];

  /** Records one request (asked and answered on performance.now(), Redis's time in ms). */
  observe(asked: number, answered: number, redisMs: number): { offset: number; errorMs: number } {
    const rtt = answered - asked;
    this.samples.push({ rtt, offset: redisMs - (asked + answered) / 2, at: answered });
    while (
      this.samples.length > CLOCK_SAMPLES ||
      (this.samples[0] as { at: number }).at < answered - CLOCK_MAX_AGE_MS
    )
      this.samples.shift();
    this.rtts.push(rtt);
    if (this.rtts.length > LEAD_SAMPLES) this.rtts.shift();
    let best = this.samples[0] as { rtt: number; offset: number };
    for (const x of this.samples) if (x.rtt < best.rtt) best = x;
    // Half the round trip, and a little for the clocks' resolution and drift within the samples' age.
    return { offset: best.offset, errorMs: best.rtt / 2 + 0.1 };
  }

  /** How far ahead to ask for a slot: past the median of recent round trips. */
  lead(): number {
    if (this.rtts.length === 0) return LEAD_MIN_MS * 5;
    const sorted = [...this.rtts].sort((a, b) => a - b);
    const p50 = sorted[Math.floor((sorted.length - 1) * 0.5)] as number;
    return Math.min(LEAD_MAX_MS, Math.max(LEAD_MIN_MS, Math.ceil(p50 + 1)));
  }
}

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

/** The Redis client with the slot script defined on it (SLOT_LUA). */
type SlotClient = {
  threadbridgeSlot(...args: string[]): Promise<[number, string, string, string]>;
};

/** waitTurn gave up: the limiter asked for a wait longer than the caller would wait. */
export class TurnTooFar extends Error {
  override name = "TurnTooFar";
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super(`the next turn is ${retryAfterMs} ms away`);
    this.retryAfterMs = retryAfterMs;
  }
}

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
  private readonly clock = new RedisClock();
  /** Per class with slots: how late this process woke for its recent slots (ms; LATENESS). */
  private readonly lateness = new Map<ApiClass, number[]>();
  /** Per class: recent times from `fresh` to the call's answer (ms; CALLS). */
  private readonly calls = new Map<ApiClass, number[]>();
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
    // Defined once per client (ioredis keeps the script's hash and falls back to EVAL).
    if (this.redis && !("threadbridgeSlot" in this.redis))
      this.redis.defineCommand("threadbridgeSlot", { numberOfKeys: 3, lua: SLOT_LUA });
  }

  /** Consume one call for `account` in `cls` if the limit allows it now (for a class with slots:
   * if the next slot is the soonest one this process can be given, which it waits for); otherwise
   * say how long until it may. Never grants over the limit; throws only on programming errors. */
  async reserve(account: string, cls: ApiClass): Promise<Reservation> {
    const g = await this.grant(account, cls, 0);
    if (!g.ok) return g;
    await this.until(g.leaveAt);
    return this.onTime(g.leaveBy) ? { ok: true } : { ok: false, retryAfterMs: 1 };
  }

  /**
   * A turn for one call of `cls` for `account`, or how long until one may be asked for. With a
   * slot (classes of a second or two, Redis serving) the turn may lie up to `horizonMs` past the
   * soonest one this process can be given; the caller waits until `leaveAt` and checks `fresh`
   * before the call leaves.
   */
  async grant(account: string, cls: ApiClass, horizonMs?: number): Promise<Grant> {
    if (!(cls in this.limits)) throw new Error(`unknown API class: ${String(cls)}`);
    if (typeof account !== "string" || account === "") throw new Error("account id required");
    // A class with slots reads the shared pause in its slot request: one round trip, not two.
    const paused = await this.pauseRemainingMs(account, this.redis?.status === "ready" && this.slotted(cls));
    if (paused > 0) return { ok: false, retryAfterMs: paused };
    const factor = cls === "platform" ? (this.factors.get(account) ?? 1) : 1;
    let asked: number;
    try {
      if (this.redis?.status === "ready") {
        await this.afterInsurance(account, cls);
        if (this.slotted(cls)) {
          const slot = await this.slot(account, cls, factor, horizonMs ?? this.windowMs(cls));
          if (slot) return slot;
          // Redis failed the request: this call goes by the insurance pacer.
          asked = performance.now();
          await this.pacer(cls).consume(account, 1);
          return this.granted(account, cls, factor, asked, performance.now());
        }
      }
      asked = performance.now();
      await this.store(cls, factor).consume(account, 1);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        return { ok: false, retryAfterMs: Math.max(1, Math.ceil(err.msBeforeNext)) };
      }
      throw err;
    }
    const answered = performance.now();
    if (this.stale(answered - asked)) return { ok: false, retryAfterMs: 1 };
    return this.granted(account, cls, factor, asked, answered);
  }

  /**
   * Whether a turn that must leave by `leaveBy` (`Grant`) may still be used: the test made just
   * before the call leaves. Between the turn and the call the caller's own promises run (its
   * timer, the gateway), and a process that stalls there would send late, closer to the next
   * turns than the limit allows. A turn that is no longer fresh is left unused, and another taken.
   */
  fresh(_cls: ApiClass, leaveBy: number): boolean {
    return performance.now() <= leaveBy;
  }

  /** Wait until a call is granted, and until its turn to leave. Without slots, calls of one
   * process for one (account, class) line up, so only one of them polls at a time; slots are
   * asked for by each caller, so that they are reserved before they are due. Resolves with the
   * turn's `leaveBy` (for `fresh`); rejects with the signal's reason when aborted, and with a
   * TurnTooFar when a wait longer than `giveUpAfterMs` is asked (the caller defers instead). */
  waitTurn(account: string, cls: ApiClass, signal?: AbortSignal, giveUpAfterMs?: number): Promise<number> {
    const mine = this.slotted(cls)
      ? this.acquire(account, cls, signal, giveUpAfterMs)
      : this.queued(account, cls, signal, giveUpAfterMs);
    if (!signal) return mine;
    return new Promise<number>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      mine.then(
        (leaveBy) => {
          signal.removeEventListener("abort", onAbort);
          resolve(leaveBy);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  private queued(
    account: string,
    cls: ApiClass,
    signal?: AbortSignal,
    giveUpAfterMs?: number,
  ): Promise<number> {
    const qk = `${cls}\u0000${account}`;
    const prev = this.queues.get(qk) ?? Promise.resolve();
    const mine = prev.then(() => this.acquire(account, cls, signal, giveUpAfterMs));
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(qk, tail);
    void tail.then(() => {
      if (this.queues.get(qk) === tail) this.queues.delete(qk);
    });
    return mine;
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

  private async acquire(
    account: string,
    cls: ApiClass,
    signal?: AbortSignal,
    giveUpAfterMs?: number,
  ): Promise<number> {
    const end = giveUpAfterMs === undefined ? undefined : performance.now() + giveUpAfterMs;
    for (;;) {
      signal?.throwIfAborted();
      const r = await this.grant(account, cls);
      if (r.ok) {
        await this.until(r.leaveAt, signal);
        if (this.slotted(cls)) this.observeLateness(cls, performance.now() - r.leaveAt);
        // A turn this process got to too late (its answer came after the turn, or the timer
        // fired late) is left unused, and another taken.
        if (this.onTime(r.leaveBy)) return r.leaveBy;
        continue;
      }
      if (end !== undefined && performance.now() + r.retryAfterMs > end) throw new TurnTooFar(r.retryAfterMs);
      await sleep(Math.min(r.retryAfterMs, MAX_SLEEP_MS), undefined, signal ? { signal } : {});
    }
  }

  /**
   * LATENESS. A process that wakes for its slots later than half the guard (a loaded machine: its
   * timers fire late, its event loop is busy with other work) would leave most of them unused, and
   * ask again for each: the machine's load would then cost a share of the limit and a round trip
   * to Redis per lost slot. So each process keeps the lateness of its recent wake-ups and asks for
   * slots with an allowance widened by what went beyond half the guard in the 95th percentile of
   * them (in 5 ms steps, at most 500 ms). The log (SLOT_LUA) spaces the slots by the allowances
   * asked for, so the limit holds whatever they are; a quiet machine, late by a millisecond or two,
   * asks for none, and keeps D / (D + guard) of the limit.
   */
  private observeLateness(cls: ApiClass, ms: number): void {
    const recent = this.lateness.get(cls) ?? [];
    recent.push(Math.max(0, ms));
    if (recent.length > LATENESS_SAMPLES) recent.shift();
    this.lateness.set(cls, recent);
  }

  /** The widening of this process's allowance (LATENESS), in ms. */
  lateMargin(cls: ApiClass): number {
    const recent = this.lateness.get(cls);
    if (!recent || recent.length === 0) return 0;
    const sorted = [...recent].sort((a, b) => a - b);
    const p95 = sorted[Math.floor((sorted.length - 1) * 0.95)] as number;
    return this.step(p95 - this.guardMs / 2);
  }

  /**
   * CALLS. What `fresh` checks is the moment the call is let go; the way from there to Instagram
   * (the gateway's own work, the HTTP client, a busy event loop, the network) spreads too on a
   * loaded machine, and is counted by whoever counts arrivals. The gateway reports, per call, the
   * time from `fresh` to the answer; the spread of the last 100 (95th percentile above their
   * least: the network's and Instagram's own time, the same for all, do not move it; above zero
   * for a process's first 100) widens what
   * the slot log counts for this process's calls beyond the network's half of the guard, and the
   * in-memory pacer's spacing by all of it (there the guard covers the grant's own lateness).
   */
  observeCall(cls: ApiClass, ms: number): void {
    if (!(cls in this.limits) || !Number.isFinite(ms) || ms < 0) return;
    const recent = this.calls.get(cls) ?? [];
    recent.push(ms);
    if (recent.length > LATENESS_SAMPLES) recent.shift();
    this.calls.set(cls, recent);
  }

  /** The spread of this process's recent calls from `fresh` to their answer (CALLS), in ms. */
  private callSpread(cls: ApiClass): number {
    const recent = this.calls.get(cls);
    if (!recent || recent.length === 0) return 0;
    const sorted = [...recent].sort((a, b) => a - b);
    // Until LATENESS_SAMPLES calls show what this machine's usual time is, none is taken for
    // usual: the first calls count whole (a stall during a process's first calls would otherwise
    // go unmeasured; retries-within-limit.test.ts saw 6 calls in a second of 5 without this).
    const floor = recent.length < LATENESS_SAMPLES ? 0 : (sorted[0] as number);
    return (sorted[Math.floor((sorted.length - 1) * 0.95)] as number) - floor;
  }

  /** A widening in LATENESS_STEP_MS steps, at most LATENESS_MAX_MS; 0 for none. */
  private step(ms: number): number {
    if (ms <= 0) return 0;
    return Math.min(LATENESS_MAX_MS, Math.ceil(ms / LATENESS_STEP_MS) * LATENESS_STEP_MS);
  }

  /** Whether a turn that must leave by `leaveBy` may still leave (`fresh`; the limiter's own
   * check when its caller wakes for the turn). */
  private onTime(leaveBy: number): boolean {
    return performance.now() <= leaveBy;
  }

  /** Sleeps until `at` (performance.now()). */
  private async until(at: number, signal?: AbortSignal): Promise<void> {
    const wait = at - performance.now();
    if (wait > 0) await sleep(Math.ceil(wait), undefined, signal ? { signal } : {});
  }

  /** Whether `cls` gets departure slots: a window of a second or two, and Redis configured. */
  private slotted(cls: ApiClass): boolean {
    return this.redis !== undefined && this.windowMs(cls) <= PACED_WINDOW_MS;
  }

  /** A departure slot from Redis (GUARANTEE, CLOCK above), or undefined when Redis failed. */
  private async slot(
    account: string,
    cls: ApiClass,
    factor: Factor,
    horizonMs: number,
  ): Promise<Grant | undefined> {
    const key = this.logKey(cls, account);
    const limit = Math.max(1, Math.floor(this.limits[cls].points / factor));
    const lead = this.clock.lead();
    // How late after its slot this process may let the call leave: half the guard, and what this
    // process has lately been late by beyond it (LATENESS).
    const allowance = this.guardMs / 2 + this.lateMargin(cls);
    // In the log the call may leave later still by what the way from `fresh` to Instagram spreads
    // beyond the network's half of the guard (CALLS): that part is not checked before it leaves.
    const logged = allowance + this.step(Math.max(0, this.callSpread(cls) - this.guardMs / 2));
    const asked = performance.now();
    let answer: [number, string, string, string];
    try {
      answer = await (this.redis as unknown as SlotClient).threadbridgeSlot(
        key,
        `${key}:next`,
        this.pauseKey(account),
        String(limit),
        String(this.limits[cls].durationSeconds * 1000 + this.guardMs / 2),
        String(lead),
        String(horizonMs),
        String(logged),
      );
    } catch (err) {
      this.trouble(err);
      return undefined;
    }
    const answered = performance.now();
    const [granted, ms, sec, usec] = answer;
    const redisNow = Number(sec) * 1000 + Number(usec) / 1000;
    const { offset, errorMs } = this.clock.observe(asked, answered, redisNow);
    if (Number(granted) !== 1) return { ok: false, retryAfterMs: Math.max(1, Math.ceil(Number(ms))) };
    const at = redisNow + Number(ms) - offset;
    const leaveAt = at + errorMs;
    let leaveBy = at - errorMs + allowance;
    if (leaveBy <= leaveAt) {
      // Redis is so far away that even its fastest answers leave the slot's place on this clock
      // more uncertain than half the guard: the guard is too small for this deployment.
      leaveBy = leaveAt + 1;
      if (!this.slowRedisTold) {
        this.slowRedisTold = true;
        this.log?.warn(
          { roundTripMs: Math.round(errorMs * 2), guardMs: this.guardMs },
          "rate limiter: Redis answers more slowly than the guard; raise IG_RATE_LIMIT_GUARD_MS",
        );
      }
    }
    return { ok: true, leaveAt, leaveBy };
  }

  /** A grant made now (sliding log, memory or insurance), asked for at `asked`, answered at
   * `answered`: it may leave at once, and by the guard after it was asked for. */
  private async granted(
    account: string,
    cls: ApiClass,
    factor: Factor,
    asked: number,
    answered: number,
  ): Promise<Grant> {
    // A slowed platform call also holds the in-memory pacer for `factor` slots, so memory mode
    // (and insurance) slow down the same way; harmless while Redis serves. A slot is this
    // process's share: as the insurance, the pacer grants one call per N slots (N processes), and
    // a hold of one slot would let it grant N times its share (redis-outage.test.ts saw 83 calls
    // in a second of 50).
    // The spread of the calls (CALLS) widens the pacer's spacing as well, by a guard at least: here
    // a call may leave a guard after its grant and then spread on its way, and before a process's
    // first answers nothing says how much (retries-within-limit.test.ts and send-api-budget.test.ts
    // counted one call over the limit in about one run of three under load without that floor).
    const spread = this.step(Math.max(this.guardMs, this.callSpread(cls)));
    if (factor > 1 || spread > 0)
      await this.pacer(cls).block(account, factor * this.pacerSeconds(cls, spread) * this.pacerShare());
    // A grant used although it came late (a Redis slower than the guard every time, `stale`)
    // has the guard from its arrival.
    return { ok: true, leaveAt: answered, leaveBy: Math.max(asked, answered - this.guardMs) + this.guardMs };
  }

  private async pauseRemainingMs(account: string, localOnly = false): Promise<number> {
    const now = Date.now();
    const localUntil = this.localPause.get(account);
    let remaining = 0;
    if (localUntil !== undefined) {
      if (localUntil <= now) this.localPause.delete(account);
      else remaining = localUntil - now;
    }
    if (this.redis?.status === "ready" && !localOnly) {
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

  /** Seconds per call of the in-memory pacer: (D + guard + widening) / L. */
  private pacerSeconds(cls: ApiClass, wideningMs = 0): number {
    const { points, durationSeconds } = this.limits[cls];
    return (durationSeconds * 1000 + this.guardMs + wideningMs) / points / 1000;
  }

  /** The Redis key of a class's log for `account` (the sliding log's, whatever its usage factor). */
  private logKey(cls: ApiClass, account: string): string {
    return `${this.prefix}:${cls}:${account}`;
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
      const key = this.logKey(cls, account);
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
   * Whether a grant that took `elapsedMs` to arrive must go unused (the sliding-log and memory
   * paths; slots are checked by `fresh` against their own time). The log holds the grant's time on
   * Redis; the call leaves when this process gets to it. A process stalled meanwhile (a busy event
   * loop, a GC pause) would send calls granted over a stretch of time all at once, closer together
   * than the log allows for, and an observer would count more than the limit in a window. So a
   * grant that arrives later than the guard is left unused (it stays in the log, which only makes
   * the limiter stricter) and the turn is taken again. A Redis whose every answer is slower than
   * the guard is not a stall but a configuration: after a few in a row the grant is used, and the
   * operator is told once.
   */
  private stale(elapsedMs: number): boolean {
    if (elapsedMs <= this.guardMs) {
      this.staleStreak = 0;
      return false;
    }
    this.staleStreak += 1;
    if (this.staleStreak <= STALE_STREAK_MAX) return true;
    if (!this.slowRedisTold) {
      this.slowRedisTold = true;
      this.log?.warn(
        { elapsedMs: Math.round(elapsedMs), guardMs: this.guardMs },
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
