import type { PgBoss } from "pg-boss";
import type { Database, SqlClient } from "../db/database.ts";
import { absorbLateClientErrors } from "../db/late-client-errors.ts";
import type { Logger } from "../log/logger.ts";
import type { TraceCarrier } from "../tracing/spans.ts";

export const INBOUND_QUEUE = "inbound";
export const OUTBOUND_QUEUE = "outbound";

export const WAKE_QUEUE = "wake";
/** Erasure of a connected account's data, on Meta's data deletion request. */
export const ERASURE_QUEUE = "account-erasure";

export interface ErasureJob {
  /** The data request's confirmation code. */
  code: string;
}
/** The daily retention purge (privacy/retention.ts), scheduled by pg-boss cron. */
export const RETENTION_QUEUE = "retention";

/** A managers' digest to post: scheduled per account (cron in its zone), or asked for by the CLI. */
export const DIGEST_QUEUE = "digest";

export interface DigestJob {
  account: string;
  /** Scheduled: daily or weekly; from the CLI also the last 24h or 7d. */
  kind: "daily" | "weekly" | "24h" | "7d";
}

/** Every minute: the SLA alert pass and the digest schedules brought in line with the accounts. */
export const SLA_QUEUE = "sla";

/** The Instagram token refresh pass: daily by cron, or now from `accounts refresh-tokens`. */
export const TOKEN_REFRESH_QUEUE = "token-refresh";

export interface TokenRefreshJob {
  /** Who asked (`cli:user`); absent for the daily schedule. */
  by?: string;
}

/** A backfill of one account through the Conversations API (ingest/backfill.ts): after it is
 * (re)connected, or after its webhooks were silent. */
export const BACKFILL_QUEUE = "backfill";

export interface BackfillJob {
  account: string;
  /** ISO time: recover messages from then on. */
  since: string;
}

/** A snoozed thread to wake: which table, which row; or (`messages`) a mirrored post whose story
 * link expires, to show as expired. */
export interface WakeJob {
  table: "conversations" | "comment_threads" | "messages";
  id: number;
}

/** The conversation timers (conversations/timers.ts): nudges before a window closes, auto-close,
 * `!close 2h`, `!followup 1d TEXT`. */
export const TIMER_QUEUE = "timer";

/** One timer. Each names the conversation and the state it was set for (`anchor`, an ISO time); at
 * fire time the state is read again and a timer whose reason is gone does nothing. The singleton
 * key (timerKey) keeps one of each pending. */
export type TimerJob =
  /** Before the standard window (`window`) or the human-agent limit (`human_agent`) closes on the
   * customer's message at `anchor`. */
  | { kind: "nudge"; conversationId: number; stage: "window" | "human_agent"; anchor: string }
  /** The customer has been silent since `anchor` (their last message then). `again`: set when a
   * pass found it too early and looked again later. */
  | { kind: "auto_close"; conversationId: number; anchor: string; again?: string }
  /** `!close 2h`: asked at `anchor`; the customer writing after it cancels it. */
  | { kind: "close"; conversationId: number; anchor: string; agent: TimerAgent }
  /** `!followup 1d TEXT`: asked at `anchor`; the customer writing after it cancels it. `message`:
   * the agent's `!followup` message, which then carries the reply's delivery marks. */
  | {
      kind: "followup";
      conversationId: number;
      anchor: string;
      agent: TimerAgent;
      text: string;
      message?: string;
    };

/** Who set a timer, as the chat names them. */
export interface TimerAgent {
  platform: string;
  id: string;
  name: string;
}

/** A timer's singleton key: one nudge per stage and customer message it is set for, one
 * auto-close per conversation and silence, one pending `!close` per conversation, one follow-up per
 * request. (A customer message sets a nudge or auto-close only when none is pending for an earlier
 * time: conversations/timers.ts.) Jobs set before that change carry the same keys. */
export function timerKey(job: TimerJob): string {
  switch (job.kind) {
    case "nudge":
      return `nudge:${job.stage}:${job.conversationId}:${job.anchor}`;
    case "auto_close":
      return `auto_close:${job.conversationId}:${job.anchor}:${job.again ?? ""}`;
    case "close":
      return `close:${job.conversationId}`;
    case "followup":
      return `followup:${job.conversationId}:${job.anchor}`;
  }
}

/** What an outbound job carries: the outbound message's row id, and the trace it was queued in
 * (W3C traceparent, when traces are on). */
export interface OutboundJob {
  /** The stored message to send; 0 for a sender action. */
  messageId: number;
  /** A sender action (outbound/sender-actions.ts) instead of a message: in the conversation's
   * lane, so it never overtakes a reply queued before it. */
  senderAction?: {
    account: string;
    customer: string;
    action: "mark_seen" | "typing_on" | "react" | "unreact";
    at: number;
    /** A reaction's message (its Instagram mid) and, to react, Instagram's reaction value. */
    mid?: string;
    reaction?: string;
  };
  trace?: TraceCarrier;
}

/** What an inbound job carries: the stored event's row id, nothing a customer wrote, and the trace
 * of the delivery it came in (W3C traceparent, when traces are on). */
export interface InboundJob {
  eventId: number;
  trace?: TraceCarrier;
}

/** Workers refresh a job's heartbeat every half of this while they handle it; a job whose worker
 * died goes stale and is handed out again by the next monitor pass. A live handler that waits (a
 * Slack 429, a Postgres restart) keeps its claim instead of being run twice side by side. */
export const HEARTBEAT_SECONDS = 10;

export interface QueueOptions {
  retryLimit: number;
  expireSeconds: number;
  superviseSeconds: number;
  /** Only the worker role runs maintenance and cron; the web role only sends. */
  supervise: boolean;
}

/**
 * Starts pg-boss on the service's database: its own pool (with LISTEN/NOTIFY) on Postgres, the shared
 * PGlite instance in the embedded mode, where pg-boss's schema lives beside ours.
 */
export async function startBoss(db: Database, log: Logger, options: QueueOptions): Promise<PgBoss> {
  const common = {
    schema: "pgboss",
    useListenNotify: true,
    supervise: options.supervise,
    schedule: options.supervise,
    // Lost (expired) jobs are reclaimed by the monitor pass, which runs at the slower of the two.
    superviseIntervalSeconds: options.superviseSeconds,
    monitorIntervalSeconds: options.superviseSeconds,
    migrate: true,
  } as const;
  // Loaded here, not at the top: the queue names above are read by CLI commands that never start
  // a queue, and pg-boss is a large module tree.
  const { fromPglite, PgBoss } = await import("pg-boss");
  if (!db.pglite) absorbLateClientErrors();
  const boss = db.pglite
    ? new PgBoss({ ...common, db: fromPglite(db.pglite), backend: "pglite" })
    : new PgBoss({ ...common, connectionString: db.url, max: 4, application_name: "threadbridge" });
  boss.on("error", (err: Error) => log.error({ err }, "queue error"));
  boss.on("warning", (w: unknown) => log.warn({ warning: w }, "queue warning"));
  await boss.start();
  await ensureQueues(boss, options);
  return boss;
}

async function ensureQueues(boss: PgBoss, options: QueueOptions): Promise<void> {
  await upsertQueue(boss, INBOUND_QUEUE, {
    // Events of one conversation or comment thread are handled one at a time, in order; other
    // threads proceed in parallel. A job that fails holds back only its own thread.
    policy: "key_strict_fifo",
    notify: true,
    retryLimit: options.retryLimit,
    retryBackoff: true,
    retryDelay: 2,
    retryDelayMax: 300,
    heartbeatSeconds: HEARTBEAT_SECONDS,
    expireInSeconds: options.expireSeconds,
    // Failed (dead) jobs are kept until an operator replays or discards them.
    deleteAfterSeconds: 30 * 24 * 3600,
  });
  await upsertQueue(boss, OUTBOUND_QUEUE, {
    // One conversation's messages leave in order: a message that waits (rate limit, pause,
    // uncertain delivery) retries, and its successors wait behind it.
    policy: "key_strict_fifo",
    notify: true,
    // Waiting is expressed as retries, so the limit is about time, not failures: 1 s doubling to
    // 30 s, for about a week, covers a long pause or a Meta incident; nothing is given up early.
    retryLimit: 20_000,
    retryBackoff: true,
    retryDelay: 1,
    retryDelayMax: 30,
    heartbeatSeconds: HEARTBEAT_SECONDS,
    expireInSeconds: options.expireSeconds,
    deleteAfterSeconds: 30 * 24 * 3600,
  });
  await upsertQueue(boss, RETENTION_QUEUE, {
    policy: "singleton",
    retryLimit: 3,
    deleteAfterSeconds: 7 * 24 * 3600,
  });
  await upsertQueue(boss, ERASURE_QUEUE, {
    policy: "standard",
    retryLimit: 20,
    retryBackoff: true,
    retryDelay: 5,
  });
  await upsertQueue(boss, DIGEST_QUEUE, {
    policy: "standard",
    // A chat platform outage delays a digest; a day later it is stale, so it is not kept trying.
    retryLimit: 8,
    retryBackoff: true,
    retryDelay: 30,
    expireInSeconds: options.expireSeconds,
    deleteAfterSeconds: 7 * 24 * 3600,
  });
  await upsertQueue(boss, SLA_QUEUE, {
    // One pass at a time across every worker; a missed minute is made up by the next.
    policy: "singleton",
    retryLimit: 0,
    expireInSeconds: options.expireSeconds,
    deleteAfterSeconds: 24 * 3600,
  });
  await upsertQueue(boss, TOKEN_REFRESH_QUEUE, {
    // One pass at a time; a token the pass could not refresh is tried again by the next one, so a
    // pass that failed as a whole (database away) is retried only a few times.
    policy: "singleton",
    // `accounts refresh-tokens` waits for the pass: wake the worker rather than wait for its poll.
    notify: true,
    retryLimit: 3,
    retryBackoff: true,
    retryDelay: 60,
    // A call per account, each retried on its own: a pass over many accounts takes minutes.
    expireInSeconds: 3600,
    deleteAfterSeconds: 7 * 24 * 3600,
  });
  await upsertQueue(boss, BACKFILL_QUEUE, {
    // One per account queued at a time (singletonKey); a backfill repeated is harmless.
    policy: "standard",
    retryLimit: 5,
    retryBackoff: true,
    retryDelay: 60,
    expireInSeconds: 3600,
    deleteAfterSeconds: 7 * 24 * 3600,
  });
  await upsertQueue(boss, TIMER_QUEUE, {
    // One pending or running job per key: a timer set twice (a retried inbound event, a command
    // repeated) is not doubled.
    policy: "exclusive",
    retryLimit: 10,
    retryBackoff: true,
    retryDelay: 5,
    expireInSeconds: options.expireSeconds,
    // A follow-up's text is in its job: kept no longer than needed to look into a day's work.
    deleteAfterSeconds: 24 * 3600,
  });
  await upsertQueue(boss, WAKE_QUEUE, {
    policy: "standard",
    retryLimit: 10,
    retryBackoff: true,
    retryDelay: 5,
    expireInSeconds: options.expireSeconds,
    deleteAfterSeconds: 7 * 24 * 3600,
  });
}

/** Creates a queue, or brings an existing one in line with this start's configuration (its policy
 * is fixed at creation). */
async function upsertQueue(boss: PgBoss, name: string, queue: QueueOptionsOf<PgBoss>): Promise<void> {
  if (await boss.getQueue(name)) {
    const { policy: _fixed, ...adjustable } = queue;
    await boss.updateQueue(name, adjustable);
  } else {
    await boss.createQueue(name, queue);
  }
  // pg-boss looks a queue up (through its own connection) the first time it writes to it. Do that
  // now: on the embedded database a lookup from inside an open transaction would wait for itself.
  await boss.insert(name, []);
}

type QueueOptionsOf<B extends PgBoss> = NonNullable<Parameters<B["createQueue"]>[1]>;

/** pg-boss's view of a connection, so jobs are inserted inside the caller's transaction. */
export function bossDb(tx: SqlClient) {
  return { executeSql: (text: string, values?: unknown[]) => tx.query(text, values) };
}
