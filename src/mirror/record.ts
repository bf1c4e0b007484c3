import type { SqlClient } from "../db/database.ts";
import { queryNamed } from "../db/query-named.ts";
import { type Entry, entryOf } from "../instagram/entry-points.ts";
import type {
  CommentEvent,
  CommentMedia,
  CommentRemovedEvent,
  DmControl,
  DmEcho,
  DmEdit,
  DmEvent,
  DmMessage,
  DmPostback,
  DmReaction,
  DmReferral,
  DomainEvent,
} from "../instagram/events.ts";
import { DEFAULT_ECHO_GRACE_MS, matchOwnEcho } from "../outbound/echo-match.ts";
import { applyConsentMessage, type ConsentWords, DEFAULT_CONSENT_WORDS } from "../privacy/consent.ts";
import type { ConversationRow } from "./headers.ts";

// The bridge's own record of every conversation and comment thread: what later mirrors, windows,
// reply routing and privacy requests read. Each function is idempotent, so an event handled twice
// (a retried job) leaves the same rows as an event handled once.

const ts = (ms: number) => new Date(ms).toISOString();

/** The message columns the mirror reads (its `MessageRow`). */
const MESSAGE_COLUMNS_LIST = [
  "id",
  "conversation_id",
  "comment_thread_id",
  "author_kind",
  "author_id",
  "text",
  "attachments",
  "details",
  "chat_ref",
  "deleted_at",
  "occurred_at",
];
export const MESSAGE_COLUMNS = MESSAGE_COLUMNS_LIST.join(", ");

/** `webhook`: the event came by webhook (not backfill), so the account's webhooks are alive now
 * (health/webhook-silence.ts reads `last_webhook_at`). */
export async function ensureAccount(
  tx: SqlClient,
  accountId: string,
  at: number,
  webhook = true,
): Promise<void> {
  await tx.query(`WITH ${accountRow(1, 2, 3)} SELECT 1`, [accountId, ts(at), webhook]);
}

/**
 * CTEs ending in `a`, the account's row (id and settings) for an event of it, inserted when new;
 * its parameters' numbers are the account's id, the event's time and whether it came by webhook.
 *
 * The account's times (`last_event_at`, `last_webhook_at`: the console, the metrics and the
 * silence check read them, at a minute's grain at best) are moved on only when they are a second or
 * more behind. An update locks the row until the recording commits, and every event of the account
 * updated it: with four workers' connections a third of Postgres's active sessions, sampled
 * through a backlog, waited on an account's row lock (bench/README.md, "Mirror capacity, fifteenth
 * pass"). Now at most one recording a second per
 * account takes that lock; the others read the row. An insert that finds the row inserted meanwhile
 * by a recording not yet committed waits for it and does nothing, and the row is then not in this
 * statement's snapshot: `a` is empty, and the caller runs the statement again (`again`).
 */
const accountRow = (id: number, at: number, webhook: number) =>
  `a_new AS (
     INSERT INTO instagram_accounts (id, last_event_at, last_webhook_at)
     VALUES ($${id}, $${at}::timestamptz, CASE WHEN $${webhook}::boolean THEN now() END)
     ON CONFLICT (id) DO NOTHING
     RETURNING id, settings
   ), a_moved AS (
     UPDATE instagram_accounts SET last_event_at = GREATEST(last_event_at, $${at}::timestamptz),
       last_webhook_at = CASE WHEN $${webhook}::boolean THEN now() ELSE last_webhook_at END
     WHERE id = $${id} AND (last_event_at IS NULL OR last_event_at <= $${at}::timestamptz - interval '1 second'
       OR ($${webhook}::boolean AND (last_webhook_at IS NULL OR last_webhook_at <= now() - interval '1 second')))
     RETURNING id
   ), a AS (
     SELECT id, settings FROM a_new
     UNION ALL
     -- Read after the update (its count is asked first), so the account's row, when it is locked,
     -- is locked before the conversation's that the caller's statement builds on a, as always.
     SELECT id, settings FROM instagram_accounts WHERE id = $${id} AND (SELECT count(*) FROM a_moved) >= 0
   )`;

/** Runs `statement` (built on `accountRow`) once more when its account row was inserted by a
 * concurrent recording (see accountRow): its rows are then empty, and nothing was written. */
async function again<R>(statement: () => Promise<R[]>): Promise<R[]> {
  const rows = await statement();
  return rows.length > 0 ? rows : statement();
}

/** The conversation's row as the recording of a customer's message left it (its upsert, `RETURNING
 * *`, then its entry update), read under the row lock the recording holds until it commits. */
export type RecordedConversation = ConversationRow & {
  /** When each pending customer timer fires (conversations/timers.ts). */
  pending_timers: Record<string, string> | null;
};

async function conversationId(
  tx: SqlClient,
  e: DmEvent,
  touch: "customer" | "business" | "none",
  says: { reopen: boolean; takeControl: boolean } = { reopen: false, takeControl: false },
): Promise<number> {
  return (await conversationRow(tx, e, touch, says)).id;
}

async function conversationRow(
  tx: SqlClient,
  e: DmEvent,
  touch: "customer" | "business" | "none",
  /** A customer's live message (recordMessage): what it says about the conversation goes into the
   * same upsert, one round trip instead of three. `reopen`: it reopens a closed or snoozed
   * conversation. `takeControl`: delivered on `messaging`, so this app holds the thread now (see
   * recordControlSignal; the control change of a newer signal is kept). */
  says: { reopen: boolean; takeControl: boolean } = { reopen: false, takeControl: false },
  /** The account's row (accountRow) goes into the same statement, as CTEs the conversation's row
   * is built from: one round trip fewer, the account's row (when its times move) locked before the
   * conversation's, and the conversation's foreign key satisfied by an account inserted in the
   * same statement. */
  account?: { webhook: boolean },
): Promise<RecordedConversation> {
  const run = () =>
    tx
      .query<RecordedConversation>(
        `${account ? `WITH ${accountRow(1, 8, 9)} ` : ""}${upsertConversation(account !== undefined)}`,
        [
          e.accountId,
          e.customerId,
          touch === "customer" ? ts(e.occurredAt) : null,
          touch === "business" ? ts(e.occurredAt) : null,
          says.reopen,
          says.takeControl,
          ts(e.occurredAt),
          ...(account ? [ts(e.occurredAt), account.webhook] : []),
        ],
      )
      .then((r) => r.rows);
  const rows = account ? await again(run) : await run();
  return rows[0] as RecordedConversation;
}

/** The conversation's upsert: $1 account, $2 customer, $3 and $4 the customer's and the business's
 * message times (or null), $5 reopen, $6 take control, $7 the event's time; `fromAccount`: built on
 * the account's upsert as CTE `a`. */
function upsertConversation(fromAccount: boolean): string {
  return `
     INSERT INTO conversations (account_id, customer_id, last_customer_message_at, last_business_message_at)
     ${fromAccount ? "SELECT a.id, $2, $3::timestamptz, $4::timestamptz FROM a" : "VALUES ($1, $2, $3, $4)"}
     ON CONFLICT (account_id, customer_id) DO UPDATE SET
       last_customer_message_at = GREATEST(conversations.last_customer_message_at, EXCLUDED.last_customer_message_at),
       last_business_message_at = GREATEST(conversations.last_business_message_at, EXCLUDED.last_business_message_at),
       status = CASE WHEN $5::boolean THEN 'open' ELSE conversations.status END,
       snoozed_until = CASE WHEN $5::boolean AND conversations.status <> 'open' THEN NULL
                            ELSE conversations.snoozed_until END,
       controlled_by = CASE WHEN $6::boolean AND conversations.controlled_by IS NOT NULL
                             AND (conversations.control_at IS NULL OR conversations.control_at < $7)
                            THEN NULL ELSE conversations.controlled_by END,
       control_at = CASE WHEN $6::boolean AND conversations.controlled_by IS NOT NULL
                          AND (conversations.control_at IS NULL OR conversations.control_at < $7)
                         THEN $7 ELSE conversations.control_at END,
       updated_at = now()
     RETURNING *`;
}

/** The message's columns as the customer-message statement returns them, beside the
 * conversation's (`m_` keeps them apart). */
const M_COLUMNS = MESSAGE_COLUMNS_LIST.map((c) => `${c} AS m_${c}`).join(", ");

/**
 * A customer's live or recovered message, recorded in one statement: the account's row
 * (accountRow), the conversation's upsert, and the message's insert (no conflict: a retry or a
 * tombstone keeps the row there), each built on the one before as a CTE, so the account's row, when
 * it is locked, is locked before the conversation's, and the foreign keys see the rows inserted
 * beside them.
 * Returns the conversation's row as the upsert left it and the message's when this inserted it.
 */
async function customerMessageRows(
  tx: SqlClient,
  e: DmMessage,
): Promise<{
  conversation: RecordedConversation;
  message: RecordedMessage | undefined;
  accountSettings: Record<string, unknown> | null;
}> {
  // A customer writing again reopens a closed or snoozed conversation (not a message recovered
  // later: it was written before whatever closed it), and says who holds the thread (control).
  const live = !e.backfilled;
  const rows = await again(async () => {
    const { rows } = await queryNamed<Record<string, unknown>>(
      tx,
      "tb_customer_message",
      `WITH ${accountRow(1, 8, 9)},
     c AS (${upsertConversation(true)}),
     m AS (
       INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id, text,
                             attachments, details, occurred_at)
       SELECT c.account_id, c.id, 'inbound', 'customer', c.customer_id, $10, $11, $12::jsonb, $13::jsonb, $7::timestamptz
         FROM c
       ON CONFLICT (account_id, ig_message_id) DO NOTHING
       RETURNING ${M_COLUMNS}
     )
     SELECT c.*, m.*, a.settings AS a_settings FROM c CROSS JOIN a LEFT JOIN m ON true`,
      [
        e.accountId,
        e.customerId,
        ts(e.occurredAt),
        null,
        live,
        live && !e.standby,
        ts(e.occurredAt),
        ts(e.occurredAt),
        live,
        e.mid,
        e.text ?? null,
        JSON.stringify(e.attachments),
        JSON.stringify(messageDetails(e)),
      ],
    );
    return rows;
  });
  const conversation: Record<string, unknown> = {};
  const message: Record<string, unknown> = {};
  let accountSettings: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(rows[0] ?? {}))
    if (k === "a_settings") accountSettings = (v as Record<string, unknown> | null) ?? null;
    else if (k.startsWith("m_")) message[k.slice(2)] = v;
    else conversation[k] = v;
  return {
    conversation: conversation as unknown as RecordedConversation,
    message: message.id == null ? undefined : (message as unknown as RecordedMessage),
    accountSettings,
  };
}

async function insertMessage(
  tx: SqlClient,
  m: {
    accountId: string;
    conversationId?: number;
    commentThreadId?: number;
    direction: "inbound" | "outbound";
    authorKind: "customer" | "business";
    /** Null for a live comment whose author Instagram did not name. */
    authorId: string | null;
    igMessageId: string;
    text: string | undefined;
    attachments: unknown[];
    details: Record<string, unknown>;
    occurredAt: number;
  },
): Promise<RecordedMessage | undefined> {
  const { rows } = await tx.query<RecordedMessage>(
    `INSERT INTO messages (account_id, conversation_id, comment_thread_id, direction, author_kind, author_id,
                           ig_message_id, text, attachments, details, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (account_id, ig_message_id) DO NOTHING
     RETURNING ${MESSAGE_COLUMNS}`,
    [
      m.accountId,
      m.conversationId ?? null,
      m.commentThreadId ?? null,
      m.direction,
      m.authorKind,
      m.authorId,
      m.igMessageId,
      m.text ?? null,
      JSON.stringify(m.attachments),
      JSON.stringify(m.details),
      ts(m.occurredAt),
    ],
  );
  return rows[0];
}

/** The conversation's entry as recordEntry set it. */
type EntrySet = Pick<RecordedConversation, "entry_point" | "entry_referral" | "entry_at">;

/**
 * Learns how the conversation opened from its first customer event (instagram/entry-points.ts):
 * run before that event's message is stored, so "no customer message yet" means this is the first.
 * A conversation known from before keeps no guess. A later ad click opens it again through that
 * ad: its window and card follow the newest ad (Meta's policy counts from the message after it).
 */
async function recordEntry(
  tx: SqlClient,
  convo: Pick<RecordedConversation, "id" | "entry_point">,
  e: DmMessage | DmPostback | DmReferral,
  /** The event's own message when it was inserted before this runs (customerMessageRows): the
   * "no customer message yet" test leaves it out, as if it ran first. */
  ownMessage?: number,
): Promise<EntrySet | undefined> {
  const entry: Entry = entryOf(e);
  // The update below changes nothing once the conversation has its entry point, unless this is an
  // ad (a later ad click opens it again): the upsert's row just read says so, under its row lock,
  // so most messages skip it, and the private-reply look-up with it.
  if (convo.entry_point != null && entry.point !== "ad") return undefined;
  // A plain message may be the customer answering the private reply to their comment: the comment
  // thread knows it, looked up in the same statement (the `t` row; none for any other entry).
  const { rows } = await tx.query<EntrySet>(
    `WITH t AS (
       SELECT root_comment_id, media_id, media FROM comment_threads
        WHERE $5::boolean AND account_id = $6 AND author_id = $7
          AND private_reply_sent_at IS NOT NULL AND private_reply_sent_at <= $4
        ORDER BY private_reply_sent_at DESC LIMIT 1
     )
     UPDATE conversations c SET
       entry_point = CASE WHEN t.root_comment_id IS NULL THEN $2 ELSE 'comment' END,
       entry_referral = CASE WHEN t.root_comment_id IS NULL THEN $3::jsonb
         ELSE jsonb_build_object('commentId', t.root_comment_id, 'mediaId', t.media_id)
           || CASE WHEN jsonb_typeof(t.media -> 'permalink') = 'string'
                   THEN jsonb_build_object('permalink', t.media -> 'permalink') ELSE '{}'::jsonb END
           || CASE WHEN jsonb_typeof(t.media -> 'caption') = 'string'
                   THEN jsonb_build_object('caption', t.media -> 'caption') ELSE '{}'::jsonb END END,
       entry_at = $4, updated_at = now()
      FROM (VALUES (1)) AS one (x) LEFT JOIN t ON true
      WHERE c.id = $1 AND (
        (c.entry_point IS NULL AND NOT EXISTS (
           SELECT 1 FROM messages WHERE conversation_id = $1 AND direction = 'inbound' AND deleted_at IS NULL
              AND id IS DISTINCT FROM $8::bigint))
        OR ($2 = 'ad' AND (c.entry_at IS NULL OR c.entry_at < $4)))
      RETURNING c.entry_point, c.entry_referral, c.entry_at`,
    [
      convo.id,
      entry.point,
      JSON.stringify(entry.details),
      ts(e.occurredAt),
      entry.point === "message",
      e.accountId,
      e.customerId,
      ownMessage ?? null,
    ],
  );
  return rows[0];
}

function messageDetails(e: DmMessage | DmEcho): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  if (e.replyTo) details.replyTo = e.replyTo;
  if (e.standby) details.standby = true;
  if (e.backfilled) details.backfilled = true;
  if (e.type === "dm.message") {
    if (e.quickReplyPayload) details.quickReplyPayload = e.quickReplyPayload;
    if (e.referral) details.referral = e.referral;
    if (e.unsupported) details.unsupported = true;
  }
  return details;
}

async function recordMessage(tx: SqlClient, e: DmMessage | DmEcho, o: RecordOptions): Promise<Recorded> {
  if (e.type === "dm.message") {
    // The conversation, and the message stored in the same round trip; its entry point after (left
    // out of that test, the message counts as not there yet).
    const { conversation, message, accountSettings } = await customerMessageRows(tx, e);
    const entry = await recordEntry(tx, conversation, e, message?.id);
    // The row handed on (to the timers, to the mirror's root) carries the entry just set.
    return {
      conversation: entry ? { ...conversation, ...entry } : conversation,
      accountSettings,
      ...(message ? { message } : {}),
    };
  }
  // The business's own message (an echo): it touches the conversation's business side only.
  const conversation = await conversationRow(
    tx,
    e,
    "business",
    { reopen: false, takeControl: false },
    { webhook: !e.backfilled },
  );
  const convo = conversation.id;
  if (await matchOwnEcho(tx, e, convo, o.echoGraceMs)) return {};
  // An edit or unsend can arrive before its message (reference 1.4): a tombstone row made by
  // the unsend keeps the late message from being stored with its text.
  await insertMessage(tx, {
    accountId: e.accountId,
    conversationId: convo,
    direction: "outbound",
    authorKind: "business",
    authorId: e.accountId,
    igMessageId: e.mid,
    text: e.text,
    attachments: e.attachments,
    details: messageDetails(e),
    occurredAt: e.occurredAt,
  });
  // Only a customer's message hands its rows on (the mirror's hot path).
  return {};
}

async function recordUnsend(tx: SqlClient, e: DmEvent & { mid: string }): Promise<void> {
  const convo = await conversationId(tx, e, "none");
  // The customer took it back: the text and media links go, only the fact remains (policy A.15).
  await tx.query(
    `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id, occurred_at, deleted_at)
     VALUES ($1, $2, 'inbound', 'customer', $3, $4, $5, $5)
     ON CONFLICT (account_id, ig_message_id) DO UPDATE SET text = NULL, attachments = '[]', deleted_at = EXCLUDED.deleted_at,
       updated_at = now()`,
    [e.accountId, convo, e.customerId, e.mid, ts(e.occurredAt)],
  );
}

async function recordEdit(tx: SqlClient, e: DmEdit): Promise<void> {
  const convo = await conversationId(tx, e, "customer");
  await tx.query(
    `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id, text,
                           edit_count, edited_at, occurred_at)
     VALUES ($1, $2, 'inbound', 'customer', $3, $4, $5, $6, $7, $7)
     ON CONFLICT (account_id, ig_message_id) DO UPDATE SET text = EXCLUDED.text, edit_count = EXCLUDED.edit_count,
       edited_at = EXCLUDED.edited_at, updated_at = now()
     WHERE messages.deleted_at IS NULL AND messages.edit_count < EXCLUDED.edit_count`,
    [e.accountId, convo, e.customerId, e.mid, e.text, e.numEdit, ts(e.occurredAt)],
  );
}

async function recordReaction(tx: SqlClient, e: DmReaction): Promise<void> {
  // The customer's current reaction on a message; unreact clears it. The business's own reaction
  // is kept apart, so it is never mirrored as the customer's.
  const reaction = e.action === "react" ? (e.emoji ?? e.reaction ?? "other") : null;
  const key = e.byBusiness ? "businessReaction" : "customerReaction";
  await tx.query(
    `UPDATE messages SET details = jsonb_set(details, ARRAY[$4::text], COALESCE(to_jsonb($3::text), 'null'::jsonb)), updated_at = now()
     WHERE account_id = $1 AND ig_message_id = $2`,
    [e.accountId, e.mid, reaction, key],
  );
}

async function recordPostback(tx: SqlClient, e: DmPostback): Promise<void> {
  // A postback opens the 24 h window like a message does (reference 2.4).
  const conversation = await conversationRow(tx, e, "customer");
  const convo = conversation.id;
  await recordEntry(tx, conversation, e);
  if (!e.mid) return;
  await insertMessage(tx, {
    accountId: e.accountId,
    conversationId: convo,
    direction: "inbound",
    authorKind: "customer",
    authorId: e.customerId,
    igMessageId: e.mid,
    text: e.title,
    attachments: [],
    details: { postbackPayload: e.payload },
    occurredAt: e.occurredAt,
  });
}

/** Who holds the thread after a Conversation Routing event: null for this app. Without our own
 * app id, a pass is taken to be to us (Meta delivers `pass_thread_control` to the app receiving
 * control) and a take to be from us (delivered to the app losing it). */
export function ownerAfter(e: DmControl, appId: string | undefined): string | null | undefined {
  const isUs = (id: string | undefined) => id !== undefined && appId !== undefined && id === appId;
  switch (e.action) {
    case "pass":
      if (e.newOwnerAppId === undefined || appId === undefined) return null;
      return isUs(e.newOwnerAppId) ? null : e.newOwnerAppId;
    case "take":
      if (appId !== undefined && e.newOwnerAppId !== undefined)
        return isUs(e.newOwnerAppId) ? null : e.newOwnerAppId;
      return e.newOwnerAppId ?? "unknown";
    case "request":
      // Asking changes nothing yet; the holder decides.
      return undefined;
  }
}

async function recordControl(tx: SqlClient, e: DmControl, appId: string | undefined): Promise<void> {
  const convo = await conversationId(tx, e, "none");
  const owner = ownerAfter(e, appId);
  if (owner === undefined) {
    await tx.query("UPDATE conversations SET control_requested_by = $2, updated_at = now() WHERE id = $1", [
      convo,
      e.requestedOwnerAppId ?? "unknown",
    ]);
    return;
  }
  // Newest event wins: a handover delivered late never undoes a later one.
  await tx.query(
    `UPDATE conversations SET controlled_by = $2, control_at = $3, control_requested_by = NULL, updated_at = now()
      WHERE id = $1 AND (control_at IS NULL OR control_at <= $3)`,
    [convo, owner, ts(e.occurredAt)],
  );
}

/** What an ordinary DM event says about control: one delivered on `standby` means another app
 * holds the thread; a customer's message delivered on `messaging` means this app does (Meta sends
 * it there only to the holder). Backfilled messages say nothing about it. */
async function recordControlSignal(tx: SqlClient, e: DmEvent): Promise<void> {
  if (e.type === "dm.control") return;
  if ((e.type === "dm.message" || e.type === "dm.echo") && e.backfilled) return;
  if (e.standby)
    await tx.query(
      `UPDATE conversations SET controlled_by = COALESCE(controlled_by, 'unknown'), control_at = $3, updated_at = now()
        WHERE account_id = $1 AND customer_id = $2 AND (control_at IS NULL OR control_at <= $3)`,
      [e.accountId, e.customerId, ts(e.occurredAt)],
    );
  // A customer's message on `messaging` (this app holds the thread) was recorded by the
  // conversation's upsert in recordMessage: controlled_by cleared unless a newer signal set it.
}

async function commentThreadId(
  tx: SqlClient,
  e: {
    accountId: string;
    commentId: string;
    parentId?: string;
    media: CommentMedia;
    from?: { id: string; username?: string };
    live: boolean;
    occurredAt: number;
  },
): Promise<number> {
  const root = e.parentId ?? e.commentId;
  const isRoot = e.parentId === undefined;
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO comment_threads (account_id, media_id, media_product_type, root_comment_id, author_id, author_username,
                                  live, root_commented_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (account_id, root_comment_id) DO UPDATE SET
       author_id = COALESCE(EXCLUDED.author_id, comment_threads.author_id),
       author_username = COALESCE(EXCLUDED.author_username, comment_threads.author_username),
       root_commented_at = COALESCE(EXCLUDED.root_commented_at, comment_threads.root_commented_at),
       updated_at = now()
     RETURNING id`,
    [
      e.accountId,
      e.media.id,
      e.media.productType ?? null,
      root,
      isRoot ? (e.from?.id ?? null) : null,
      isRoot ? (e.from?.username ?? null) : null,
      e.live,
      isRoot ? ts(e.occurredAt) : null,
    ],
  );
  return (rows[0] as { id: number }).id;
}

async function recordComment(tx: SqlClient, e: CommentEvent): Promise<void> {
  await insertMessage(tx, {
    accountId: e.accountId,
    commentThreadId: await commentThreadId(tx, e),
    direction: e.self ? "outbound" : "inbound",
    authorKind: e.self ? "business" : "customer",
    authorId: e.from?.id ?? null,
    igMessageId: e.commentId,
    text: e.text,
    attachments: [],
    details: e.from?.username ? { username: e.from.username } : {},
    occurredAt: e.occurredAt,
  });
}

async function recordCommentRemoval(tx: SqlClient, e: CommentRemovedEvent): Promise<void> {
  // Gone from Instagram: like an unsent message, its text goes and only the fact remains.
  const { rows } = await tx.query(
    `UPDATE messages SET text = NULL, attachments = '[]', deleted_at = COALESCE(deleted_at, $3), updated_at = now()
      WHERE account_id = $1 AND ig_message_id = $2 RETURNING id`,
    [e.accountId, e.commentId, ts(e.occurredAt)],
  );
  if (rows.length === 0 && e.media) {
    // The removal came first: a tombstone keeps the late comment from being stored with its text.
    await tx.query(
      `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, author_id, ig_message_id,
                             occurred_at, deleted_at)
       VALUES ($1, $2, 'inbound', 'customer', $3, $4, $5, $5)
       ON CONFLICT (account_id, ig_message_id) DO NOTHING`,
      [
        e.accountId,
        await commentThreadId(tx, { ...e, media: e.media, live: false }),
        e.from?.id ?? null,
        e.commentId,
        ts(e.occurredAt),
      ],
    );
  }
  // Removing the top-level comment ends its thread.
  await tx.query(
    `UPDATE comment_threads SET deleted_at = COALESCE(deleted_at, $3), updated_at = now()
      WHERE account_id = $1 AND root_comment_id = $2`,
    [e.accountId, e.commentId, ts(e.occurredAt)],
  );
}

/** Applies one event to the bridge's records inside the caller's transaction. */
export interface RecordOptions {
  /** This app's id (IG_APP_ID): tells a handover to us from one to another app. */
  appId?: string;
  /** See outbound/echo-match.ts. */
  echoGraceMs: number;
  /** STOP / START words (privacy/consent.ts). */
  consentWords?: ConsentWords;
}

/** What the recording of a customer's message hands the mirror, so it does not read again what
 * was just written: the conversation's row as the upsert left it, and the message's row when this
 * attempt inserted it (none when it was there already: a retry, or a tombstone). */
export interface Recorded {
  conversation?: RecordedConversation;
  message?: RecordedMessage;
  /** The account's settings (`instagram_accounts.settings`), for the timers
   * (`Timers.customerWrote`): read by the recording's account upsert, no query of their own. */
  accountSettings?: Record<string, unknown> | null;
}

export interface RecordedMessage {
  id: number;
  conversation_id: number | null;
  comment_thread_id: number | null;
  author_kind: "customer" | "business" | "agent" | "rule";
  author_id: string | null;
  text: string | null;
  attachments: unknown;
  details: Record<string, unknown>;
  chat_ref: string | null;
  deleted_at: Date | null;
  occurred_at: Date;
}

export async function recordEvent(
  tx: SqlClient,
  event: DomainEvent,
  options: RecordOptions = { echoGraceMs: DEFAULT_ECHO_GRACE_MS },
): Promise<Recorded> {
  // A message's account upsert goes into its conversation's (recordMessage).
  if (event.type !== "dm.message" && event.type !== "dm.echo")
    await ensureAccount(tx, event.accountId, event.occurredAt, true);
  const recorded = await recordKind(tx, event, options);
  // After the kind's own rows, so the conversation exists.
  if (event.type.startsWith("dm.")) await recordControlSignal(tx, event as DmEvent);
  return recorded ?? {};
}

async function recordKind(
  tx: SqlClient,
  event: DomainEvent,
  options: RecordOptions,
  // biome-ignore lint/suspicious/noConfusingVoidType: most kinds hand nothing on (their recorders return void)
): Promise<Recorded | void> {
  switch (event.type) {
    case "dm.message": {
      const recorded = await recordMessage(tx, event, options);
      await applyConsentMessage(tx, event, options.consentWords ?? DEFAULT_CONSENT_WORDS);
      return recorded;
    }
    case "dm.echo":
      return recordMessage(tx, event, options);
    case "dm.unsend":
      return recordUnsend(tx, event);
    case "dm.edit":
      return recordEdit(tx, event);
    case "dm.reaction":
      return recordReaction(tx, event);
    case "dm.seen":
      await tx.query(
        `UPDATE conversations SET last_seen_at = GREATEST(last_seen_at, $3), last_seen_mid = $4, updated_at = now()
         WHERE account_id = $1 AND customer_id = $2`,
        [event.accountId, event.customerId, ts(event.occurredAt), event.mid],
      );
      return;
    case "dm.postback":
      return recordPostback(tx, event);
    case "dm.referral":
      await recordEntry(tx, await conversationRow(tx, event, "none"), event);
      return;
    case "dm.optin":
      await conversationId(tx, event, "none");
      return;
    case "dm.control":
      return recordControl(tx, event, options.appId);
    case "comment":
      return recordComment(tx, event);
    case "comment.removed":
      return recordCommentRemoval(tx, event);
    case "mention":
      // Its own thread: who wrote it and what it says are resolved when it is mirrored.
      await tx.query(
        `INSERT INTO mentions (account_id, media_id, comment_id, mentioned_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, media_id, comment_id) DO NOTHING`,
        [event.accountId, event.mediaId, event.commentId ?? "", ts(event.occurredAt)],
      );
      return;
    case "unknown":
      // Kept in inbound_events only.
      return;
  }
}
