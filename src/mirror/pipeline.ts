import type { Database, SqlClient } from "../db/database.ts";
import { queryNamed } from "../db/query-named.ts";
import { UNFLUSHED_COMMIT } from "../db/unflushed-commit.ts";
import type { DomainEvent } from "../instagram/events.ts";
import type { Logger } from "../log/logger.ts";
import { DEFAULT_ECHO_GRACE_MS } from "../outbound/echo-match.ts";
import type { ConsentWords } from "../privacy/consent.ts";
import { completeJobSql, type JobAttempt, successorSql } from "../queue/complete-in-statement.ts";
import type { RulesEngine } from "../rules/engine.ts";
import { inSpan } from "../tracing/spans.ts";
import { type Mirror, ROUTE_PARAMS, type RouteRow, routeSql } from "./mirror.ts";
import { type RecordedConversation, type RecordOptions, recordEvent } from "./record.ts";

/** What the pipeline needs of the timers (conversations/timers.ts). */
export interface CustomerTimers {
  customerWrote(
    tx: SqlClient,
    conversation: RecordedConversation,
    accountSettings: Record<string, unknown> | null,
  ): Promise<void>;
}

// Committed without waiting for the flush (db/unflushed-commit.ts): lost only with Postgres itself,
// after which the job expires and its retry finds the event recorded and posted.
const PROCESSED_MARK = `UPDATE inbound_events SET status = 'processed', processed_at = now(), attempts = attempts + 1,
    last_error = NULL, held_by = NULL
  WHERE id = $1 AND status <> 'processed'
  RETURNING id, ${UNFLUSHED_COMMIT}`;

export type HandleOutcome = "processed" | "already_processed" | "missing";

/**
 * The inbound pipeline: takes one stored inbound event, records it, shows it in its chat thread, and
 * runs the account's auto-reply rules on it.
 * It knows nothing of HTTP, queues or chat SDKs; chat platforms plug in behind a port (DESIGN.md).
 */
export class Bridge {
  private readonly db: Database;
  private readonly log: Logger;
  private readonly mirror: Mirror | undefined;
  private readonly options: RecordOptions;
  private readonly rules: RulesEngine | undefined;
  private readonly timers: CustomerTimers | undefined;

  constructor(deps: {
    db: Database;
    log: Logger;
    mirror?: Mirror;
    rules?: RulesEngine;
    echoGraceMs?: number;
    consentWords?: ConsentWords;
    /** This app's id (IG_APP_ID), to tell a handover to us from one to another app. */
    appId?: string;
    /** Sets a conversation's timers when its customer writes (conversations/timers.ts). */
    timers?: CustomerTimers;
  }) {
    this.db = deps.db;
    this.log = deps.log;
    this.mirror = deps.mirror;
    this.rules = deps.rules;
    this.timers = deps.timers;
    this.options = {
      echoGraceMs: deps.echoGraceMs ?? DEFAULT_ECHO_GRACE_MS,
      ...(deps.consentWords ? { consentWords: deps.consentWords } : {}),
      ...(deps.appId ? { appId: deps.appId } : {}),
    };
  }

  /**
   * Handles stored event `eventId`: records it (idempotent, in one transaction; the row lock makes
   * a concurrent second attempt wait), mirrors it (each chat call's result stored as it is made),
   * then marks it processed. A failure anywhere leaves it unprocessed for the job's retry, which
   * repeats only the steps not yet done.
   */
  async handleStored(
    eventId: number,
    /** The queue job carrying the event: when given, it is completed in the processed mark's own
     * statement (`jobCompleted` then says that statement ran, whether or not the job still
     * matched its fence), one round trip and one commit instead of two. */
    job?: JobAttempt,
  ): Promise<{
    outcome: HandleOutcome;
    event?: DomainEvent;
    receivedAt?: Date;
    jobCompleted?: boolean;
    /** With `jobCompleted`: false when a job of the same key was seen not to wait. */
    successor?: boolean;
  }> {
    const recorded = await this.db.transaction(async (tx) => {
      // With a mirror, the account's route is read here too (Mirror `routeSql`): one round trip
      // fewer than the mirror reading it after the commit, and as fresh (milliseconds apart).
      const withRoute = this.mirror !== undefined;
      // Named (prepared once per connection), as the other statements run for every event: parsing and
      // planning them anew each time was most of Postgres's time per event (bench/README.md).
      const { rows } = await queryNamed<{
        status: string;
        event: DomainEvent;
        received_at: Date;
        handling_started_at: Date | null;
        route?: RouteRow | null;
      }>(
        tx,
        "tb_event_lock",
        // The row lock and the mark that an attempt began, in one round trip (the mark is read as it
        // was before this attempt, and only commits with the recording).
        `WITH e AS (
           SELECT id, status, event, received_at, handling_started_at FROM inbound_events WHERE id = $1 FOR UPDATE
         ), started AS (
           UPDATE inbound_events i SET handling_started_at = now() FROM e
            WHERE i.id = e.id AND e.status <> 'processed' AND e.handling_started_at IS NULL
         )
         SELECT status, event, received_at, handling_started_at${
           withRoute
             ? `, CASE WHEN e.status <> 'processed'
                  THEN (SELECT to_jsonb(r) FROM (${routeSql("e.event->>'accountId'", 2)}) r) END AS route`
             : ""
         } FROM e`,
        withRoute ? [eventId, ...ROUTE_PARAMS] : [eventId],
      );
      const row = rows[0];
      if (!row) return { outcome: "missing" as const };
      if (row.status === "processed") return { outcome: "already_processed" as const, event: row.event };
      const written = await recordEvent(tx, row.event, this.options);
      const { conversation, accountSettings } = written;
      // In the same transaction: the timers exist exactly when the message is recorded. A message
      // recovered later (backfill) is history and sets none.
      const e = row.event;
      if (this.timers && conversation && e.type === "dm.message" && !e.backfilled)
        await this.timers.customerWrote(tx, conversation, accountSettings ?? null);
      // An earlier attempt began here: it may have posted without storing the post's ref.
      const resumedSince = row.handling_started_at ? new Date(row.handling_started_at) : undefined;
      return {
        outcome: "recorded" as const,
        // A route read as JSON: its instants are strings, which is all the mirror asks of them.
        written: row.route ? { ...written, route: row.route } : written,
        event: row.event,
        receivedAt: new Date(row.received_at),
        resumedSince,
      };
    });
    if (recorded.outcome !== "recorded") return recorded;

    const { event } = recorded;
    const attributes = { "threadbridge.event.kind": event.type, "threadbridge.account": event.accountId };
    const mirror = this.mirror;
    if (mirror)
      await inSpan("mirror", { attributes }, () =>
        mirror.apply(event, eventId, recorded.resumedSince, recorded.written),
      );
    // Rules run once the event shows in its thread, so their notices follow it there.
    const rules = this.rules;
    // A recovered message is history: answering it now, maybe days later, would surprise everyone.
    const backfilled = (event.type === "dm.message" || event.type === "dm.echo") && event.backfilled === true;
    if (rules && !backfilled) await inSpan("rules", { attributes }, () => rules.run(event, eventId));
    // The processed mark, and with it (one statement, so one commit) the job's completion: the job
    // is never completed before the mark, and a failure of either leaves both undone for the retry.
    const { rows: settled } = await queryNamed<{ completed: number; successor: boolean }>(
      this.db,
      "tb_event_processed",
      job
        ? `WITH marked AS (${PROCESSED_MARK}), completed AS (${completeJobSql(job.queue, 2, 3)})
           SELECT (SELECT count(*) FROM marked)::int AS marked, (SELECT count(*) FROM completed)::int AS completed,
                  ${successorSql(job.queue)} AS successor`
        : PROCESSED_MARK,
      job ? [eventId, job.id, job.retryCount] : [eventId],
    );
    // The job was completed, and no job of its key waits: its completion makes nothing runnable.
    const alone = job !== undefined && settled[0]?.completed === 1 && settled[0]?.successor === false;
    this.log.debug(
      { eventId, kind: recorded.event.type, account: recorded.event.accountId },
      "event handled",
    );
    return {
      outcome: "processed",
      event: recorded.event,
      receivedAt: recorded.receivedAt,
      ...(job ? { jobCompleted: true, successor: !alone } : {}),
    };
  }
}
