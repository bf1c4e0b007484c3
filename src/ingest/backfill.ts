import type { PgBoss } from "pg-boss";
import type { Database } from "../db/database.ts";
import type { Attachment, DmEcho, DmMessage, InboundRecord } from "../instagram/events.ts";
import type { ConversationMessage, Result } from "../instagram/graph-client.ts";
import type { Logger } from "../log/logger.ts";
import type { InstagramGateway } from "../outbound/instagram-gateway.ts";
import { BACKFILL_QUEUE, type BackfillJob } from "../queue/boss.ts";
import { BackfillError } from "./backfill-error.ts";
import { storeInbound } from "./store-events.ts";

export { BackfillError };

// Backfill (issue 22): messages whose webhooks never came (an outage, a subscription lost on
// reconnect, history from before the account was connected) recovered through the Conversations
// API and stored exactly as webhook events are, so the same pipeline records and mirrors them.
// Each becomes the event its webhook would have been, under the same dedupe key (`msg:<mid>`):
// a message already delivered is not stored again, and a webhook arriving after the backfill
// adds nothing. Events are marked `backfilled`: their posts say so, rules never answer them, and
// they do not count as webhook traffic. Every Graph call takes its turn of the account's
// Conversations limit (2 calls/s) in the shared limiter.
//
// What the API cannot give (reference 4.2, platform-changes-2026): only the 20 most recent
// messages of a conversation are detailed; requests-folder conversations inactive for 30 days are
// not listed; shares, stories and reels come back empty or as a bare media link. A gap-filler,
// not an archive import.

export interface BackfillDeps {
  db: Database;
  boss: PgBoss;
  gateway: InstagramGateway;
  log: Logger;
}

export interface BackfillResult {
  /** Conversations read (updated since `since`). */
  conversations: number;
  /** Messages the API returned from `since` on. */
  found: number;
  /** Newly stored and queued for mirroring. */
  stored: number;
  /** Already known (delivered by webhook, sent from here, or backfilled before). */
  known: number;
}

/** How far back a (re)connected account is backfilled. */
export const CONNECT_BACKFILL_MS = 7 * 86_400_000;

/** The most pages of conversations read in one backfill: 25 per page by default, so up to a few
 * hundred conversations; older ones are left (the API details recent messages only anyway). */
const MAX_PAGES = 40;

/** Recovers the account's messages since `since` and queues those not yet stored. */
export async function backfillAccount(
  deps: BackfillDeps,
  account: string,
  since: Date,
): Promise<BackfillResult> {
  const result: BackfillResult = { conversations: 0, found: 0, stored: 0, known: 0 };
  const records: InboundRecord[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const listed = await call(deps, account, (token) =>
      deps.gateway.graph.listConversations(token, account, after),
    );
    let older = false;
    for (const c of listed.conversations) {
      if (c.updatedTime && Date.parse(c.updatedTime) < since.getTime()) {
        older = true; // newest first: the rest are older still
        break;
      }
      result.conversations++;
      const messages = await call(deps, account, (token) =>
        deps.gateway.graph.conversationMessages(token, c.id),
      );
      for (let m of messages) {
        // The inline fields may be left out on Instagram Login: read such a message on its own.
        if (!m.createdTime || !m.from)
          m = await call(deps, account, (token) => deps.gateway.graph.getMessage(token, m.id));
        const record = toRecord(account, m);
        if (!record || record.event.occurredAt < since.getTime()) continue;
        result.found++;
        records.push(record);
      }
    }
    if (older || !listed.after) break;
    after = listed.after;
  }
  // Messages already in the bridge's records (a reply sent from here, whose echo may never have
  // come; a mirrored message whose raw event retention has purged) are not stored again.
  const mids = records.map((r) => (r.event as DmMessage | DmEcho).mid);
  const { rows } = await deps.db.query<{ ig_message_id: string }>(
    "SELECT ig_message_id FROM messages WHERE account_id = $1 AND ig_message_id = ANY($2::text[])",
    [account, mids],
  );
  const known = new Set(rows.map((r) => r.ig_message_id));
  const fresh = records.filter((r) => !known.has((r.event as DmMessage | DmEcho).mid));
  const stored = await storeInbound(deps.db, fresh);
  result.stored = stored.stored.length;
  result.known = result.found - result.stored;
  deps.log.info({ account, since, ...result }, "backfill done");
  return result;
}

/** One Graph call through the gateway: waits out the rate limit, fails on anything final. */
async function call<T>(
  deps: BackfillDeps,
  account: string,
  fn: (token: string) => Promise<Result<T>>,
): Promise<T> {
  for (;;) {
    const outcome = await deps.gateway.call(account, "conversations", fn);
    switch (outcome.kind) {
      case "ok":
        return outcome.value;
      case "deferred":
        await new Promise((r) => setTimeout(r, outcome.retryAfterMs));
        continue;
      case "held":
        throw new BackfillError(`the account cannot call Instagram now: ${outcome.reason}`);
      case "uncertain":
      case "failed":
        throw new BackfillError(`Instagram refused: ${outcome.error.reason}`);
    }
  }
}

/** The webhook event a message from the API stands for: the customer's message, or the
 * business's own (sent from the Instagram app or another app), as an echo. */
export function toRecord(account: string, m: ConversationMessage): InboundRecord | undefined {
  const occurredAt = m.createdTime ? Date.parse(m.createdTime) : Number.NaN;
  if (!m.from || Number.isNaN(occurredAt)) return undefined;
  const fromBusiness = m.from.id === account;
  const customerId = fromBusiness ? m.to.find((id) => id !== account) : m.from.id;
  if (!customerId) return undefined;
  const attachments: Attachment[] = m.attachments.map((a) => ({
    kind: a.type,
    rawType: a.type,
    url: a.url,
    ...(a.name ? { title: a.name } : {}),
  }));
  const base = {
    accountId: account,
    customerId,
    occurredAt,
    mid: m.id,
    ...(m.text !== undefined && m.text !== "" ? { text: m.text } : {}),
    attachments,
    backfilled: true,
  };
  const event: DmMessage | DmEcho = fromBusiness
    ? { type: "dm.echo", ...base }
    : { type: "dm.message", ...base };
  return { event, dedupeKey: `msg:${m.id}`, threadKey: `dm:${customerId}`, raw: { backfill: m } };
}

/** Queues a backfill of `account` from `since` for a worker (after a (re)connection or a silence). */
export async function queueBackfill(boss: PgBoss, account: string, since: Date): Promise<void> {
  await boss.send(BACKFILL_QUEUE, { account, since: since.toISOString() } satisfies BackfillJob, {
    singletonKey: account,
  });
}
