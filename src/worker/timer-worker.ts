import type { PgBoss } from "pg-boss";
import type { Timers } from "../conversations/timers.ts";
import type { Logger } from "../log/logger.ts";
import { TIMER_QUEUE, type TimerJob } from "../queue/boss.ts";

/** Runs conversation timers as they come due (conversations/timers.ts). A timer that fails (a chat
 * platform away) is retried by the queue; one whose reason is gone does nothing. A timer's job is
 * made runnable by the clock, which sends no wake-up: it fires within `pollingIntervalSeconds`
 * (WORKER_POLL_SECONDS) of its time. */
export async function startTimerWorker(deps: {
  boss: PgBoss;
  timers: Timers;
  log: Logger;
  pollingIntervalSeconds: number;
}): Promise<string> {
  const options = { pollingIntervalSeconds: deps.pollingIntervalSeconds };
  return deps.boss.work<TimerJob>(TIMER_QUEUE, options, async (jobs) => {
    for (const job of jobs) {
      try {
        await deps.timers.fire(job.data);
      } catch (err) {
        deps.log.warn(
          { err, timer: job.data.kind, conversation: job.data.conversationId },
          "timer failed; retried",
        );
        throw err;
      }
    }
  });
}
