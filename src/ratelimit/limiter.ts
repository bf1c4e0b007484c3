// Per-account outbound rate limiting for the Instagram API, shared by every process through Redis.
//
// GUARANTEE (test/ratelimit/limiter.test.ts, stalled-process.test.ts, departures.test.ts):
//   For each (account, class) with limit L calls per D seconds, no window of D seconds at the
//   observer (Instagram) holds more than L calls, as long as the observer's own jitter (the time
//   from a call's first byte leaving this process to the observer's clock stamping it, beyond its
//   least) stays below guardMs (default 20 ms) — a true sliding window, not fixed windows.
//   - With Redis, across all processes sharing it: a DEPARTURE LOG (GRANT_LUA), a sorted set per
//     (class, account) holding, for every call granted, an upper bound of the moment it left.
//     While a call has not yet left, its entry is PENDING (scored HOLD_MS ahead, so it counts in
//     every window); once it has, the caller reports when (`departed`: the moment its first
//     byte was written, from src/outbound/departures.ts) and the entry takes that time. A grant
//     for a call leaving at `at` (Redis time: `now`, or later for a grant made ahead, below) is made
//     only while fewer than L entries lie after at − (D + guard).
//     Proof: take any L + 1 calls arriving within D at the observer and k the one granted last.
//     Every other one was in the log when k was granted; pending, it counted; departed at s_j, its
//     score is ≥ s_j, and s_j > arrival_j − jitter ≥ arrival_k − D − jitter ≥ at_k − D − guard
//     (k left at or after at_k), so it counted too: L counted, and k was not granted. Nothing in
//     this depends on how long the processes take between a grant and the call (a loaded machine,
//     a blocked event loop, a slow HTTP client): a late call is logged late.
//     GRANT AHEAD: a caller that waits for its turn's moment (`ahead`, then `ready` right before
//     the call: the gateway) may be granted up to GRANT_AHEAD_MS before it. Redis answers with
//     the ms until the moment, which the caller counts from the answer's arrival, after Redis's
//     `now`: its call leaves at or after at_k, as the proof asks. The ask, the answer and the way
//     to the call then happen before the moment instead of after it, where each cycle of L calls
//     paid them (the rate below).
//     Classes with windows of a second or two are also paced (GCRA: one grant per
//     (D + guard) / L on average, at most PACE_BURST early), so they go out evenly rather than in
//     bursts; longer windows (750/hour) allow bursts up to L.
//   - Without Redis (and in the insurance limiter), RateLimiterMemory paces calls: 1 point per
//     (D + guard + margin) / L, counted from when each call LEFT (MEMORY DEPARTURES below), so
//     any L + 1 departures span at least that; LATE GRANTS below keep a grant from being used
//     much later than it was made; the margin (MARGIN below) is learned from the calls' delays.
//     This is the within-one-process fallback.
//   Throughput: the log spaces the L-th next call D + guard after a call LEFT, so the rate is
//   L / (D + guard + the delay from a call's moment to its departure): 0.980 of the limit at 20 ms
//   and no delay. Granted ahead, that delay is the wake-up from `ready`'s sleep and the request's
//   write; granted at its moment, it was also the ask's round trip and the way from the answer to
//   the call (2.9 ms on a quiet machine, 20 ms and more on a loaded one).
//
// CLOCKS: entries are on Redis's clock (TIME). A departure measured on this process's clock is
// logged as grant time + (departure − the moment the grant was asked for): the grant was made
// after it was asked for, so this is never earlier than the real departure, whatever the clocks'
// offset (bench/README.md, "Send API, never over").
//
// PENDING entries of a process that died before its call left hold their slot for HOLD_MS + the
// window; a call is not started later than USE_BY_MS after its grant was asked for (`fresh`), so
// it leaves within HOLD_MS unless its process stalls for HOLD_MS − USE_BY_MS between that check
// and the write (and even then its report logs it at its real time for the grants after).
//
// MEMORY DEPARTURES (memory and insurance only): a pacer's turn is pending until its call left,
// and no other turn of its (class, account) is granted meanwhile; when it left, the pacer is held
// one spacing from that moment. Spacing grants alone is not enough: the first call of a process
// leaves 100–400 ms after its grant on a busy machine (fetch loads and connects on first use),
// and then the next calls, granted on time and leaving at once, follow it closer than the spacing
// (the backfill test saw the 1st and 3rd Conversations calls of a CLI run 880 ms apart, limit 2/s).
//
// LATE GRANTS (memory and insurance only): a grant that reaches this process later than the
// guard after it asked (a stalled event loop, a GC pause) is left unused and the turn taken
// again: its calls would otherwise leave bunched together (`stale`).
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
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { Logger } from "../log/logger.ts";
import { type ApiClass, type ClassLimit, limitsFromOverrides } from "./classes.ts";

export type Reservation = { ok: true } | { ok: false; retryAfterMs: number };
/** A call's place in Redis's departure log, pending until `departed` or `release`. */
export interface Ticket {
  readonly key: string;
  readonly member: string;
  /** Redis's TIME when the grant was made (ms, fractional). */
  readonly grantedAt: number;
  /** The log's expiry, should a report find it expired. */
  readonly expireMs: number;
}
/** A granted turn: when its request to the limiter left (performance.now(), the start of the
 * call's lateness that `fresh` and `observeDelay` measure from), and its entry in the departure
 * log when Redis granted it (none from the in-memory pacer or the insurance). */
export interface Turn {
  readonly account: string;
  readonly cls: ApiClass;
  readonly askedAt: number;
  /** performance.now() before which its call must not leave: `askedAt` (at once) unless the turn
   * was granted ahead (GRANT AHEAD), when `ready` waits for it. */
  readonly readyAt: number;
  readonly ticket: Ticket | undefined;
}
export interface TurnOptions {
  /** The caller waits for the turn's `readyAt` (`ready`) before its call leaves, so Redis may
   * grant it up to GRANT_AHEAD_MS before that moment (GRANT AHEAD). */
  ahead?: boolean;
}
export type Grant = ({ ok: true } & Turn) | { ok: false; retryAfterMs: number };

export interface OutboundLimiterOptions {
  /** Shared Redis. The limiter defines its commands `threadbridgeGrant` and
   * `threadbridgeDeparted` on it (GRANT_LUA, DEPARTED_LUA). */
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

const PACE_BURST = 2;
/** The in-memory pacer's learned margin never widens its spacing by more than this. */
const MAX_MARGIN_MS = 500;
/** Windows up to this long are paced in Redis too (`paced` in GRANT_LUA). */
const PACED_WINDOW_MS = 2_000;
/** How far ahead a pending entry is scored: it counts in every window until its call has left. */
const HOLD_MS = 5_000;
/** A granted call is not started later than this after its grant was asked for (`fresh`). */
const USE_BY_MS = 2_500;
/** Entries are kept this long past the window (a process's guard may differ a little). */
const KEEP_EXTRA_MS = 2_000;
/** How soon to ask again when the entry that keeps a grant back is still pending. */
const PENDING_RETRY_MS = 2;
/** How long before its moment a turn may be granted to a caller that waits for it (GRANT AHEAD):
 * more than the time from an ask to the call leaving on a loaded machine (grant to departure
 * 4–27 ms in the Send API bench), so that a sender is ready when its moment comes. */
export const GRANT_AHEAD_MS = 50;

// The departure log (GUARANTEE above). KEYS[1] = the log of (class, account), KEYS[2] = its GCRA
// state, KEYS[3] = the account's pause. ARGV: [1] limit, [2] window (ms: D + guard), [3] member
// (unique per grant), [4] paced (1/0), [5] how long before its moment a grant may be made (ms: 0
// unless the caller waits for the moment, GRANT AHEAD). Returns {granted 1/0, Redis TIME in ms for
// a grant or the ms to wait, and for a grant the ms until its call may leave}, as strings (Lua
// truncates numbers it returns to integers).
const GRANT_LUA = `
local PACE_BURST = ${PACE_BURST}
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local member = ARGV[3]
local paced = ARGV[4] == '1'
local ahead = tonumber(ARGV[5])
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return {'0', tostring(paused)} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local from = now - windowMs
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. string.format('%.3f', from - ${KEEP_EXTRA_MS}))
-- Every entry that may have left after now - window: departures, and pending calls (scored ahead).
local count = redis.call('ZCOUNT', key, '(' .. string.format('%.3f', from), '+inf')
-- The earliest moment the call may leave (at): now, or later when the pacer or the log holds it.
-- A caller that waits for it (GRANT AHEAD) is granted up to ahead ms before that moment.
local at = now
-- Per-second classes are paced (GCRA): one grant per windowMs / limit on average, with up to
-- PACE_BURST grants early to make up for slots the waiters missed; the log alone would allow a
-- burst of L calls at once.
local spacing = windowMs / limit
local tat = 0
if paced then
  tat = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tat < now then tat = now end
  local paceAt = tat - (PACE_BURST - 1) * spacing
  if paceAt - now > ahead then return {'0', tostring(math.ceil(paceAt - ahead - now))} end
  if paceAt > at then at = paceAt end
end
-- Full: the entry whose leaving frees a place has left the window at score + window (an entry
-- scored s counts no longer once s <= at - window).
if count >= limit then
  local e = redis.call('ZRANGEBYSCORE', key, '(' .. string.format('%.3f', from), '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
  local score = tonumber(e[2])
  if score > now then return {'0', '${PENDING_RETRY_MS}'} end
  if score + windowMs > at then at = score + windowMs end
end
if at - now > ahead then
  local wait = math.ceil(at - ahead - now)
  if wait < 1 then wait = 1 end
  return {'0', tostring(wait)}
end
redis.call('ZADD', key, string.format('%.3f', now + ${HOLD_MS}), member)
redis.call('PEXPIRE', key, math.ceil(windowMs + ${HOLD_MS} + ${KEEP_EXTRA_MS}))
if paced then
  if at > tat then tat = at end
  redis.call('SET', KEYS[2], string.format('%.3f', tat + spacing), 'PX', math.ceil(windowMs * 2))
end
return {'1', string.format('%.3f', now), string.format('%.3f', at - now)}
`;

// A call has left (or will not): KEYS[1] = the log; ARGV[1] = member, ARGV[2] = its departure on
// Redis's clock (ms), or '' when it never left; ARGV[3] = the key's expiry (ms), if it has none.
// The entry is (re)written whether or not it is still there: a call logged late is still counted
// for the grants after.
const DEPARTED_LUA = `
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;

type LimiterCommands = {
  threadbridgeGrant(
    log: string,
    tat: string,
    pause: string,
    limit: string,
    windowMs: string,
    member: string,
    paced: string,
    aheadMs: string,
  ): Promise<[string, string, string?]>;
  threadbridgeDeparted(log: string, member: string, at: string, expireMs: string): Promise<number>;
};

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

  /** As an insurance: the last grant of `key` left at `at` (epoch ms): it is seeded at that time. */
  moveLastGrant(key: string, at: number): void {
    const grants = this.grants.get(key);
    if (grants && grants.length > 0) grants[grants.length - 1] = Math.max(grants.at(-1) as number, at);
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
  private readonly localPause = new Map<string, number>();
  private readonly factors = new Map<string, Factor>();
  private readonly queues = new Map<string, Promise<void>>();
  /** Per queue (`takeTurn`): until when (performance.now()) its first caller was last told to wait. */
  private readonly refusedUntil = new Map<string, number>();
  /** Per class: recent delays from grant to answer (ms), and the margin learned from them. */
  private readonly delays = new Map<ApiClass, number[]>();
  private readonly margins = new Map<ApiClass, number>();
  /** Names this process's entries in the departure logs. */
  private readonly memberPrefix = randomUUID().slice(0, 12);
  private members = 0;
  /** Pacer turns granted whose calls have not yet left, per (class, account) (MEMORY DEPARTURES). */
  private readonly unsent = new Map<string, Map<Turn, Factor>>();
  /** Per (class, account): the moment (performance.now()) the pacer's hold from its last departure
   * ends. The pacer's own hold ends on a timer of whole milliseconds set from the event loop's
   * cached time, early by that cache's lag (a long tick in a busy process); a turn it grants waits
   * for this moment in `ready`, which checks the clock, so no call leaves before it. */
  private readonly pacerFreeAt = new Map<string, number>();
  private lastTroubleAt = 0;
  private staleStreak = 0;
  private slowRedisTold = false;
  private lateCallTold = false;
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
    if (this.redis) {
      this.redis.on("error", this.onRedisError);
      // defineCommand sends EVALSHA, and the script itself only when Redis does not know it.
      const commands = this.redis as unknown as Partial<LimiterCommands>;
      if (!commands.threadbridgeGrant)
        this.redis.defineCommand("threadbridgeGrant", { numberOfKeys: 3, lua: GRANT_LUA });
      if (!commands.threadbridgeDeparted)
        this.redis.defineCommand("threadbridgeDeparted", { numberOfKeys: 1, lua: DEPARTED_LUA });
    }
  }

  /** Consume one call for `account` in `cls` if the limit allows it now; otherwise say how long
   * until it may. The call is taken to leave at once (as `waitTurn`). Never grants over the
   * limit; throws only on programming errors. */
  async reserve(account: string, cls: ApiClass): Promise<Reservation> {
    const g = await this.grant(account, cls);
    if (!g.ok) return g;
    this.departed(g);
    return { ok: true };
  }

  /**
   * A turn for `account` in `cls` if the limit allows it now, or how long until it may. A turn
   * from Redis stays PENDING in the departure log (counted in every window) until the caller says
   * when its call left (`departed`) or that it never will (`release`); one of the two must follow.
   */
  async grant(account: string, cls: ApiClass, options: TurnOptions = {}): Promise<Grant> {
    if (!(cls in this.limits)) throw new Error(`unknown API class: ${String(cls)}`);
    if (typeof account !== "string" || account === "") throw new Error("account id required");
    const paused = this.localPauseMs(account);
    if (paused > 0) return { ok: false, retryAfterMs: paused };
    const factor = cls === "platform" ? (this.factors.get(account) ?? 1) : 1;
    if (this.redis?.status === "ready") {
      const logged = await this.logGrant(account, cls, factor, options.ahead ? GRANT_AHEAD_MS : 0);
      if (logged) return logged;
    } else if (this.redis) {
      this.trouble(undefined);
    }
    return this.pacerGrant(account, cls, factor);
  }

  /**
   * The call of `turn` left at `at` (performance.now(); default now): its entry in the departure
   * log takes that time (on Redis's clock, CLOCKS above). Without a ticket (memory, insurance)
   * there is nothing to log. Not awaited by callers: a report that fails leaves the entry pending,
   * which only holds its place longer.
   */
  departed(turn: Turn, at: number = performance.now()): void {
    const t = turn.ticket;
    if (!t) {
      this.pacerDeparted(turn, at);
      return;
    }
    const late = at - turn.askedAt;
    if (late > HOLD_MS && !this.lateCallTold) {
      this.lateCallTold = true;
      this.log?.warn(
        { lateMs: Math.round(late), holdMs: HOLD_MS },
        "rate limiter: a call left later than its pending entry held its place (a stalled process)",
      );
    }
    const score = (t.grantedAt + Math.max(0, late)).toFixed(3);
    this.report(t, score);
  }

  /** The call of `turn` will not be made: its pending entry is taken out of the log. */
  release(turn: Turn): void {
    if (turn.ticket) this.report(turn.ticket, "");
    // A pacer's turn stays consumed (its spacing from the grant holds); it no longer blocks.
    else this.unsent.get(this.turnKey(turn.cls, turn.account))?.delete(turn);
  }

  /**
   * MARGIN (the in-memory pacer's, without Redis or as its insurance). The guard is a fixed
   * allowance for the time between a grant and the call's arrival; on a loaded machine that time
   * grows and spreads, and calls granted a window apart arrive less than a window apart. So the
   * caller reports how long each granted call took from asking for its grant to its answer, and
   * the pacer's spacing widens by the spread of the recent ones (their 98th percentile above
   * their least; above zero for a process's first DELAY_SAMPLES). The departure log needs none:
   * it counts when calls left, not when they were granted.
   */
  observeDelay(_account: string, cls: ApiClass, ms: number): void {
    if (!(cls in this.limits) || !Number.isFinite(ms) || ms < 0) return;
    const recent = this.delays.get(cls) ?? [];
    recent.push(ms);
    if (recent.length > DELAY_SAMPLES) recent.shift();
    this.delays.set(cls, recent);
    const sorted = [...recent].sort((a, b) => a - b);
    const high = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.98))] as number;
    // Until DELAY_SAMPLES calls show what this machine's usual delay is, none is taken for usual.
    const floor = recent.length < DELAY_SAMPLES ? 0 : (sorted[0] as number);
    const spread = high - floor;
    const margin = Math.min(MAX_MARGIN_MS, Math.ceil(spread / MARGIN_STEP_MS) * MARGIN_STEP_MS);
    this.margins.set(cls, margin);
  }

  /**
   * Whether `turn` may still be used for a call starting now. A logged turn may wait (its entry
   * is pending, counted in every window) but not past USE_BY_MS, so that its call leaves before
   * its entry stops holding a place. A turn of the pacer or the insurance, counted at its grant,
   * is the late-grant test of its arrival made again (LATE GRANTS above): a process that stalled
   * between its grant and its call would send late. A turn that is not fresh is released and
   * another taken.
   */
  fresh(turn: Turn): boolean {
    const elapsed = performance.now() - turn.askedAt;
    if (turn.ticket) return elapsed <= USE_BY_MS;
    return !this.stale(elapsed, turn.cls);
  }

  /** The margin this process learned for `cls` (ms), for tests and the bench. */
  margin(cls: ApiClass): number {
    return this.margins.get(cls) ?? 0;
  }

  /** Wait until a call is granted, and take it to leave at once (its entry in the departure log
   * gets the moment the turn reached the caller). Resolves with the grant's `askedAt`; rejects
   * with the signal's reason when aborted. */
  async waitTurn(account: string, cls: ApiClass, signal?: AbortSignal): Promise<number> {
    const turn = await this.takeTurn(account, cls, signal);
    this.departed(turn);
    return turn.askedAt;
  }

  /** When this process has callers lined up (`takeTurn`) for `account` in `cls`, how long the
   * first of them was last told to wait (ms from now, 0 once that is over or before any answer);
   * undefined when none are. A new caller joins them rather than asking ahead of them, an ask that
   * would be refused. */
  queued(account: string, cls: ApiClass): number | undefined {
    const qk = this.turnKey(cls, account);
    if (!this.queues.has(qk)) return undefined;
    return Math.max(0, (this.refusedUntil.get(qk) ?? 0) - performance.now());
  }

  /** Resolves once every turn's call may leave (`readyAt`; at once for turns not granted ahead).
   * Checked against the clock after each sleep: a timer may fire up to the event loop's lag early. */
  async ready(turns: readonly Turn[]): Promise<void> {
    for (;;) {
      const wait = Math.max(...turns.map((t) => t.readyAt)) - performance.now();
      if (wait <= 0) return;
      await sleep(Math.ceil(wait));
    }
  }

  /** Wait until a call is granted; the caller then says when it left (`departed`) or that it was
   * not made (`release`). Calls of one process for one (account, class) line up, so only one of
   * them polls at a time. Rejects with the signal's reason when aborted. */
  takeTurn(account: string, cls: ApiClass, signal?: AbortSignal, options: TurnOptions = {}): Promise<Turn> {
    const qk = this.turnKey(cls, account);
    const prev = this.queues.get(qk) ?? Promise.resolve();
    const mine = prev.then(() => this.acquire(account, cls, signal, options));
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(qk, tail);
    void tail.then(() => {
      if (this.queues.get(qk) !== tail) return;
      this.queues.delete(qk);
      this.refusedUntil.delete(qk);
    });
    if (!signal) return mine;
    return new Promise<Turn>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      mine.then(
        (turn) => {
          signal.removeEventListener("abort", onAbort);
          resolve(turn);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    }).catch((err: unknown) => {
      // Aborted while its turn was still coming: a turn granted after that is not used.
      void mine.then(
        (turn) => this.release(turn),
        () => undefined,
      );
      throw err;
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
   * With Redis a call at factor f is granted only while the log holds fewer than L/f entries in
   * the window; in memory the pacer is held for f slots after each call.
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
    signal: AbortSignal | undefined,
    options: TurnOptions,
  ): Promise<Turn> {
    const qk = this.turnKey(cls, account);
    for (;;) {
      signal?.throwIfAborted();
      const r = await this.grant(account, cls, options);
      if (r.ok) {
        this.refusedUntil.delete(qk);
        return r;
      }
      this.refusedUntil.set(qk, performance.now() + r.retryAfterMs);
      await sleep(Math.min(r.retryAfterMs, MAX_SLEEP_MS), undefined, signal ? { signal } : {});
    }
  }

  /** A grant from the departure log, or undefined when Redis failed (the caller falls back on
   * the insurance). */
  private async logGrant(
    account: string,
    cls: ApiClass,
    factor: Factor,
    aheadMs: number,
  ): Promise<Grant | undefined> {
    try {
      await this.afterInsurance(account, cls);
    } catch (err) {
      if (err instanceof RateLimiterRes)
        return { ok: false, retryAfterMs: Math.max(1, Math.ceil(err.msBeforeNext)) };
      throw err;
    }
    const key = this.logKey(cls, account);
    const member = `${this.memberPrefix}:${++this.members}`;
    const limit = Math.max(1, Math.floor(this.limits[cls].points / factor));
    const windowMs = this.windowMs(cls);
    const askedAt = performance.now();
    let answer: [string, string, string?];
    try {
      answer = await (this.redis as unknown as LimiterCommands).threadbridgeGrant(
        key,
        `${key}:tat`,
        this.pauseKey(account),
        String(limit),
        String(windowMs),
        member,
        windowMs <= PACED_WINDOW_MS ? "1" : "0",
        String(aheadMs),
      );
    } catch (err) {
      this.trouble(err);
      return undefined;
    }
    const [granted, value, untilLeave] = answer;
    if (granted !== "1") return { ok: false, retryAfterMs: Math.max(1, Math.ceil(Number(value))) };
    // Counted from the answer's arrival, which is after Redis's `now`: never before the moment.
    const wait = Number(untilLeave ?? 0);
    return {
      ok: true,
      account,
      cls,
      askedAt,
      readyAt: wait > 0 ? performance.now() + wait : askedAt,
      ticket: {
        key,
        member,
        grantedAt: Number(value),
        expireMs: Math.ceil(windowMs + HOLD_MS + KEEP_EXTRA_MS),
      },
    };
  }

  /** A grant of the in-memory pacer: the whole limit without Redis, this process's share as the
   * insurance while Redis is away. */
  private async pacerGrant(account: string, cls: ApiClass, factor: Factor): Promise<Grant> {
    const askedAt = performance.now();
    const unsent = this.unsentTurns(cls, account, askedAt);
    if (unsent.size > 0) return { ok: false, retryAfterMs: PENDING_RETRY_MS };
    try {
      await this.pacer(cls).consume(account, 1);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        return { ok: false, retryAfterMs: Math.max(1, Math.ceil(err.msBeforeNext)) };
      }
      throw err;
    }
    if (this.stale(performance.now() - askedAt, cls)) return { ok: false, retryAfterMs: 1 };
    // A slowed platform call also holds the pacer for `factor` slots. A learned margin spaces the
    // pacer's grants. A slot is this process's share: as the insurance, the pacer grants one call
    // per N slots (N processes), and a hold of one slot would let it grant N times its share
    // (redis-outage.test.ts saw 83 calls in a second of 50).
    const slots = factor * this.pacerSeconds(cls, this.margin(cls)) * this.pacerShare();
    if (factor > 1 || this.margin(cls) > 0) await this.pacer(cls).block(account, slots);
    const key = this.turnKey(cls, account);
    const freeAt = this.pacerFreeAt.get(key) ?? askedAt;
    if (freeAt <= askedAt) this.pacerFreeAt.delete(key);
    const grant = {
      ok: true as const,
      account,
      cls,
      askedAt,
      readyAt: Math.max(askedAt, freeAt),
      ticket: undefined,
    };
    this.unsentTurns(cls, account, askedAt).set(grant, factor);
    return grant;
  }

  /** The pacer's turns of (cls, account) not yet departed, without those older than HOLD_MS (a
   * caller that never said: it holds no longer than a pending entry in Redis would). */
  private unsentTurns(cls: ApiClass, account: string, now: number): Map<Turn, Factor> {
    const key = this.turnKey(cls, account);
    let turns = this.unsent.get(key);
    if (!turns) {
      turns = new Map();
      this.unsent.set(key, turns);
    }
    for (const t of turns.keys()) if (now - t.askedAt > HOLD_MS) turns.delete(t);
    return turns;
  }

  /** A pacer's call left at `at` (MEMORY DEPARTURES): the pacer is held one slot from then, so the
   * next call leaves at least one spacing after this one whenever this one left, and the
   * insurance grant it seeds into Redis on its return is moved to its departure. */
  private pacerDeparted(turn: Turn, at: number): void {
    const turns = this.unsent.get(this.turnKey(turn.cls, turn.account));
    const factor = turns?.get(turn);
    if (factor === undefined) return; // released, or not a pacer's turn of this limiter
    turns?.delete(turn);
    const pacer = this.pacers.get(turn.cls);
    if (!pacer) return;
    const slots = factor * this.pacerSeconds(turn.cls, this.margin(turn.cls)) * this.pacerShare();
    const freeAt = at + slots * 1000;
    const holdMs = freeAt - performance.now();
    // The grant's own hold ends about `slots` after askedAt, before this one: it is replaced.
    if (holdMs > 0) {
      void pacer.block(turn.account, holdMs / 1000);
      const key = this.turnKey(turn.cls, turn.account);
      this.pacerFreeAt.set(key, Math.max(freeAt, this.pacerFreeAt.get(key) ?? 0));
    }
    pacer.moveLastGrant(turn.account, Date.now() - (performance.now() - at));
  }

  private report(t: Ticket, at: string): void {
    (this.redis as unknown as LimiterCommands | undefined)
      ?.threadbridgeDeparted(t.key, t.member, at, String(t.expireMs))
      .catch((err: unknown) => this.trouble(err));
  }

  private localPauseMs(account: string): number {
    const localUntil = this.localPause.get(account);
    if (localUntil === undefined) return 0;
    const remaining = localUntil - Date.now();
    if (remaining <= 0) this.localPause.delete(account);
    return Math.max(0, remaining);
  }

  /** The window of a class: D + guard, in ms. */
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

  private turnKey(cls: ApiClass, account: string): string {
    return `${cls}\u0000${account}`;
  }

  /** The departure log of `cls` for `account` (the key the sliding log had before it). */
  private logKey(cls: ApiClass, account: string): string {
    return `${this.prefix}:${cls}:${account}`;
  }

  private pauseKey(account: string): string {
    return `${this.prefix}:pause:${account}`;
  }

  /** Back on Redis after insurance grants (REDIS RETURN above): seed them into the log once, and
   * keep pacing a per-second class at this process's share through the transition. Throws
   * RateLimiterRes while the pacer says wait. */
  private async afterInsurance(account: string, cls: ApiClass): Promise<void> {
    const pacer = this.pacers.get(cls);
    if (!pacer) return;
    const window = this.windowMs(cls);
    const seeds = pacer.takeGrants(account);
    if (seeds.length > 0) {
      const key = this.logKey(cls, account);
      const members = seeds.flatMap((t, i) => [t, `${t}:insured:${i}`]);
      try {
        await this.redis
          ?.multi()
          .zadd(key, ...members)
          .pexpire(key, window + HOLD_MS + KEEP_EXTRA_MS)
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
   * Whether a pacer's or insurance grant that took `elapsedMs` to arrive must go unused. Such a
   * grant is counted when it is made; the call leaves when this process gets to it. A process
   * stalled meanwhile would send calls granted over a stretch of time all at once, closer together
   * than the pacer allowed for. So a grant that arrives later than the guard (and margin) is left
   * unused and the turn taken again. A process whose every grant comes late is not stalled but
   * slow: after a few in a row the grant is used, and the operator is told once.
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
        "rate limiter: grants reach this process more slowly than the guard; raise IG_RATE_LIMIT_GUARD_MS",
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
