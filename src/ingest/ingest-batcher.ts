import type { InboundRecord } from "../instagram/events.ts";
import { traceCarrier } from "../tracing/spans.ts";
import type { StoreResult, TracedRecord } from "./store-events.ts";

type Store = (records: readonly TracedRecord[]) => Promise<StoreResult>;

interface Pending {
  records: readonly TracedRecord[];
  resolve: (result: StoreResult) => void;
  reject: (err: unknown) => void;
}

/** A delivery refused because too many events already wait to be stored: answered 503 so that Meta
 * delivers it again later, instead of the wait (and the memory holding it) growing without end. */
export class IngestOverloadedError extends Error {
  constructor(waiting: number) {
    super(`${waiting} events already wait to be stored`);
    this.name = "IngestOverloadedError";
  }
}

const keyOf = (accountId: string, dedupeKey: string) => `${accountId}\u0000${dedupeKey}`;

/**
 * Group commit for webhook deliveries. A commit costs the same for one event as for fifty, so
 * deliveries that arrive while `maxInFlight` transactions are already running wait and go together
 * in the next one, and deliveries whose bodies are read in the same turn of the event loop go
 * together from the start: a statement is sent once that turn's I/O is done (setImmediate), not
 * for each delivery as it comes. An idle service commits each delivery at once; a busy one commits
 * in batches that grow with the load. Each delivery is still answered only after its own events
 * are committed.
 */
export class IngestBatcher {
  private readonly store: Store;
  private readonly maxInFlight: number;
  private readonly maxBatchEvents: number;
  private readonly maxQueuedEvents: number;
  private queue: Pending[] = [];
  private queuedEvents = 0;
  private inFlight = 0;
  private scheduled = false;

  constructor(
    store: Store,
    options: { maxInFlight?: number; maxBatchEvents?: number; maxQueuedEvents?: number } = {},
  ) {
    this.store = store;
    // Two: statements in flight share the WAL flush, and each one fewer makes the others larger,
    // while most of a statement's cost is per statement, not per event (bench/README.md, "Ingest,
    // the batch in flight": 4 → 2 cut Postgres's CPU per webhook by about a quarter).
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxBatchEvents = options.maxBatchEvents ?? 1000;
    // Ten full batches: far more than a healthy database lets pile up (50 connections at full load
    // queue a few hundred), and a bounded amount of memory (parsed events of a kilobyte or two, so
    // some 10-20 MiB) when it stalls.
    this.maxQueuedEvents = options.maxQueuedEvents ?? 10 * this.maxBatchEvents;
  }

  /** Events waiting for a statement (not those in one already). */
  get waiting(): number {
    return this.queuedEvents;
  }

  submit(records: readonly InboundRecord[]): Promise<StoreResult> {
    if (records.length === 0) return Promise.resolve({ stored: [], duplicates: 0 });
    // A delivery larger than the whole bound still goes when nothing waits, so no delivery is
    // refused for its size alone (its body is already bounded by WEBHOOK_MAX_BODY).
    if (this.queuedEvents > 0 && this.queuedEvents + records.length > this.maxQueuedEvents)
      return Promise.reject(new IngestOverloadedError(this.queuedEvents));
    // The delivery's trace goes with its records: the batch may be committed from another
    // delivery's context, and each event's job continues its own delivery's trace.
    const { trace } = traceCarrier();
    const traced = trace ? records.map((r) => ({ ...r, trace })) : records;
    return new Promise((resolve, reject) => {
      this.queue.push({ records: traced, resolve, reject });
      this.queuedEvents += traced.length;
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: Pending[] = [];
      let events = 0;
      while (
        this.queue.length > 0 &&
        (batch.length === 0 || events + (this.queue[0] as Pending).records.length <= this.maxBatchEvents)
      ) {
        const next = this.queue.shift() as Pending;
        batch.push(next);
        events += next.records.length;
      }
      this.queuedEvents -= events;
      this.inFlight++;
      this.commit(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      const result = await this.store(batch.flatMap((p) => p.records));
      const byKey = new Map(result.stored.map((e) => [keyOf(e.accountId, e.dedupeKey), e]));
      for (const p of batch) {
        const stored = p.records.flatMap((r) => {
          const key = keyOf(r.event.accountId, r.dedupeKey);
          const e = byKey.get(key);
          // An event repeated across deliveries of one batch counts as stored for the first only.
          if (e) byKey.delete(key);
          return e ? [e] : [];
        });
        p.resolve({ stored, duplicates: p.records.length - stored.length });
      }
    } catch (err) {
      if (batch.length === 1) {
        (batch[0] as Pending).reject(err);
        return;
      }
      // One bad delivery must not fail the others it happened to share a transaction with.
      await Promise.all(
        batch.map((p) =>
          this.store(p.records).then(
            (r) => p.resolve(r),
            (e: unknown) => p.reject(e),
          ),
        ),
      );
    }
  }
}
