import { describe, expect, it } from "vitest";
import { IngestBatcher, IngestOverloadedError } from "../../src/ingest/ingest-batcher.ts";
import type { StoreResult } from "../../src/ingest/store-events.ts";
import type { InboundRecord } from "../../src/instagram/events.ts";

const record = (mid: string): InboundRecord => ({
  event: { type: "dm.seen", accountId: "1", occurredAt: 1, customerId: "2", mid },
  dedupeKey: `seen:${mid}`,
  threadKey: "dm:2",
  raw: {},
});

/** A store that remembers keys like the unique index does, and records each call's size. */
function memoryStore(options: { failOn?: string; delayMs?: number } = {}) {
  const seen = new Set<string>();
  const calls: number[] = [];
  let nextId = 1;
  const store = async (records: readonly InboundRecord[]): Promise<StoreResult> => {
    calls.push(records.length);
    await new Promise((r) => setTimeout(r, options.delayMs ?? 5));
    if (records.some((r) => r.dedupeKey === options.failOn)) throw new Error("bad row");
    const stored = records
      .filter((r) => !seen.has(r.dedupeKey) && seen.add(r.dedupeKey))
      .map((r) => ({
        id: nextId++,
        kind: r.event.type,
        accountId: r.event.accountId,
        dedupeKey: r.dedupeKey,
      }));
    return { stored, duplicates: records.length - stored.length };
  };
  return { store, calls };
}

describe("IngestBatcher", () => {
  it("commits a lone delivery at once, on its own", async () => {
    const { store, calls } = memoryStore();
    const batcher = new IngestBatcher(store, { maxInFlight: 2 });
    const result = await batcher.submit([record("a"), record("b")]);
    expect(result.stored.map((s) => s.dedupeKey)).toEqual(["seen:a", "seen:b"]);
    expect(calls).toEqual([2]);
  });

  it("groups deliveries that wait behind busy transactions and answers each with its own events", async () => {
    const { store, calls } = memoryStore({ delayMs: 20 });
    const batcher = new IngestBatcher(store, { maxInFlight: 1 });
    const first = batcher.submit([record("m0")]);
    // The next nine arrive after the first's transaction began (a later turn of the event loop).
    await new Promise((r) => setTimeout(r, 5));
    const results = [
      await first,
      ...(await Promise.all(Array.from({ length: 9 }, (_, i) => batcher.submit([record(`m${i + 1}`)])))),
    ];
    expect(results.map((r) => r.stored.map((s) => s.dedupeKey))).toEqual(
      Array.from({ length: 10 }, (_, i) => [`seen:m${i}`]),
    );
    // The first goes alone; the nine that queued behind it share one transaction.
    expect(calls).toEqual([1, 9]);
  });

  it("sends the deliveries of one turn of the event loop together, and later ones on their own", async () => {
    const { store, calls } = memoryStore({ delayMs: 5 });
    const batcher = new IngestBatcher(store, { maxInFlight: 4 });
    // Three bodies read in the same turn: one statement, though slots are free.
    await Promise.all([
      batcher.submit([record("t1")]),
      batcher.submit([record("t2")]),
      batcher.submit([record("t3")]),
    ]);
    // One alone, in a later turn: sent at once, by itself.
    await batcher.submit([record("t4")]);
    expect(calls).toEqual([3, 1]);
  });

  it("counts an event repeated across grouped deliveries as stored once", async () => {
    const { store } = memoryStore({ delayMs: 20 });
    const batcher = new IngestBatcher(store, { maxInFlight: 1 });
    const [, second, third] = await Promise.all([
      batcher.submit([record("x")]),
      batcher.submit([record("dup")]),
      batcher.submit([record("dup")]),
    ]);
    expect([second?.stored.length, third?.stored.length]).toEqual([1, 0]);
    expect(third?.duplicates).toBe(1);
  });

  it("does not let one failing delivery fail the others in its group", async () => {
    const { store } = memoryStore({ failOn: "seen:poison", delayMs: 20 });
    const batcher = new IngestBatcher(store, { maxInFlight: 1 });
    const outcomes = await Promise.allSettled([
      batcher.submit([record("first")]),
      batcher.submit([record("ok1")]),
      batcher.submit([record("poison")]),
      batcher.submit([record("ok2")]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
  });

  it("refuses deliveries past its bound while events wait, and takes them again once they are stored", async () => {
    const { store, calls } = memoryStore({ delayMs: 30 });
    const batcher = new IngestBatcher(store, { maxInFlight: 1, maxQueuedEvents: 3 });
    const first = batcher.submit([record("q0")]);
    // The first is in its statement; the next three wait behind it, filling the bound.
    await new Promise((r) => setTimeout(r, 5));
    const waiting = [batcher.submit([record("q1"), record("q2")]), batcher.submit([record("q3")])];
    expect(batcher.waiting).toBe(3);
    await expect(batcher.submit([record("q4")])).rejects.toBeInstanceOf(IngestOverloadedError);
    await first;
    await Promise.all(waiting);
    expect(batcher.waiting).toBe(0);
    const later = await batcher.submit([record("q4")]);
    expect(later.stored.map((e) => e.dedupeKey)).toEqual(["seen:q4"]);
    // Nothing refused was stored: q4 went once, after the others.
    expect(calls).toEqual([1, 3, 1]);
  });

  it("takes a delivery larger than its bound when nothing waits", async () => {
    const { store } = memoryStore();
    const batcher = new IngestBatcher(store, { maxQueuedEvents: 2 });
    const result = await batcher.submit([record("big1"), record("big2"), record("big3")]);
    expect(result.stored).toHaveLength(3);
  });
});
