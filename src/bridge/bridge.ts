import type { Database } from "../db/database.ts";
import type { DomainEvent } from "../instagram/events.ts";
import type { Logger } from "../log/logger.ts";
import { recordEvent } from "./record.ts";

export type HandleOutcome = "processed" | "already_processed" | "missing";

/**
 * The bridge core: takes one stored inbound event and applies it. It knows nothing of HTTP, queues
 * or chat SDKs; chat platforms plug in behind a port (DESIGN.md).
 */
export class Bridge {
  private readonly db: Database;
  private readonly log: Logger;

  constructor(deps: { db: Database; log: Logger }) {
    this.db = deps.db;
    this.log = deps.log;
  }

  /**
   * Handles stored event `eventId` exactly once: the records it changes and its `processed` mark
   * commit together, and the row lock makes a concurrent second attempt wait and then skip it.
   */
  async handleStored(
    eventId: number,
  ): Promise<{ outcome: HandleOutcome; event?: DomainEvent; receivedAt?: Date }> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ status: string; event: DomainEvent; received_at: Date }>(
        "SELECT status, event, received_at FROM inbound_events WHERE id = $1 FOR UPDATE",
        [eventId],
      );
      const row = rows[0];
      if (!row) return { outcome: "missing" as const };
      if (row.status === "processed") return { outcome: "already_processed" as const, event: row.event };
      await recordEvent(tx, row.event);
      await tx.query(
        "UPDATE inbound_events SET status = 'processed', processed_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1",
        [eventId],
      );
      this.log.debug({ eventId, kind: row.event.type, account: row.event.accountId }, "event handled");
      return { outcome: "processed" as const, event: row.event, receivedAt: new Date(row.received_at) };
    });
  }
}
