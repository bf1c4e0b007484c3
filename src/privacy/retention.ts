import type { Database } from "../db/database.ts";
import { SIGNED_REQUEST_MAX_AGE_SECONDS } from "../instagram/signed-request.ts";

// Keep only what the product needs, for as long as it needs it (seed 000, Platform Policy):
// message texts and the raw webhook items are purged after a configured age; the facts that
// the bridge runs on (ids, times, delivery states, mirror refs) stay, so threads keep working.

export interface RetentionPolicy {
  /** Message texts and attachment links older than this are erased. */
  messageDays: number;
  /** Raw webhook items (`inbound_events.raw`, and the text inside `event`) older than this. */
  rawEventDays: number;
  /** Accounts deauthorized on Instagram longer ago than this have all their data erased. */
  revokedAccountDays: number;
}

export interface PurgeCounts {
  messages: number;
  events: number;
  /** Deauthorized accounts erased after the grace period. */
  accounts: number;
  /** Meta's signed_requests forgotten: too old to be accepted again, so no repeat to recognise. */
  signedRequests: number;
}

/** `eraseAccount` erases one account whole, chat threads included (`account-erasure.ts`, wired
 * with the adapters by the composition root). */
export async function purgeExpired(
  db: Database,
  policy: RetentionPolicy,
  eraseAccount: (account: string) => Promise<unknown>,
  now = new Date(),
): Promise<PurgeCounts> {
  const before = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
  const { rows: messages } = await db.query(
    `UPDATE messages SET text = NULL, attachments = '[]', details = details - 'quickReplies' - 'imageUrl',
            updated_at = now()
      WHERE occurred_at < $1 AND (text IS NOT NULL OR attachments <> '[]')
      RETURNING id`,
    [before(policy.messageDays)],
  );
  // What mentions of the account said goes with message texts.
  const { rows: mentions } = await db.query(
    `UPDATE mentions SET text = NULL, media = NULL, updated_at = now()
      WHERE mentioned_at < $1 AND (text IS NOT NULL OR media IS NOT NULL) RETURNING id`,
    [before(policy.messageDays)],
  );
  // Processed events only: a queued or dead event is still work to do.
  const { rows: events } = await db.query(
    `UPDATE inbound_events SET raw = '{}'::jsonb, event = event - 'text' - 'attachments'
      WHERE received_at < $1 AND status IN ('processed', 'discarded') AND raw <> '{}'::jsonb
      RETURNING id`,
    [before(policy.rawEventDays)],
  );
  // Deauthorized accounts past the grace period (seed 000: within 7–10 business days).
  const { rows: revoked } = await db.query<{ id: string }>(
    "SELECT id FROM instagram_accounts WHERE status = 'revoked' AND updated_at < $1",
    [before(policy.revokedAccountDays)],
  );
  for (const { id } of revoked) await eraseAccount(id);
  // A day past the freshness window, so a clock that is a little off never forgets a request
  // that could still be accepted.
  const { rows: signedRequests } = await db.query(
    "DELETE FROM signed_request_replays WHERE issued_at < $1 RETURNING 1",
    [new Date(now.getTime() - SIGNED_REQUEST_MAX_AGE_SECONDS * 1000 - 86_400_000).toISOString()],
  );
  return {
    messages: messages.length + mentions.length,
    events: events.length,
    accounts: revoked.length,
    signedRequests: signedRequests.length,
  };
}
