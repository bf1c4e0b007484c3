import type { SqlClient } from "../../src/db/database.ts";
import type { DmMessage } from "../../src/instagram/events.ts";

let seq = 0;

/** Stores a customer's DM as the ingest would (an inbound event with its dedupe and thread keys;
 * no queue job: the test hands its id to the bridge itself) and returns the event's id. Each call
 * is a new message, later than the one before. */
export async function storeDmEvent(
  db: SqlClient,
  account: string,
  customer: string,
  text: string,
): Promise<number> {
  seq += 1;
  const event: DmMessage = {
    type: "dm.message",
    accountId: account,
    customerId: customer,
    occurredAt: Date.now() + seq,
    mid: `mid.stored.${process.pid}.${seq}`,
    text,
    attachments: [],
  };
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO inbound_events (account_id, dedupe_key, kind, thread_key, event, raw, occurred_at, job_id)
     VALUES ($1, $2, $3, $4, $5, '{}', now(), gen_random_uuid()) RETURNING id`,
    [account, event.mid, event.type, `dm:${customer}`, JSON.stringify(event)],
  );
  return (rows[0] as { id: number }).id;
}
