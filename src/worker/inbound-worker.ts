import type { PgBoss } from "pg-boss";
import { DestinationHeld, DestinationUnusable } from "../chat/health.ts";
import type { Database } from "../db/database.ts";
import { deferHeldJob, recordHold } from "../health/holds.ts";
import type { Logger } from "../log/logger.ts";
import type { Bridge } from "../mirror/pipeline.ts";
import { eventKindLabel, type Metrics } from "../observability/metrics.ts";
import { SendInFlightError } from "../outbound/echo-match.ts";
import { INBOUND_QUEUE, type InboundJob } from "../queue/boss.ts";
import type { JobBell } from "../queue/job-bell.ts";
import {
  COMPLETED_BY_HANDLER,
  COMPLETED_NO_SUCCESSOR,
  type HandlerResult,
  type SlotJob,
  type Slots,
  workSlots,
} from "../queue/work-slots.ts";
import { inJobSpan } from "../tracing/spans.ts";

/** The inbound loop's fetch gap (work-slots.ts SlotOptions.fetchGapMs): at most this much later
 * for an event that arrives while others are in hand. In alternating pairs of the capacity bench
 * (bench/README.md) the inbound fetches per event fell by a third in the drain, and neither the
 * drain nor the steady step's p99 was worse in any pair. The outbound loop keeps none: a
 * conversation's next reply is fetched by its predecessor's completion, and the Send API's pacing
 * was not measured with it. */
const INBOUND_FETCH_GAP_MS = 5;

export interface InboundWorkerDeps {
  db: Database;
  boss: PgBoss;
  bridge: Bridge;
  log: Logger;
  metrics: Metrics;
  concurrency: number;
  pollingIntervalSeconds: number;
  /** Wakes the loop when a job is queued (the service's one listener); without it, it polls. */
  bell?: JobBell | undefined;
  /** How long a job whose chat destination is held waits before it looks again (the recheck
   * interval, CHAT_CHECK_SECONDS; a release wakes it sooner). Default two minutes. */
  holdRecheckMs?: number;
}

/**
 * Takes inbound jobs and hands each stored event to the bridge. A failure is recorded on the event
 * and rethrown so pg-boss retries it with backoff; after the last retry the event is marked dead
 * and its thread waits until an operator replays or discards it (`threadbridge dlq`). A chat
 * destination that answers something no retry can fix holds the job instead (health/holds.ts): no
 * retry is spent and the thread waits, in order, until a recheck lets it go.
 */
export async function startInboundWorker(deps: InboundWorkerDeps): Promise<Slots> {
  const { db, bridge, log, metrics } = deps;
  return workSlots<InboundJob>(
    deps.boss,
    INBOUND_QUEUE,
    {
      concurrency: deps.concurrency,
      pollingIntervalSeconds: deps.pollingIntervalSeconds,
      bell: deps.bell,
      // One worker process woken per event queued, not every idle one (queue/job-bell.ts).
      wakeOne: true,
      db,
      fetchGapMs: INBOUND_FETCH_GAP_MS,
      // The handler's recording commits synchronously before the event is posted anywhere.
      unflushedFetch: true,
      onError: (err, what) => log.error({ err }, `inbound queue: could not ${what}`),
    },
    (job) =>
      // The delivery's trace goes on here, in whichever process took the job.
      inJobSpan(INBOUND_QUEUE, job.data, { "threadbridge.event.id": job.data.eventId }, () => handleJob(job)),
  );

  /** Holds the job on its destination; the first job to find the destination unusable records the
   * hold and says so, once, with the fix. */
  async function hold(job: SlotJob<InboundJob>, err: DestinationUnusable | DestinationHeld): Promise<void> {
    const { eventId } = job.data;
    try {
      if (err instanceof DestinationUnusable && (await recordHold(db, err)))
        log.error(
          { platform: err.platform, channel: err.channel, reason: err.reason, fix: err.fix, eventId },
          `chat destination unusable (${err.reason}): its mirror work is held until a recheck passes. ${err.fix}`,
        );
      await deferHeldJob(db, deps.boss, job, err, new Date(Date.now() + (deps.holdRecheckMs ?? 120_000)));
      log.debug({ eventId, platform: err.platform, channel: err.channel }, "inbound event held");
    } catch (failure) {
      // The hold could not be recorded: the job fails like any other and is retried.
      log.warn({ err: failure, eventId }, "could not hold an inbound event; it will be retried");
      throw err;
    }
  }

  async function handleJob(job: SlotJob<InboundJob>): Promise<HandlerResult> {
    const { eventId } = job.data;
    try {
      // The job is completed with the event's processed mark, in its statement (pipeline.ts).
      const result = await bridge.handleStored(eventId, {
        queue: INBOUND_QUEUE,
        id: job.id,
        retryCount: job.retryCount,
      });
      if (result.outcome === "missing") {
        // Erased (privacy request or retention) between enqueue and handling: nothing left to do.
        log.info({ eventId }, "inbound event no longer stored; skipped");
        return;
      }
      // Read back from the database: whatever a stored row says, the label is one of a fixed set.
      const kind = eventKindLabel(result.event?.type ?? "unknown");
      metrics.jobsProcessed.inc({ kind, outcome: result.outcome });
      if (result.receivedAt)
        metrics.jobLatency.observe({ kind }, (Date.now() - result.receivedAt.getTime()) / 1000);
      if (!result.jobCompleted) return undefined;
      return result.successor === false ? COMPLETED_NO_SUCCESSOR : COMPLETED_BY_HANDLER;
    } catch (err) {
      if (err instanceof DestinationUnusable || err instanceof DestinationHeld) {
        await hold(job, err);
        return;
      }
      // Past the job's own limit (an operator's replay grants one more try) there is no retry left.
      const final = job.retryCount >= job.retryLimit;
      const message = err instanceof Error ? err.message : String(err);
      const kind = await db
        .query<{ kind: string }>(
          `UPDATE inbound_events SET attempts = attempts + 1, last_error = $2,
             status = CASE WHEN $3::boolean THEN 'dead' ELSE status END
           WHERE id = $1 AND status <> 'processed'
           RETURNING kind`,
          [eventId, message.slice(0, 1000), final],
        )
        .then(({ rows }) => rows[0]?.kind)
        .catch((e: unknown) => {
          log.error({ err: e, eventId }, "could not record the failure");
          return undefined;
        });
      // The stored row's kind, through the same fixed set as a handled job's (`other` when the row
      // could not be read back).
      metrics.jobsProcessed.inc({ kind: eventKindLabel(kind), outcome: final ? "dead" : "retried" });
      if (final)
        log.error(
          { err, eventId, attempts: job.retryCount + 1 },
          "inbound event failed for good; dead-lettered",
        );
      else if (err instanceof SendInFlightError)
        log.debug({ eventId, reason: message }, "echo waits for its send");
      else log.warn({ err, eventId, attempt: job.retryCount + 1 }, "inbound event failed; will retry");
      throw err;
    }
  }
}
