// The inbound job loops are woken by a NOTIFY of its own after a webhook's statement, not inside it
// (store-events.ts says why): at most one in flight per handle, and every stored job followed by a
// NOTIFY sent after it was committed.
import { describe, expect, it } from "vitest";
import type { SqlClient } from "../../src/db/database.ts";
import { wakeInboundWorkers } from "../../src/ingest/store-events.ts";

/** A handle whose statements wait until the test settles them, in order. */
function heldClient() {
  const pending: Array<{ text: string; settle: (ok: boolean) => void }> = [];
  const sent: string[] = [];
  const db: SqlClient = {
    query: (text) => {
      sent.push(text);
      return new Promise((resolve, reject) => {
        pending.push({
          text,
          settle: (ok) => (ok ? resolve({ rows: [] }) : reject(new Error("connection lost"))),
        });
      });
    },
  };
  const next = async (ok = true) => {
    const p = pending.shift();
    if (!p) throw new Error("no statement in flight");
    p.settle(ok);
    // Let the waker's continuation run.
    await new Promise((r) => setImmediate(r));
  };
  return { db, sent, pending, next };
}

describe("wakeInboundWorkers", () => {
  it("sends one NOTIFY at a time, and one more after it for wake-ups asked meanwhile", async () => {
    const c = heldClient();
    wakeInboundWorkers(c.db);
    expect(c.sent).toHaveLength(1);
    expect(c.sent[0]).toMatch(/pg_notify/);
    // Three batches committed while the first NOTIFY is on its way: one more, after it.
    wakeInboundWorkers(c.db);
    wakeInboundWorkers(c.db);
    wakeInboundWorkers(c.db);
    expect(c.sent).toHaveLength(1);
    await c.next();
    expect(c.sent).toHaveLength(2);
    await c.next();
    expect(c.sent).toHaveLength(2);
    expect(c.pending).toHaveLength(0);
    // Idle again: the next wake-up is sent at once.
    wakeInboundWorkers(c.db);
    expect(c.sent).toHaveLength(3);
    await c.next();
  });

  it("keeps waking after a NOTIFY fails (the loops' poll covers the lost one)", async () => {
    const c = heldClient();
    wakeInboundWorkers(c.db);
    wakeInboundWorkers(c.db);
    await c.next(false);
    expect(c.sent).toHaveLength(2);
    await c.next();
    wakeInboundWorkers(c.db);
    expect(c.sent).toHaveLength(3);
    await c.next();
  });
});
