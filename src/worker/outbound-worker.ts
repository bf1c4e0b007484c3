import type { PgBoss } from "pg-boss";
import type { SqlClient } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import { type OutboundSender, SendDeferred } from "../outbound/send-worker.ts";
import { performSenderAction, type SenderActionDeps } from "../outbound/sender-actions.ts";
import { OUTBOUND_QUEUE, type OutboundJob } from "../queue/boss.ts";
import type { JobBell } from "../queue/job-bell.ts";
import { type SlotJob, type Slots, workSlots } from "../queue/work-slots.ts";
import { inJobSpan } from "../tracing/spans.ts";

/**
 * Takes outbound jobs. A deferred send (rate limit, pause, awaiting an echo) and any unexpected
 * failure (database, chat platform) rethrow, so pg-boss retries the job while its conversation's
 * later messages wait behind it; a final Instagram refusal is a completed job whose message is
 * marked failed in the thread.
 */
export function startOutboundWorker(deps: {
  boss: PgBoss;
  sender: OutboundSender;
  /** For sender actions (mark_seen, typing_on) queued in the same lanes. */
  actions: SenderActionDeps;
  log: Logger;
  concurrency: number;
  pollingIntervalSeconds: number;
  /** Wakes the loop when a job is queued (the service's one listener); without it, it polls. */
  bell?: JobBell | undefined;
  /** The connection the loop fetches on, as the inbound loop: named, with the key_strict_fifo
   * heads found per candidate (queue/strict-fifo-fetch.ts), so a backlog (an Instagram outage's
   * retries) does not make each fetch read it all. Without it, pg-boss's own fetch. */
  db?: SqlClient | undefined;
}): Promise<Slots> {
  return workSlots<OutboundJob>(
    deps.boss,
    OUTBOUND_QUEUE,
    {
      concurrency: deps.concurrency,
      pollingIntervalSeconds: deps.pollingIntervalSeconds,
      // Every worker process is rung for a send queued (no wakeOne): sends wait on the Send API's
      // limiter, and with one process woken less of the limit was reached (queue/job-bell.ts).
      bell: deps.bell,
      db: deps.db,
      onError: (err, what) => deps.log.error({ err }, `outbound queue: could not ${what}`),
    },
    (job: SlotJob<OutboundJob>) =>
      inJobSpan(OUTBOUND_QUEUE, job.data, { "threadbridge.message.id": job.data.messageId }, () => send(job)),
  );

  async function send(job: SlotJob<OutboundJob>): Promise<void> {
    const { messageId, senderAction } = job.data;
    try {
      if (senderAction) {
        const done = await performSenderAction(deps.actions, senderAction);
        deps.log.debug({ action: senderAction.action, result: done }, "sender action handled");
        return;
      }
      const result = await deps.sender.send(messageId);
      deps.log.debug({ messageId, result }, "outbound message handled");
    } catch (err) {
      if (err instanceof SendDeferred)
        deps.log.debug({ messageId, reason: err.message }, "outbound message waits");
      else
        deps.log.warn({ err, messageId, attempt: job.retryCount + 1 }, "outbound message failed; will retry");
      throw err;
    }
  }
}
