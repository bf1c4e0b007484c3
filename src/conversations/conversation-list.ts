import type { ChatPlatform } from "../chat/chat-port.ts";
import type { SqlClient } from "../db/database.ts";

// The console's view of DM conversations (issue 20): every account's, filtered and searched, a page
// at a time. Pages are keyset-paginated on (last activity, id), so the hundredth page costs what the
// first does and no query ever returns more than a page.

export type ConversationState = "open" | "waiting" | "snoozed" | "closed";
export const CONVERSATION_STATES: readonly ConversationState[] = ["open", "waiting", "snoozed", "closed"];

export interface ConversationFilter {
  account?: string | undefined;
  /** "waiting": open, and the customer wrote last (after the business's last message). */
  state?: ConversationState | undefined;
  /** An assignee as stored, or null for the unassigned. */
  assignee?: string | null | undefined;
  /** Matches the customer's username or any message's text, case-insensitively. */
  search?: string | undefined;
  /** The cursor of the page's last row (`next` of the page before). */
  after?: string | undefined;
  limit?: number | undefined;
}

export interface ConversationSummary {
  id: number;
  accountId: string;
  accountUsername: string | null;
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

const ACTIVITY = "COALESCE(GREATEST(c.last_customer_message_at, c.last_business_message_at), c.created_at)";
const WAITING =
  "(c.status = 'open' AND c.last_customer_message_at IS NOT NULL AND c.last_customer_message_at > COALESCE(c.last_business_message_at, '-infinity'::timestamptz))";

/** `%` and `_` in what someone typed are letters, not wildcards. */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The database's time to the microsecond (a Date keeps milliseconds: a cursor made from one would
 * skip the rows between). */
const ACTIVITY_KEY = `to_char(${ACTIVITY} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function parseCursor(text: string): { at: string; id: number } | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)_(\d{1,15})$/.exec(text);
  return m ? { at: m[1] as string, id: Number(m[2]) } : undefined;
}

export async function listConversations(
  sql: SqlClient,
  filter: ConversationFilter,
): Promise<ConversationPage> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.account) where.push(`c.account_id = ${p(filter.account)}`);
  if (filter.state === "waiting") where.push(WAITING);
  else if (filter.state) where.push(`c.status = ${p(filter.state)}`);
  if (filter.assignee === null) where.push("c.assignee IS NULL");
  else if (filter.assignee !== undefined) where.push(`c.assignee = ${p(filter.assignee)}`);
  const search = filter.search?.trim();
  if (search) {
    const like = p(`%${likeEscape(search.replace(/^@/, ""))}%`);
    where.push(`(c.profile->>'username' ILIKE ${like} OR EXISTS (
      SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.text ILIKE ${like}))`);
  }
  const after = filter.after ? parseCursor(filter.after) : undefined;
  if (after) where.push(`(${ACTIVITY}, c.id) < (${p(after.at)}::timestamptz, ${p(after.id)}::bigint)`);
  const { rows } = await sql.query<{
    id: string;
    account_id: string;
    account_username: string | null;
    customer_id: string;
    username: string | null;
    status: string;
    assignee: string | null;
    last_customer_message_at: Date | null;
    last_business_message_at: Date | null;
    activity_at: Date;
    activity_key: string;
    waiting: boolean;
  }>(
    `SELECT c.id, c.account_id, a.username AS account_username, c.customer_id, c.profile->>'username' AS username,
            c.status, c.assignee, c.last_customer_message_at, c.last_business_message_at,
            ${ACTIVITY} AS activity_at, ${ACTIVITY_KEY} AS activity_key, ${WAITING} AS waiting
       FROM conversations c JOIN instagram_accounts a ON a.id = c.account_id
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ${ACTIVITY} DESC, c.id DESC LIMIT ${p(limit + 1)}`,
    params,
  );
  const page = rows.slice(0, limit).map((r) => ({
    id: Number(r.id),
    accountId: r.account_id,
    accountUsername: r.account_username,
    customerId: r.customer_id,
    username: r.username,
    status: r.status,
    assignee: r.assignee,
    lastCustomerAt: r.last_customer_message_at ? new Date(r.last_customer_message_at) : null,
    lastBusinessAt: r.last_business_message_at ? new Date(r.last_business_message_at) : null,
    activityAt: new Date(r.activity_at),
    waiting: r.waiting,
  }));
  const last = rows[limit - 1];
  return rows.length > limit && last
    ? { rows: page, next: `${last.activity_key}_${Number(last.id)}` }
    : { rows: page };
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
  deliveryState: string | null;
  deliveryError: string | null;
  messagingTag: string | null;
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

/** The latest `limit` messages before message `before` (all when absent), oldest first; `earlier`
 * when more precede them. */
export async function conversationMessages(
  sql: SqlClient,
  conversation: number,
  options: { before?: number | undefined; limit?: number } = {},
): Promise<{ messages: ConversationMessage[]; earlier?: number }> {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), 500);
  const { rows } = await sql.query<{
    id: string;
    direction: "inbound" | "outbound";
    author_kind: string;
    author_id: string | null;
    text: string | null;
    attachments: StoredAttachment[] | null;
    delivery_state: string | null;
    delivery_error: string | null;
    messaging_tag: string | null;
    occurred_at: Date;
    sent_at: Date | null;
    edit_count: number;
    deleted_at: Date | null;
  }>(
    `SELECT id, direction, author_kind, author_id, text, attachments, delivery_state, delivery_error,
            messaging_tag, occurred_at, sent_at, edit_count, deleted_at
       FROM messages WHERE conversation_id = $1 ${
         options.before ? "AND (occurred_at, id) < (SELECT occurred_at, id FROM messages WHERE id = $3)" : ""
       }
      ORDER BY occurred_at DESC, id DESC LIMIT $2`,
    options.before ? [conversation, limit + 1, options.before] : [conversation, limit + 1],
  );
  const messages = rows
    .slice(0, limit)
    .map((r) => ({
      id: Number(r.id),
      direction: r.direction,
      authorKind: r.author_kind,
      authorId: r.author_id,
      text: r.text,
      attachments: Array.isArray(r.attachments) ? r.attachments : [],
      deliveryState: r.delivery_state,
      deliveryError: r.delivery_error,
      messagingTag: r.messaging_tag,
      occurredAt: new Date(r.occurred_at),
      sentAt: r.sent_at ? new Date(r.sent_at) : null,
      editCount: r.edit_count,
      deletedAt: r.deleted_at ? new Date(r.deleted_at) : null,
    }))
    .reverse();
  const first = messages[0];
  return rows.length > limit && first ? { messages, earlier: first.id } : { messages };
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
