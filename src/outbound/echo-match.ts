import type { SqlClient } from "../db/database.ts";
import type { DmEcho } from "../instagram/events.ts";

// Instagram echoes every message the business sends, ours included. An echo of our own send must
// never be mirrored as if someone had written from the Instagram app. Normally the send's answer
// (its message id) is stored before the echo is handled, and the echo then finds its row. Two
// races are handled here:
//   - the echo is handled while the send is still in flight (answer not yet stored): the echo
//     waits (its job retries shortly), since the in-flight row will soon carry the id;
//   - the worker died mid-call, so no answer was ever stored: after ECHO_GRACE_MS the echo is
//     taken as the delivery of that in-flight part, and the retried send finds it delivered.

/** How long a send stays "in flight" before an echo may be taken as its delivery, and before a
 * retried send gives up waiting for an echo and sends again (OUTBOUND_ECHO_GRACE_SECONDS). */
export const DEFAULT_ECHO_GRACE_MS = 30_000;

export class SendInFlightError extends Error {
  override name = "SendInFlightError";
}

interface InFlight {
  id: number;
  send_started_at: Date;
  ig_message_id: string | null;
  parts_done: number;
  parts_total: number;
}

/**
 * True when the echo is of a message this service sent (nothing to record or mirror); throws
 * SendInFlightError when that cannot be known yet.
 */
export async function matchOwnEcho(
  tx: SqlClient,
  e: DmEcho,
  conversationId: number,
  graceMs: number,
  now = Date.now(),
): Promise<boolean> {
  const known = await tx.query(
    `SELECT 1 FROM messages WHERE account_id = $1 AND (ig_message_id = $2 OR details->'partMids' ? $2) LIMIT 1`,
    [e.accountId, e.mid],
  );
  if (known.rows.length > 0) return true;
  const { rows } = await tx.query<InFlight>(
    `SELECT id, send_started_at, ig_message_id,
            COALESCE((details->>'partsDone')::int, 0) AS parts_done,
            COALESCE((details->>'partsTotal')::int, 1) AS parts_total
       FROM messages
      WHERE conversation_id = $1 AND author_kind IN ('agent', 'rule') AND send_started_at IS NOT NULL
        AND delivery_state IN ('pending', 'held')
      ORDER BY id LIMIT 1 FOR UPDATE`,
    [conversationId],
  );
  const row = rows[0];
  if (!row) return false;
  if (now - new Date(row.send_started_at).getTime() < graceMs)
    throw new SendInFlightError(
      `a send in this conversation is in flight (message ${row.id}); the echo waits for it`,
    );
  const done = row.parts_done + 1;
  await tx.query(
    `UPDATE messages SET
       ig_message_id = COALESCE(ig_message_id, $2),
       details = CASE WHEN ig_message_id IS NULL THEN details
                      ELSE jsonb_set(details, '{partMids}', COALESCE(details->'partMids', '[]'::jsonb) || to_jsonb($2::text)) END
                 || jsonb_build_object('partsDone', $3::int, 'reconciledByEcho', true),
       send_started_at = NULL,
       delivery_state = CASE WHEN $3::int >= $4::int THEN 'sent' ELSE delivery_state END,
       sent_at = CASE WHEN $3::int >= $4::int THEN now() ELSE sent_at END,
       updated_at = now()
     WHERE id = $1`,
    [row.id, e.mid, done, row.parts_total],
  );
  return true;
}
