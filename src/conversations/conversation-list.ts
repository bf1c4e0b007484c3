import type { ChatPlatform } from "../chat/chat-port.ts";
import type { SqlClient } from "../db/database.ts";

// The console's view of the threads agents work (issue 20): DM conversations and comment threads
// of every account, filtered and searched, a page at a time. Pages are keyset-paginated on (last
// activity, kind, id), so a later page costs what the first does and no query ever returns more
// than a page. Text search goes through the `messages_text_search` full-text index (migration
// 20261224000100), which covers DMs and comments alike.

export type ConversationState = "open" | "waiting" | "snoozed" | "closed";
export const CONVERSATION_STATES: readonly ConversationState[] = ["open", "waiting", "snoozed", "closed"];

/** A DM conversation, or a comment thread (a top-level comment and its replies). */
export type ThreadKind = "dm" | "comment";
export const THREAD_KINDS: readonly ThreadKind[] = ["dm", "comment"];

export interface ConversationFilter {
  account?: string | undefined;
  /** Only DMs or only comment threads; both when absent. */
  kind?: ThreadKind | undefined;
  /** "waiting": open, and the customer wrote last (after the business's last message). */
  state?: ConversationState | undefined;
  /** An assignee as stored, or null for the unassigned. */
  assignee?: string | null | undefined;
  /** Matches part of the customer's username (case-insensitively), or whole words of any message's
   * text, the last word also as the start of one ("refun" finds "refund"). */
  search?: string | undefined;
  /** The cursor of the page's last row (`next` of the page before). */
  after?: string | undefined;
  limit?: number | undefined;
}

export interface ConversationSummary {
  kind: ThreadKind;
  /** The conversation's id, or the comment thread's. */
  id: number;
  accountId: string;
  accountUsername: string | null;
  /** The customer's IGSID; a comment thread's: the top-level comment's author (may be unknown). */
  customerId: string;
  username: string | null;
  status: string;
  assignee: string | null;
  lastCustomerAt: Date | null;
  lastBusinessAt: Date | null;
  activityAt: Date;
  waiting: boolean;
}

export interface ConversationPage {
  rows: ConversationSummary[];
  /** The cursor of the next page, when there is one. */
  next?: string;
}

// Both kinds as one row shape. A comment thread's last customer and business times are kept on it
// from its messages (a trigger, migration 20261228000000_thread_activity.ts), as a conversation's
// are. ACTIVITY, the list's order, is the expression both tables are indexed on
// (conversations_activity, comment_threads_activity): Postgres reads a page from the two indexes
// merged instead of sorting every thread there is (bench/README.md, "The thread list").
const THREADS = `(
  SELECT 'dm'::text AS kind, c.id, c.account_id, c.customer_id, c.profile->>'username' AS username,
         c.status, c.assignee, c.last_customer_message_at AS customer_at,
         c.last_business_message_at AS business_at, c.created_at
    FROM conversations c
  UNION ALL
  SELECT 'comment'::text, t.id, t.account_id, COALESCE(t.author_id, ''), t.author_username, t.status,
         t.assignee, t.last_customer_at, t.last_business_at, t.created_at
    FROM comment_threads t
)`;
const ACTIVITY = "COALESCE(GREATEST(x.customer_at, x.business_at), x.created_at)";
const WAITING =
  "(x.status = 'open' AND x.customer_at IS NOT NULL AND x.customer_at > COALESCE(x.business_at, '-infinity'::timestamptz))";

/** `%` and `_` in what someone typed are letters, not wildcards. */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const SEARCH_WORDS = 8;

/** The text a message is indexed by (migration 20261224000100 `messages_text_search`): Postgres's
 * parser takes `<word>` for an HTML tag and leaves it out, so angle brackets become spaces first. A
 * query must use this same expression for the planner to pick the index. */
export const INDEXED_TEXT = "to_tsvector('simple', translate(%s.text, '<>', '  '))";

/** What someone typed as a prefix query of the 'simple' configuration: its words (letters and
 * digits; everything else separates them), all required, the last one also as the start of a word,
 * since people type the start of one. Undefined when there is no word. Made of letters and digits
 * alone, so nothing typed can be read as tsquery syntax. */
export function textSearchQuery(text: string): string | undefined {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, SEARCH_WORDS);
  if (words.length === 0) return undefined;
  return words.map((w, i) => (i === words.length - 1 ? `${w}:*` : w)).join(" & ");
}

/** The condition "message `alias` holds what was typed", through the full-text index: the typed
 * words as Postgres's parser splits them (so `foo@bar.com` or `e-mail` match as written), or the
 * letters-and-digits words with the last one as a prefix. `param` adds a query parameter and
 * returns its placeholder. Undefined when `text` has no word to look for. */
export function textSearchCondition(
  alias: string,
  text: string,
  param: (value: unknown) => string,
): string | undefined {
  const prefix = textSearchQuery(text);
  if (!prefix) return undefined;
  const typed = param(text.slice(0, 500));
  return `${INDEXED_TEXT.replace("%s", alias)} @@ (plainto_tsquery('simple', translate(${typed}, '<>', '  ')) || to_tsquery('simple', ${param(prefix)}))`;
}

/** The database's time to the microsecond (a Date keeps milliseconds: a cursor made from one would
 * skip the rows between). */
const ACTIVITY_KEY = `to_char(${ACTIVITY} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function parseCursor(text: string): { at: string; kind: ThreadKind; id: number } | undefined {
  // Cursors without a kind were DMs' (the list had no comment threads before).
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)_(c|d)?(\d{1,15})$/.exec(text);
  return m ? { at: m[1] as string, kind: m[2] === "c" ? "comment" : "dm", id: Number(m[3]) } : undefined;
}

/** The statement of a page of listConversations (its text and parameters), and the page's size. */
export function conversationListQuery(filter: ConversationFilter): {
  text: string;
  params: unknown[];
  limit: number;
} {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.account) where.push(`x.account_id = ${p(filter.account)}`);
  if (filter.kind) where.push(`x.kind = ${p(filter.kind)}`);
  if (filter.state === "waiting") where.push(WAITING);
  else if (filter.state) where.push(`x.status = ${p(filter.state)}`);
  if (filter.assignee === null) where.push("x.assignee IS NULL");
  else if (filter.assignee !== undefined) where.push(`x.assignee = ${p(filter.assignee)}`);
  const search = filter.search?.trim();
  if (search) {
    const matches = [`x.username ILIKE ${p(`%${likeEscape(search.replace(/^@/, ""))}%`)}`];
    const inText = textSearchCondition("m", search, p);
    if (inText)
      matches.push(
        `(x.kind = 'dm' AND x.id IN (SELECT m.conversation_id FROM messages m WHERE ${inText}))`,
        `(x.kind = 'comment' AND x.id IN (SELECT m.comment_thread_id FROM messages m WHERE ${inText}))`,
      );
    where.push(`(${matches.join(" OR ")})`);
  }
  const after = filter.after ? parseCursor(filter.after) : undefined;
  if (after)
    where.push(
      `(${ACTIVITY}, x.kind, x.id) < (${p(after.at)}::timestamptz, ${p(after.kind)}::text, ${p(after.id)}::bigint)`,
    );
  // The account's username is read per row of the page, not joined: a join would make the planner
  // expect a hundredth of the threads (it has no statistics for a column of the union), and for a
  // selective filter ("waiting") it then sorted every match instead of reading the indexes in order.
  const text = `SELECT x.kind, x.id, x.account_id,
            (SELECT a.username FROM instagram_accounts a WHERE a.id = x.account_id) AS account_username,
            x.customer_id, x.username, x.status, x.assignee, x.customer_at, x.business_at,
            ${ACTIVITY} AS activity_at, ${ACTIVITY_KEY} AS activity_key, ${WAITING} AS waiting
       FROM ${THREADS} x
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ${ACTIVITY} DESC, x.kind DESC, x.id DESC LIMIT ${p(limit + 1)}`;
  return { text, params, limit };
}

/** A page of DM conversations and comment threads, the latest activity first. */
export async function listConversations(
  sql: SqlClient,
  filter: ConversationFilter,
): Promise<ConversationPage> {
  const { text, params, limit } = conversationListQuery(filter);
  const { rows } = await sql.query<{
    kind: ThreadKind;
    id: string;
    account_id: string;
    account_username: string | null;
    customer_id: string;
    username: string | null;
    status: string;
    assignee: string | null;
    customer_at: Date | null;
    business_at: Date | null;
    activity_at: Date;
    activity_key: string;
    waiting: boolean;
  }>(text, params);
  const page = rows.slice(0, limit).map((r) => ({
    kind: r.kind,
    id: Number(r.id),
    accountId: r.account_id,
    accountUsername: r.account_username,
    customerId: r.customer_id,
    username: r.username,
    status: r.status,
    assignee: r.assignee,
    lastCustomerAt: r.customer_at ? new Date(r.customer_at) : null,
    lastBusinessAt: r.business_at ? new Date(r.business_at) : null,
    activityAt: new Date(r.activity_at),
    waiting: r.waiting,
  }));
  const last = rows[limit - 1];
  return rows.length > limit && last
    ? { rows: page, next: `${last.activity_key}_${last.kind === "comment" ? "c" : "d"}${Number(last.id)}` }
    : { rows: page };
}

/** The conversations and comment threads whose customer's username contains `text`, or whose
 * messages hold its words (the full-text index): the console's search, shared with chat commands
 * that look for a conversation. The other filters narrow it; a page at a time. */
export function searchConversations(
  sql: SqlClient,
  text: string,
  filter: Omit<ConversationFilter, "search"> = {},
): Promise<ConversationPage> {
  return listConversations(sql, { ...filter, search: text });
}

/** The assignees to filter by: the most recent hundred names in use. */
export async function knownAssignees(sql: SqlClient): Promise<string[]> {
  const { rows } = await sql.query<{ assignee: string }>(
    `SELECT assignee FROM conversations WHERE assignee IS NOT NULL
      GROUP BY assignee ORDER BY max(updated_at) DESC LIMIT 100`,
  );
  return rows.map((r) => r.assignee).sort((a, b) => a.localeCompare(b));
}

// ——— One conversation ———

export interface ConversationDetail {
  id: number;
  accountId: string;
  accountUsername: string | null;
  customerId: string;
  username: string | null;
  name: string | null;
  status: string;
  snoozedUntil: Date | null;
  assignee: string | null;
  tags: string[];
  lastCustomerAt: Date | null;
  lastBusinessAt: Date | null;
  entryPoint: string | null;
  entryAt: Date | null;
  thread?: { platform: ChatPlatform; channel: string; thread: string };
}

export interface StoredAttachment {
  kind?: string;
  url?: string;
  title?: string;
}

export interface ConversationMessage {
  id: number;
  direction: "inbound" | "outbound";
  authorKind: string;
  authorId: string | null;
  text: string | null;
  attachments: StoredAttachment[];
  /** A comment's author as Instagram named them (comment threads hold several people). */
  authorUsername: string | null;
  /** The comment's id, or the DM's mid. */
  igMessageId: string | null;
  deliveryState: string | null;
  deliveryError: string | null;
  messagingTag: string | null;
  /** How an outbound one went: `dm`, `private_reply`, `public_reply`, … */
  sendRoute: string | null;
  occurredAt: Date;
  sentAt: Date | null;
  editCount: number;
  deletedAt: Date | null;
}

export interface RuleFiring {
  ruleId: string;
  eventId: number | null;
  firedAt: Date;
}

export async function conversationDetail(
  sql: SqlClient,
  id: number,
): Promise<ConversationDetail | undefined> {
  const { rows } = await sql.query<{
    id: string;
    account_id: string;
    account_username: string | null;
    customer_id: string;
    profile: { username?: string; name?: string } | null;
    status: string;
    snoozed_until: Date | null;
    assignee: string | null;
    tags: string[] | null;
    last_customer_message_at: Date | null;
    last_business_message_at: Date | null;
    entry_point: string | null;
    entry_at: Date | null;
    chat_platform: ChatPlatform | null;
    chat_channel: string | null;
    chat_thread: string | null;
  }>(
    `SELECT c.id, c.account_id, a.username AS account_username, c.customer_id, c.profile, c.status,
            c.snoozed_until, c.assignee, c.tags, c.last_customer_message_at, c.last_business_message_at,
            c.entry_point, c.entry_at, c.chat_platform, c.chat_channel, c.chat_thread
       FROM conversations c JOIN instagram_accounts a ON a.id = c.account_id WHERE c.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  const date = (d: Date | null) => (d ? new Date(d) : null);
  return {
    id: Number(r.id),
    accountId: r.account_id,
    accountUsername: r.account_username,
    customerId: r.customer_id,
    username: r.profile?.username ?? null,
    name: r.profile?.name ?? null,
    status: r.status,
    snoozedUntil: date(r.snoozed_until),
    assignee: r.assignee,
    tags: Array.isArray(r.tags) ? r.tags : [],
    lastCustomerAt: date(r.last_customer_message_at),
    lastBusinessAt: date(r.last_business_message_at),
    entryPoint: r.entry_point,
    entryAt: date(r.entry_at),
    ...(r.chat_platform && r.chat_channel && r.chat_thread
      ? { thread: { platform: r.chat_platform, channel: r.chat_channel, thread: r.chat_thread } }
      : {}),
  };
}

/** The latest `limit` messages of a conversation before message `before` (all when absent), oldest
 * first; `earlier` when more precede them. */
export function conversationMessages(
  sql: SqlClient,
  conversation: number,
  options: { before?: number | undefined; limit?: number } = {},
): Promise<{ messages: ConversationMessage[]; earlier?: number }> {
  return threadMessages(sql, "conversation_id", conversation, options);
}

/** The same for a comment thread: its comments both ways (the top-level one, replies, ours). */
export function commentThreadMessages(
  sql: SqlClient,
  thread: number,
  options: { before?: number | undefined; limit?: number } = {},
): Promise<{ messages: ConversationMessage[]; earlier?: number }> {
  return threadMessages(sql, "comment_thread_id", thread, options);
}

async function threadMessages(
  sql: SqlClient,
  parent: "conversation_id" | "comment_thread_id",
  id: number,
  options: { before?: number | undefined; limit?: number },
): Promise<{ messages: ConversationMessage[]; earlier?: number }> {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), 500);
  const { rows } = await sql.query<{
    id: string;
    direction: "inbound" | "outbound";
    author_kind: string;
    author_id: string | null;
    author_username: string | null;
    ig_message_id: string | null;
    text: string | null;
    attachments: StoredAttachment[] | null;
    delivery_state: string | null;
    delivery_error: string | null;
    messaging_tag: string | null;
    send_route: string | null;
    occurred_at: Date;
    sent_at: Date | null;
    edit_count: number;
    deleted_at: Date | null;
  }>(
    `SELECT id, direction, author_kind, author_id, details->>'username' AS author_username, ig_message_id,
            text, attachments, delivery_state, delivery_error, messaging_tag, send_route, occurred_at,
            sent_at, edit_count, deleted_at
       FROM messages WHERE ${parent} = $1 ${
         options.before
           ? `AND (occurred_at, id) < (SELECT occurred_at, id FROM messages WHERE id = $3 AND ${parent} = $1)`
           : ""
       }
      ORDER BY occurred_at DESC, id DESC LIMIT $2`,
    options.before ? [id, limit + 1, options.before] : [id, limit + 1],
  );
  const messages = rows
    .slice(0, limit)
    .map((r) => ({
      id: Number(r.id),
      direction: r.direction,
      authorKind: r.author_kind,
      authorId: r.author_id,
      authorUsername: r.author_username,
      igMessageId: r.ig_message_id,
      text: r.text,
      attachments: Array.isArray(r.attachments) ? r.attachments : [],
      deliveryState: r.delivery_state,
      deliveryError: r.delivery_error,
      messagingTag: r.messaging_tag,
      sendRoute: r.send_route,
      occurredAt: new Date(r.occurred_at),
      sentAt: r.sent_at ? new Date(r.sent_at) : null,
      editCount: r.edit_count,
      deletedAt: r.deleted_at ? new Date(r.deleted_at) : null,
    }))
    .reverse();
  const first = messages[0];
  return rows.length > limit && first ? { messages, earlier: first.id } : { messages };
}

// ——— One comment thread ———

export interface CommentThreadDetail {
  id: number;
  accountId: string;
  accountUsername: string | null;
  mediaId: string;
  /** The post as last fetched: caption, link, picture. */
  media: { caption?: string; permalink?: string; thumbnailUrl?: string; mediaProductType?: string };
  rootCommentId: string;
  authorId: string | null;
  authorUsername: string | null;
  rootCommentedAt: Date | null;
  live: boolean;
  status: string;
  snoozedUntil: Date | null;
  assignee: string | null;
  tags: string[];
  /** Moderation: the top-level comment hidden on Instagram, or deleted (by us or its author). */
  hidden: boolean;
  deletedAt: Date | null;
  /** The one private reply Instagram allows per comment, when it was sent. */
  privateReplySentAt: Date | null;
  thread?: { platform: ChatPlatform; channel: string; thread: string };
}

export async function commentThreadDetail(
  sql: SqlClient,
  id: number,
): Promise<CommentThreadDetail | undefined> {
  const { rows } = await sql.query<{
    id: string;
    account_id: string;
    account_username: string | null;
    media_id: string;
    media: CommentThreadDetail["media"] | null;
    media_product_type: string | null;
    root_comment_id: string;
    author_id: string | null;
    author_username: string | null;
    root_commented_at: Date | null;
    live: boolean;
    status: string;
    snoozed_until: Date | null;
    assignee: string | null;
    tags: string[] | null;
    hidden: boolean;
    deleted_at: Date | null;
    private_reply_sent_at: Date | null;
    chat_platform: ChatPlatform | null;
    chat_channel: string | null;
    chat_thread: string | null;
  }>(
    `SELECT t.id, t.account_id, a.username AS account_username, t.media_id, t.media, t.media_product_type,
            t.root_comment_id, t.author_id, t.author_username, t.root_commented_at, t.live, t.status,
            t.snoozed_until, t.assignee, t.tags, t.hidden, t.deleted_at, t.private_reply_sent_at,
            t.chat_platform, t.chat_channel, t.chat_thread
       FROM comment_threads t JOIN instagram_accounts a ON a.id = t.account_id WHERE t.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  const date = (d: Date | null) => (d ? new Date(d) : null);
  const media = r.media && typeof r.media === "object" ? { ...r.media } : {};
  if (!media.mediaProductType && r.media_product_type) media.mediaProductType = r.media_product_type;
  return {
    id: Number(r.id),
    accountId: r.account_id,
    accountUsername: r.account_username,
    mediaId: r.media_id,
    media,
    rootCommentId: r.root_comment_id,
    authorId: r.author_id,
    authorUsername: r.author_username,
    rootCommentedAt: date(r.root_commented_at),
    live: r.live,
    status: r.status,
    snoozedUntil: date(r.snoozed_until),
    assignee: r.assignee,
    tags: Array.isArray(r.tags) ? r.tags : [],
    hidden: r.hidden,
    deletedAt: date(r.deleted_at),
    privateReplySentAt: date(r.private_reply_sent_at),
    ...(r.chat_platform && r.chat_channel && r.chat_thread
      ? { thread: { platform: r.chat_platform, channel: r.chat_channel, thread: r.chat_thread } }
      : {}),
  };
}

/** The audit targets of a comment thread: its top-level comment (what its thread's buttons and
 * commands name) and the latest of its other comments (moderated one by one). */
export async function commentThreadTargets(sql: SqlClient, thread: CommentThreadDetail): Promise<string[]> {
  const { rows } = await sql.query<{ ig_message_id: string }>(
    `SELECT ig_message_id FROM messages WHERE comment_thread_id = $1 AND ig_message_id IS NOT NULL
      ORDER BY occurred_at DESC LIMIT 300`,
    [thread.id],
  );
  return [...new Set([thread.rootCommentId, ...rows.map((r) => r.ig_message_id)])].map((c) => `comment:${c}`);
}

/** The rules that fired for this customer on this account, newest first. */
export async function ruleFirings(
  sql: SqlClient,
  account: string,
  customer: string,
  limit = 50,
): Promise<RuleFiring[]> {
  const { rows } = await sql.query<{ rule_id: string; event_id: string | null; fired_at: Date }>(
    `SELECT rule_id, event_id, fired_at FROM rule_firings WHERE account_id = $1 AND customer_id = $2
      ORDER BY fired_at DESC LIMIT $3`,
    [account, customer, limit],
  );
  return rows.map((r) => ({
    ruleId: r.rule_id,
    eventId: r.event_id === null ? null : Number(r.event_id),
    firedAt: new Date(r.fired_at),
  }));
}
