import type { PgBoss } from "pg-boss";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { Bridge } from "../mirror/pipeline.ts";
import { eventKindLabel, type Metrics } from "../observability/metrics.ts";
import { SendInFlightError } from "../outbound/echo-match.ts";
import { INBOUND_QUEUE, type InboundJob } from "../queue/boss.ts";
import { type SlotJob, workSlots } from "../queue/work-slots.ts";
import { inJobSpan } from "../tracing/spans.ts";

export interface InboundWorkerDeps {
  db: Database;
  boss: PgBoss;
  bridge: Bridge;
  log: Logger;
  metrics: Metrics;
  concurrency: number;
  pollingIntervalSeconds: number;
}

/**
 * Takes inbound jobs and hands each stored event to the bridge. A failure is recorded on the event
 * and rethrown so pg-boss retries it with backoff; after the last retry the event is marked dead
 * and its thread waits until an operator replays or discards it (`threadbridge dlq`).
 */
export async function startInboundWorker(deps: InboundWorkerDeps): Promise<string[]> {
  const { db, bridge, log, metrics } = deps;
  return workSlots<InboundJob>(
    deps.boss,
    INBOUND_QUEUE,
    { concurrency: deps.concurrency, pollingIntervalSeconds: deps.pollingIntervalSeconds },
    (job) =>
      // The delivery's trace goes on here, in whichever process took the job.
      inJobSpan(INBOUND_QUEUE, job.data, { "threadbridge.event.id": job.data.eventId }, () => handleJob(job)),
  );

  async function handleJob(job: SlotJob<InboundJob>): Promise<void> {
    const { eventId } = job.data;
    try {
      const result = await bridge.handleStored(eventId);
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
    } catch (err) {
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
