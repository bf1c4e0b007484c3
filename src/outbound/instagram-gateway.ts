import { setTimeout as sleep } from "node:timers/promises";
import type { Database } from "../db/database.ts";
import { queryNamed } from "../db/query-named.ts";
import type { GraphClient, Result } from "../instagram/graph-client.ts";
import type { GraphError } from "../instagram/graph-errors.ts";
import type { TokenCipher } from "../instagram/token-cipher.ts";
import { invalidateToken } from "../instagram/token-invalidation.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type ApiClass, turnsOf } from "../ratelimit/classes.ts";
import type { OutboundLimiter, Turn } from "../ratelimit/limiter.ts";
import { DepartureWatch } from "./departures.ts";
import {
  SENDING_PAUSE_KEY,
  type SendingState,
  type SendingStateRow,
  sendingState,
  sendingStateOf,
  sendingStateSql,
} from "./pause.ts";

// The one outbound path to Instagram (issue 4). Every caller — agent replies, private replies,
// automation, moderation, profile look-ups — goes through `call`, which checks the pause switches
// and the account's token, waits for the account's rate limit, makes the call, and turns the
// answer into the few outcomes a caller acts on.

export type GatewayOutcome<T> =
  | { kind: "ok"; value: T }
  /** Paused (switch) or the account cannot send (token invalid, removed): keep it and try later. */
  | { kind: "held"; reason: string }
  /** Over a rate limit, or Meta asked for a pause: try again after `retryAfterMs`, in order. */
  | { kind: "deferred"; retryAfterMs: number; reason: string }
  /** A send may have reached Instagram although no answer came back: reconcile before resending. */
  | { kind: "uncertain"; error: GraphError }
  /** Final: the reason is for people. */
  | { kind: "failed"; error: GraphError };

export interface CallOptions {
  /** Longest time to wait in this process for the rate limit before answering `deferred`. */
  maxWaitMs?: number;
  /** The account's admission, when the caller has just asked for it (`admit`): `call` then does
   * not ask again. */
  admitted?: Admitted;
}

/**
 * An account that may send, with its token opened (`InstagramGateway.admit`). The token is a
 * private field: a log line or JSON copy of the admission has nothing of it, and only the gateway
 * reads it.
 */
export class Admitted {
  readonly account: string;
  readonly #token: string;
  constructor(account: string, token: string) {
    this.account = account;
    this.#token = token;
  }
  static token(a: Admitted): string {
    return a.#token;
  }
}

/** Whether an account may send now: admitted, or held with the reason people read. */
export type Admission = Admitted | { held: string };

export interface GatewayDeps {
  db: Database;
  graph: GraphClient;
  limiter: OutboundLimiter;
  cipher: TokenCipher | undefined;
  log: Logger;
  metrics: Metrics;
  /** Told once per problem when an account's token stops working (alert its owners). */
  onTokenInvalid?: (account: string, error: GraphError) => Promise<void>;
}

const DEFAULT_MAX_WAIT_MS = 5_000;
/** The sending state with the account's sealed token (`admit`). */
const ADMISSION_SQL = sendingStateSql("a.token_ciphertext, a.token_key_id");

export class InstagramGateway {
  /** For the calls made inside `call()`: one attempt each, because `call()` retries, and every
   * attempt is a call Instagram counts, so each takes its own turn of the rate limiter. */
  readonly graph: GraphClient;
  /** For calls outside any account's limits (Business Login, token refresh): retries by itself. */
  readonly unmetered: GraphClient;
  private readonly deps: GatewayDeps;

  constructor(deps: GatewayDeps) {
    this.deps = deps;
    this.unmetered = deps.graph;
    this.graph = deps.graph.withRetries(0);
  }

  /** Why the account cannot send right now, or undefined when it can. */
  async holdReason(account: string): Promise<string | undefined> {
    // One round trip for both: every mirrored message's thread header asks this.
    return holdReasonOf(await sendingState(this.deps.db, account));
  }

  /**
   * Whether `account` may send now (the pause switches, its connection) and, if so, its token
   * opened from its sealed form: what `call` checks first, in one round trip. A caller that must
   * know before it writes anything (the sender marks its attempt) asks here and hands the
   * admission to `call`.
   */
  async admit(account: string): Promise<Admission> {
    const { rows } = await queryNamed<
      SendingStateRow & { token_ciphertext: string | null; token_key_id: string | null }
    >(this.deps.db, "tb_send_admission", ADMISSION_SQL, [SENDING_PAUSE_KEY, account]);
    const row = rows[0];
    const held = holdReasonOf(sendingStateOf(row));
    if (held) return { held };
    const token = this.openToken(account, row?.token_ciphertext ?? null, row?.token_key_id ?? null);
    return token === undefined
      ? { held: "this Instagram account has no usable token" }
      : new Admitted(account, token);
  }

  async call<T>(
    account: string,
    cls: ApiClass,
    fn: (token: string) => Promise<Result<T>>,
    options: CallOptions = {},
  ): Promise<GatewayOutcome<T>> {
    const admission = options.admitted?.account === account ? options.admitted : await this.admit(account);
    if (!(admission instanceof Admitted)) return { kind: "held", reason: admission.held };
    const token = Admitted.token(admission);

    for (let attempt = 0; ; attempt++) {
      // A turn that may no longer be used (OutboundLimiter.fresh: a logged one too old, a pacer's
      // one that went stale on its way here) is released, and the turns taken again. Only the
      // last turn's freshness matters: it is the limit Instagram counts (classes.ts turnsOf),
      // taken right before the call; a class's own turn before it is a share kept inside that
      // limit, and may have waited for it.
      let turns: Turn[] | undefined;
      for (;;) {
        turns = await this.takeTurns(account, cls, options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
        if (!turns || this.deps.limiter.fresh(turns.at(-1) as Turn)) break;
        for (const t of turns) this.deps.limiter.release(t);
      }
      if (!turns) {
        this.deps.metrics.outboundDeferred.inc({ class: cls });
        await this.countDeferral(account, cls);
        return { kind: "deferred", retryAfterMs: 1_000, reason: "waiting for the account's rate limit" };
      }
      // The limiter logs each call at the moment it left (its request written to the socket),
      // however long after its grant that was (src/outbound/departures.ts), as soon as it left:
      // until then its entry holds a place in every window. A call not seen leaving (another
      // fetch, a request never written) is logged when it settled, the latest it can have left.
      // Granted ahead of its moment, a turn waits for it here, right before the call: the time the
      // ask, the answer and the way here took is spent before the moment rather than after it.
      await this.deps.limiter.ready(turns);
      const taken = turns;
      const watch = new DepartureWatch((at) => {
        for (const t of taken) this.deps.limiter.departed(t, at);
      });
      let result: Result<T>;
      try {
        result = await watch.run(() => fn(token));
      } finally {
        if (!watch.seen) for (const t of turns) this.deps.limiter.departed(t, watch.departedAt);
      }
      // How long the call took from its turn (its grant, or the moment it was granted ahead of) to
      // its answer: the in-memory pacer (no Redis, or its insurance) widens its spacing when these
      // times spread.
      const answered = performance.now();
      for (const t of turns)
        this.deps.limiter.observeDelay(account, t.cls, answered - Math.max(t.askedAt, t.readyAt));
      if (result.usage) {
        this.deps.limiter.observeUsage(account, result.usage.maxPercent);
        if (result.usage.regainAccessMs)
          await this.deps.limiter.pauseUntil(account, Date.now() + result.usage.regainAccessMs);
      }
      this.deps.metrics.graphCalls.inc({ class: cls, outcome: result.ok ? "ok" : result.error.kind });
      if (result.ok) return { kind: "ok", value: result.value };
      const wait = this.deps.graph.retryDelay(attempt, result.error);
      if (wait === undefined) return this.failure(account, cls, result.error);
      // A wait Meta asked for holds every process's calls for the account, not only this retry.
      if (result.error.kind === "retryable" && result.error.retryAfterMs)
        await this.deps.limiter.pauseUntil(account, Date.now() + result.error.retryAfterMs);
      await sleep(wait);
    }
  }

  /** The outcome a caller acts on, for a call that failed and is not retried in place. */
  private async failure<T>(account: string, cls: ApiClass, error: GraphError): Promise<GatewayOutcome<T>> {
    switch (error.kind) {
      case "retryable":
        if (error.maybeDelivered) return { kind: "uncertain", error };
        // Instagram's own rate-limit answers come with a wait; count them with the limiter's deferrals.
        if (error.retryAfterMs) {
          await this.deps.limiter.pauseUntil(account, Date.now() + error.retryAfterMs);
          await this.countDeferral(account, cls);
        }
        return { kind: "deferred", retryAfterMs: error.retryAfterMs ?? 5_000, reason: error.reason };
      case "token_invalid":
        await this.markTokenInvalid(account, error);
        return { kind: "held", reason: error.reason };
      default:
        return { kind: "failed", error };
    }
  }

  /** The account's token, opened from its sealed form; never logged, never returned elsewhere. */
  private openToken(account: string, ciphertext: string | null, keyId: string | null): string | undefined {
    if (!ciphertext || !keyId || !this.deps.cipher) return undefined;
    try {
      return this.deps.cipher.open(ciphertext, keyId);
    } catch (err) {
      this.deps.log.error(
        { account, err: err instanceof Error ? err.message : String(err) },
        "cannot open token",
      );
      return undefined;
    }
  }

  /** A turn of each class a call of `cls` takes (classes.ts `turnsOf`: its own, and the Send
   * API's whole limit for the classes counted in it); undefined when one did not come within
   * `maxWaitMs` (the ones taken before it are then released). */
  private async takeTurns(account: string, cls: ApiClass, maxWaitMs: number): Promise<Turn[] | undefined> {
    const turns: Turn[] = [];
    for (const c of turnsOf(cls)) {
      const turn = await this.waitTurn(account, c, maxWaitMs);
      if (turn === undefined) {
        for (const t of turns) this.deps.limiter.release(t);
        return undefined;
      }
      turns.push(turn);
    }
    return turns;
  }

  /** A granted turn, or undefined when none came within `maxWaitMs`. */
  private async waitTurn(account: string, cls: ApiClass, maxWaitMs: number): Promise<Turn | undefined> {
    // Each turn is waited for (`ready`) before its call: it may be granted ahead of its moment.
    // With callers of this process lined up for the same limit, an ask of its own would only be
    // refused (bench/README.md, seventeenth pass: one ask in four per grant); it lines up too.
    const lined = this.deps.limiter.queued(account, cls);
    if (lined === undefined) {
      const first = await this.deps.limiter.grant(account, cls, { ahead: true });
      if (first.ok) return first;
      if (first.retryAfterMs > maxWaitMs) return undefined;
    } else if (lined > maxWaitMs) return undefined;
    try {
      return await this.deps.limiter.takeTurn(account, cls, AbortSignal.timeout(maxWaitMs), { ahead: true });
    } catch {
      return undefined;
    }
  }

  /** Per account, class and hour, for the digest: the metric alone dies with the process. */
  private async countDeferral(account: string, cls: ApiClass): Promise<void> {
    await this.deps.db.query(
      `INSERT INTO outbound_deferrals (account_id, class, hour, count) VALUES ($1, $2, date_trunc('hour', now()), 1)
       ON CONFLICT (account_id, class, hour) DO UPDATE SET count = outbound_deferrals.count + 1`,
      [account, cls],
    );
  }

  private async markTokenInvalid(account: string, error: GraphError): Promise<void> {
    // Only the first caller to see the problem alerts; the rest just hold.
    const marked = await invalidateToken(this.deps.db, account, {
      action: "token_invalid",
      reason: error.reason,
      code: error.code,
      subcode: error.subcode,
    });
    if (!marked) return;
    this.deps.log.error(
      { account, code: error.code, subcode: error.subcode },
      "instagram token invalid and deleted; account held",
    );
    await this.deps.onTokenInvalid?.(account, error);
  }
}

/** Why nothing may be sent for an account in this state (`InstagramGateway.holdReason`), or
 * undefined when sending may go ahead. */
export function holdReasonOf({ pause: paused, account: row }: SendingState): string | undefined {
  if (paused)
    return paused.scope === "global"
      ? `sending is paused for every account (by ${paused.by})`
      : `sending is paused for this account (by ${paused.by})`;
  if (!row || row.status === "unconfigured") return "this Instagram account is not connected";
  if (row.status === "token_invalid")
    return "the Instagram connection must be reconnected (token invalid or expired)";
  if (row.status !== "active" || !row.hasToken) return `this Instagram account is ${row.status}`;
  return undefined;
}
