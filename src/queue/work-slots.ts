import type { JobWithMetadata, PgBoss } from "pg-boss";
import type { SqlClient } from "../db/database.ts";
import { queryNamed } from "../db/query-named.ts";
import { UNFLUSHED_COMMIT } from "../db/unflushed-commit.ts";
import type { JobBell } from "./job-bell.ts";
import { strictFifoFetch } from "./strict-fifo-fetch.ts";

export type SlotJob<T> = JobWithMetadata<T>;

/** What a handler returns when it completed its job itself, in a statement of its own fenced to
 * the attempt fetched (queue/complete-in-statement.ts): the loop then only lets the job go. */
export const COMPLETED_BY_HANDLER = "completed-by-handler";
/** As COMPLETED_BY_HANDLER, and that statement also found no job of the completed job's key
 * waiting (read in its snapshot): the completion makes nothing runnable, so the loop does not
 * fetch for it (see `owed` in workSlots for when it still does). */
export const COMPLETED_NO_SUCCESSOR = "completed-no-successor";
export type HandlerResult =
  // biome-ignore lint/suspicious/noConfusingVoidType: the usual handler returns nothing
  void | typeof COMPLETED_BY_HANDLER | typeof COMPLETED_NO_SUCCESSOR;

/** A queue's job loop in this process. */
export interface Slots {
  readonly queue: string;
  /** Stops fetching, waits up to `timeoutMs` for the jobs in hand, then fails those still running
   * (each is retried, by this or another process, as after a crash). */
  stop(timeoutMs?: number): Promise<void>;
}

export interface SlotOptions {
  concurrency: number;
  /** How often an idle loop looks for jobs: the bound on the wait for a job nothing rang for (a
   * retry coming due, another process's completion, a NOTIFY lost while the listener was down). */
  pollingIntervalSeconds: number;
  /** Rings the loop when a job is queued (pg-boss's NOTIFY); without it the loop polls. */
  bell?: JobBell | undefined;
  /** The bell rings one process's loop of the queue at a time, not every process's (job-bell.ts). */
  wakeOne?: boolean | undefined;
  /** A fetch, completion or failure that could not be made (the database away). */
  onError?: (err: unknown, what: string) => void;
  /** Where the fetch runs: pg-boss's own statement (a key_strict_fifo queue's with its heads found
   * per candidate, queue/strict-fifo-fetch.ts), sent on this pool as a named statement (parsed
   * once per connection, no longer at every fetch: bench/README.md, "Mirror capacity, fourth
   * pass"). Without it, on pg-boss's pool, unnamed and as pg-boss wrote it. */
  db?: SqlClient | undefined;
  /**
   * While the loop has jobs in hand, a fetch waits until this long after the last one (ms; default
   * 0). Every ring and completion otherwise fetches on its own: at a steady 300 events a second the
   * inbound loop fetched 1.2 times per event, its costliest statement (pg-boss's strict-FIFO heads);
   * a few milliseconds' wait lets the jobs queued meanwhile come in one fetch. An idle loop fetches
   * at once, so a lone event is not delayed.
   */
  fetchGapMs?: number | undefined;
  /**
   * The fetch commits without waiting for the WAL flush (db/unflushed-commit.ts), on `db` only.
   * For a queue whose handler commits synchronously before any outside call (that commit flushes
   * the fetch with it): a fetch lost with Postgres then loses nothing but the job's start, and the
   * job is fetched again. Not for a handler that may call out first.
   */
  unflushedFetch?: boolean | undefined;
}

const loops = new WeakMap<PgBoss, Set<Slots>>();
/** How long after a failure the loop keeps looking often for its retry: past the longest wait of
 * the outbound queue's retries (30 s), the inbound queue's first few. */
const RETRY_WATCH_MS = 60_000;

/**
 * Runs up to `concurrency` jobs of `queue` at once, each settled on its own as it finishes. One
 * fetcher claims as many jobs as there are free slots in one statement, when the bell rings (a job
 * was queued), when a job finishes (in a key_strict_fifo queue a completion is what makes the key's
 * next job runnable) and at the polling interval; it never fetches with no slot free.
 *
 * pg-boss's own `work()` was used before, one worker per slot: its NOTIFY woke every idle worker,
 * so below saturation each job cost up to `concurrency - 1` empty fetches besides its own (1,403
 * fetches for 200 events at 20/s, bench/README.md). One `work()` taking a batch would end that, but
 * it settles a batch only when its slowest job is done, so one job waiting out a chat platform's
 * rate limit would hold back every other conversation fetched with it. Hence this loop, which keeps
 * what `work()` gave: the completion and the failure fenced to the attempt fetched (a job that was
 * meanwhile expired, held or retried elsewhere is left alone), retries by pg-boss's backoff on a
 * failure, the heartbeat while a job runs, a handler that outruns the job's expiry failed (its slot
 * stays taken until it returns), and on stop a wait for the jobs in hand, then their failure.
 */
export async function workSlots<T extends object>(
  boss: PgBoss,
  queue: string,
  options: SlotOptions,
  handle: (job: SlotJob<T>) => Promise<HandlerResult>,
): Promise<Slots> {
  const pollMs = Math.max(50, options.pollingIntervalSeconds * 1000);
  // A failed job comes back as a retry at a time pg-boss draws (backoff with jitter) and no NOTIFY
  // announces. While this loop's failures may be coming due it looks as often as the one-worker-
  // per-slot design did together (every poll interval ÷ slots), so a conversation waiting out a
  // rate limit (outbound waits are retries of 1 s and more) is not slowed by the single fetcher.
  const retryPollMs = Math.max(50, pollMs / options.concurrency);
  // pg-boss builds the fetch (its text inlines the queue and the batch size, so each size is a
  // statement of its own) and reads its rows; the connection it runs on is ours, and for a
  // key_strict_fifo queue how its heads are found (queue/strict-fifo-fetch.ts), rewritten once per
  // batch size. On PGlite (no named statements) pg-boss's own adapter keeps it as it is.
  const fetchDb = options.db?.queryPrepared ? options.db : undefined;
  const rewritten = new Map<string, string>();
  const fetchOn = fetchDb && {
    executeSql: (text: string, values?: unknown[]) => {
      let sent = rewritten.get(text);
      if (sent === undefined) {
        sent = strictFifoFetch(text) ?? text;
        // The whole statement as a CTE (it may carry its own WITH), its rows passed through
        // unchanged: the setting is evaluated for each job taken, and a fetch that takes none
        // commits nothing to wait for.
        if (options.unflushedFetch)
          sent = `WITH taken AS (${sent}) SELECT * FROM taken WHERE ${UNFLUSHED_COMMIT} IS NOT NULL`;
        rewritten.set(text, sent);
      }
      return queryNamed(fetchDb, `tb_fetch_${queue}`, sent, values);
    },
  };
  let lastFailure = Number.NEGATIVE_INFINITY;
  const onError =
    options.onError ??
    ((err: unknown) => boss.emit("error", err instanceof Error ? err : new Error(String(err))));
  /** Jobs claimed and not yet settled by this loop. */
  const held = new Map<string, SlotJob<T>>();
  /** Handlers still running, settled or not (an overrun keeps its slot). */
  const running = new Set<Promise<void>>();
  let stopping = false;
  let rung = false;
  let wake: (() => void) | undefined;
  let endGap: (() => void) | undefined;
  const ring = () => {
    rung = true;
    wake?.();
  };
  /** Bell rings so far: a job started before a ring may have been fetched around a job queued
   * meanwhile, which its own completion must then fetch for. */
  let rings = 0;
  const bell = options.bell;
  const unring = bell?.on(
    queue,
    () => {
      rings++;
      // Rung while half the slots or more are taken: when this process's loop is the one the bell
      // wakes (wakeOne), it would take the job only after the jobs in hand, so another process's
      // loop is woken too.
      if (running.size * 2 >= options.concurrency) bell?.pass(queue);
      ring();
    },
    { one: options.wakeOne === true },
  );
  /** Whether jobs may be waiting that no fetch took for want of a slot: the last fetch filled
   * every slot it had, or the loop was woken with none free. A completion then fetches whatever
   * its handler says. */
  let owed = false;
  // A boss stopped without stopWork() first (a test's teardown): fetch no more.
  const onStopped = () => {
    stopping = true;
    endGap?.();
    wake?.();
  };
  boss.once("stopped", onStopped);

  const settle = async (what: "complete" | "fail" | "let go", job: SlotJob<T>, data?: unknown) => {
    if (!held.delete(job.id) || what === "let go") return;
    try {
      const attempt = { id: job.id, retryCount: job.retryCount };
      if (what === "complete") await boss.complete(queue, attempt);
      else {
        lastFailure = Date.now();
        await boss.fail(queue, attempt, data as object);
      }
    } catch (err) {
      // The job stays active in the database: its heartbeat stops, so the supervisor hands it out
      // again (as after a crash), and the handler's work is idempotent for that.
      onError(err, what);
    }
  };

  const run = (job: SlotJob<T>) => {
    held.set(job.id, job);
    const ringsAtStart = rings;
    /** False only when the handler completed the job and saw no successor of its key. */
    let wakes = true;
    let timer: NodeJS.Timeout | undefined;
    const handler = (async () => handle(job))();
    const task = (async () => {
      const timeout = new Promise<"timeout">((resolve) => {
        if (job.expireInSeconds > 0) timer = setTimeout(() => resolve("timeout"), job.expireInSeconds * 1000);
      });
      try {
        const outcome = await Promise.race([
          handler.then((r) => {
            if (r === COMPLETED_NO_SUCCESSOR) wakes = false;
            return r === COMPLETED_BY_HANDLER || r === COMPLETED_NO_SUCCESSOR
              ? ("completed" as const)
              : ("done" as const);
          }),
          timeout,
        ]);
        if (outcome === "timeout") {
          await settle("fail", job, new Error(`handler execution exceeded ${job.expireInSeconds}s`));
          await handler.catch(() => {});
        } else await settle(outcome === "completed" ? "let go" : "complete", job);
      } catch (err) {
        await settle("fail", job, err);
      } finally {
        clearTimeout(timer);
      }
    })();
    running.add(task);
    void task.finally(() => {
      running.delete(task);
      // A completion makes the key's next job runnable and frees a slot: fetch, unless nothing can
      // be waiting for either (no successor, no job left unfetched for want of a slot, no job queued
      // since this one started: the handler's read may have missed it). The poll bounds any miss.
      if (wakes || owed || rings !== ringsAtStart) ring();
    });
  };

  // One refresh for every job in hand, at half the queue's heartbeat, in place of pg-boss's timer
  // per batch (the inbound and outbound jobs carry their queue's).
  const heartbeat = setInterval(
    () => {
      const jobs = [...held.values()].filter((j) => (j.heartbeatSeconds ?? 0) > 0);
      if (jobs.length === 0) return;
      boss
        .touch(
          queue,
          jobs.map((j) => ({ id: j.id, retryCount: j.retryCount })),
        )
        .catch((err: unknown) => onError(err, "heartbeat"));
    },
    (await heartbeatSeconds(boss, queue)) * 500,
  );
  heartbeat.unref();

  const gapMs = options.fetchGapMs ?? 0;
  let lastFetch = Number.NEGATIVE_INFINITY;
  const loop = (async () => {
    while (!stopping) {
      // While jobs are in hand, fetches are at least `fetchGapMs` apart (SlotOptions).
      const early = running.size > 0 ? lastFetch + gapMs - performance.now() : 0;
      if (early > 0) {
        // Not cut short by a ring (that is what it waits for), only by a stop. A timer may fire up
        // to a millisecond early by the clock (its delay is whole milliseconds from the event
        // loop's cached time), so the gap is measured again before the fetch.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.ceil(early));
          endGap = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        endGap = undefined;
        continue;
      }
      rung = false;
      const free = options.concurrency - running.size;
      if (free > 0) {
        try {
          lastFetch = performance.now();
          const jobs = await boss.fetch<T>(queue, {
            batchSize: free,
            includeMetadata: true,
            ...(fetchOn ? { db: fetchOn } : {}),
          });
          for (const job of jobs) run(job);
          // Every free slot filled: more may be waiting, fetch again when one frees.
          owed = jobs.length === free;
          // A slot freed while the fetch was out, by a completion that saw nothing owed then.
          if (owed && running.size < options.concurrency) continue;
        } catch (err) {
          owed = true;
          if (!stopping) onError(err, "fetch");
        }
      } else owed = true;
      if (rung || stopping) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Date.now() - lastFailure < RETRY_WATCH_MS ? retryPollMs : pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  let stopped: Promise<void> | undefined;
  const slots: Slots = {
    queue,
    stop(timeoutMs = 10_000) {
      stopped ??= (async () => {
        stopping = true;
        unring?.();
        endGap?.();
        wake?.();
        await loop;
        let deadline: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...running]),
          new Promise((resolve) => {
            deadline = setTimeout(resolve, timeoutMs);
          }),
        ]);
        clearTimeout(deadline);
        // Still running past the grace: failed now, so they are retried at once rather than after
        // their expiry; a late completion of theirs is fenced out.
        await Promise.all(
          [...held.values()].map((job) => settle("fail", job, new Error("worker shut down while active"))),
        );
        clearInterval(heartbeat);
        boss.off("stopped", onStopped);
        loops.get(boss)?.delete(slots);
      })();
      return stopped;
    },
  };
  const set = loops.get(boss) ?? new Set<Slots>();
  loops.set(boss, set);
  set.add(slots);
  return slots;
}

/** The queue's heartbeat (pg-boss's queue option), 10 s when it has none, for the refresh cadence. */
async function heartbeatSeconds(boss: PgBoss, queue: string): Promise<number> {
  const q = await boss.getQueue(queue);
  return q?.heartbeatSeconds && q.heartbeatSeconds > 0 ? q.heartbeatSeconds : 10;
}

/** Stops this process's job loops on `boss` (those of `queue` only, when given), each waiting up to
 * `timeoutMs` for its jobs in hand, all at once. Before `boss.stop()`, which knows nothing of them. */
export async function stopWork(
  boss: PgBoss,
  options: { queue?: string; timeoutMs?: number } = {},
): Promise<void> {
  const all = [...(loops.get(boss) ?? [])].filter(
    (s) => options.queue === undefined || s.queue === options.queue,
  );
  await Promise.all(all.map((s) => s.stop(options.timeoutMs)));
}
