import type { Job, PgBoss } from "pg-boss";

export type SlotJob<T> = Job<T> & { retryCount: number; retryLimit: number };

/**
 * Runs `concurrency` pg-boss workers on `queue`, each taking one job at a time. After a job
 * completes its worker fetches again at once instead of sleeping out the poll interval: in a
 * key_strict_fifo queue the completion is what makes the key's next job runnable, and NOTIFY only
 * announces new jobs.
 */
export async function workSlots<T extends object>(
  boss: PgBoss,
  queue: string,
  options: { concurrency: number; pollingIntervalSeconds: number },
  handle: (job: SlotJob<T>) => Promise<void>,
): Promise<string[]> {
  const ids: string[] = [];
  for (let slot = 0; slot < options.concurrency; slot++) {
    const id = await boss.work<T>(
      queue,
      {
        batchSize: 1,
        includeMetadata: true,
        pollingIntervalSeconds: options.pollingIntervalSeconds,
        notifyPollingIntervalSeconds: options.pollingIntervalSeconds,
      },
      async (jobs) => {
        for (const job of jobs) await handle(job as SlotJob<T>);
        const self = ids[slot];
        if (self) boss.notifyWorker(self);
      },
    );
    ids.push(id);
  }
  return ids;
}
