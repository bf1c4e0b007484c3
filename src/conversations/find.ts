import type { ActionResult, AgentIdentity, ChatPlatform, ThreadRef } from "../chat/chat-port.ts";
import { NO_ACCOUNT_HERE, type Scope } from "../chat/scope.ts";
import type { SqlClient } from "../db/database.ts";
import { INDEXED_TEXT, likeEscape } from "./conversation-list.ts";
import { QUEUE_STATE_LABELS, queueState } from "./queue-state.ts";

// `/ig find @username|TEXT` (issue 21): the threads of the channel's accounts whose customer's
// username starts with the words, or whose messages hold them, newest activity first, told to the
// asker alone. Usernames go through the lower() prefix indexes, text through the 'simple'
// full-text GIN index the console's search uses too (`messages_text_search`, migration
// 20261224000100); both stop at a bounded number of rows, so a common word costs one bounded
// index read, never a scan of every message.

/** Threads listed in one answer. */
export const FIND_LIMIT = 10;
/** Matching messages read, newest first, before they are grouped by thread. */
const HITS_READ = 500;
/** Words of a text search used (the rest are ignored, and said so). */
const WORDS_MAX = 8;
const EXCERPT_CHARS = 80;

/** An Instagram username as typed: letters, digits, dots and underscores, up to 30. */
const USERNAME = /^@?([A-Za-z0-9._]{1,30})$/;

export interface FoundThread {
  kind: "dm" | "comment";
  account: string;
  customer: string;
  /** "waiting on us", "open comment thread", … */
  state: string;
  lastActivity: Date | null;
  /** A matching message's start, for a text search. */
  excerpt?: string;
  place?: { platform: ChatPlatform; ref: ThreadRef };
}

interface Row {
  kind: "dm" | "comment";
  id: string;
  account_id: string;
  account_username: string | null;
  customer_id: string | null;
  name: string | null;
  customer_username: string | null;
  status: "open" | "closed" | "snoozed";
  last_customer_message_at: Date | null;
  last_business_message_at: Date | null;
  last_at: Date | null;
  chat_platform: string | null;
  chat_channel: string | null;
  chat_thread: string | null;
  excerpt?: string | null;
}

/** The words of a text search as a 'simple' tsquery: each word (letters and digits only, so
 * nothing of the query syntax gets through) as a prefix when it has two characters or more. */
export function textQuery(query: string): { tsquery: string; dropped: number } | undefined {
  const words = [...query.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)].map((m) => m[0].slice(0, 60));
  const unique = [...new Set(words)];
  if (unique.length === 0) return undefined;
  const used = unique.slice(0, WORDS_MAX);
  return {
    tsquery: used.map((w) => (w.length >= 2 ? `${w}:*` : w)).join(" & "),
    dropped: unique.length - used.length,
  };
}

const DM_COLUMNS = `'dm' AS kind, c.id::text AS id, c.account_id, a.username AS account_username, c.customer_id,
  c.profile->>'name' AS name, c.profile->>'username' AS customer_username, c.status,
  c.last_customer_message_at, c.last_business_message_at,
  GREATEST(c.last_customer_message_at, c.last_business_message_at) AS last_at,
  c.chat_platform, c.chat_channel, c.chat_thread`;

const COMMENT_COLUMNS = `'comment' AS kind, t.id::text AS id, t.account_id, a.username AS account_username,
  t.author_id AS customer_id, NULL AS name, t.author_username AS customer_username, t.status,
  NULL::timestamptz AS last_customer_message_at, NULL::timestamptz AS last_business_message_at,
  GREATEST(t.last_customer_at, t.last_business_at) AS last_at,
  t.chat_platform, t.chat_channel, t.chat_thread`;

export async function findThreads(db: SqlClient, accounts: readonly string[], query: string) {
  const q = query.trim();
  const found = new Map<string, Row>();
  let dropped = 0;
  const username = USERNAME.exec(q)?.[1];
  if (username) {
    const prefix = `${likeEscape(username.toLowerCase())}%`;
    const { rows } = await db.query<Row>(
      `(SELECT ${DM_COLUMNS} FROM conversations c JOIN instagram_accounts a ON a.id = c.account_id
         WHERE c.account_id = ANY($1::text[]) AND lower(c.profile->>'username') LIKE $2
         ORDER BY last_at DESC NULLS LAST LIMIT ${FIND_LIMIT + 1})
       UNION ALL
       (SELECT ${COMMENT_COLUMNS} FROM comment_threads t JOIN instagram_accounts a ON a.id = t.account_id
         WHERE t.account_id = ANY($1::text[]) AND lower(t.author_username) LIKE $2
         ORDER BY t.root_commented_at DESC NULLS LAST LIMIT ${FIND_LIMIT + 1})`,
      [accounts, prefix],
    );
    for (const r of rows) found.set(`${r.kind}:${r.id}`, r);
  }
  // `@name` asks for a username alone; anything else is searched in messages too.
  const text = q.startsWith("@") && username ? undefined : textQuery(q);
  if (text) {
    dropped = text.dropped;
    const { rows } = await db.query<Row>(
      `WITH hits AS (
         SELECT m.conversation_id, m.comment_thread_id, m.text, m.occurred_at, m.id FROM messages m
          WHERE m.account_id = ANY($1::text[]) AND m.deleted_at IS NULL
            AND ${INDEXED_TEXT.replace("%s", "m")} @@ to_tsquery('simple'::regconfig, $2)
          ORDER BY m.occurred_at DESC, m.id DESC LIMIT ${HITS_READ}
       ), latest AS (
         SELECT DISTINCT ON (conversation_id, comment_thread_id) conversation_id, comment_thread_id, text
           FROM hits ORDER BY conversation_id, comment_thread_id, occurred_at DESC, id DESC
       )
       SELECT * FROM (
         SELECT ${DM_COLUMNS}, h.text AS excerpt FROM latest h
           JOIN conversations c ON c.id = h.conversation_id JOIN instagram_accounts a ON a.id = c.account_id
         UNION ALL
         SELECT ${COMMENT_COLUMNS}, h.text AS excerpt FROM latest h
           JOIN comment_threads t ON t.id = h.comment_thread_id JOIN instagram_accounts a ON a.id = t.account_id
       ) found ORDER BY last_at DESC NULLS LAST LIMIT ${FIND_LIMIT + 1}`,
      [accounts, text.tsquery],
    );
    for (const r of rows) {
      const key = `${r.kind}:${r.id}`;
      const had = found.get(key);
      found.set(key, had ? { ...had, excerpt: r.excerpt ?? null } : r);
    }
  }
  const ordered = [...found.values()].sort(
    (a, b) =>
      (b.last_at ? new Date(b.last_at).getTime() : 0) - (a.last_at ? new Date(a.last_at).getTime() : 0),
  );
  return { threads: ordered.map(foundThread), dropped };
}

function foundThread(r: Row): FoundThread {
  const customer =
    r.name && r.customer_username
      ? `${r.name} (@${r.customer_username})`
      : (r.name ??
        (r.customer_username
          ? `@${r.customer_username}`
          : r.customer_id
            ? `Instagram user ${r.customer_id}`
            : "a commenter Instagram did not name"));
  const state =
    r.kind === "dm"
      ? QUEUE_STATE_LABELS[
          queueState({
            status: r.status,
            lastCustomerAt: r.last_customer_message_at ? new Date(r.last_customer_message_at) : null,
            lastBusinessAt: r.last_business_message_at ? new Date(r.last_business_message_at) : null,
          })
        ]
      : `comment thread, ${r.status}`;
  const thread: FoundThread = {
    kind: r.kind,
    account: r.account_username ? `@${r.account_username}` : r.account_id,
    customer,
    state,
    lastActivity: r.last_at ? new Date(r.last_at) : null,
  };
  if (r.excerpt) {
    const flat = r.excerpt.replace(/\s+/g, " ").trim();
    thread.excerpt = flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS - 1)}…` : flat;
  }
  if (r.chat_platform && r.chat_channel && r.chat_thread)
    thread.place = { platform: r.chat_platform, ref: { channel: r.chat_channel, thread: r.chat_thread } };
  return thread;
}

/** "2026-12-04 22:10 UTC": one form every platform shows as written. */
function when(at: Date | null): string {
  return at ? `${at.toISOString().slice(0, 16).replace("T", " ")} UTC` : "no message yet";
}

/** `/ig find`'s answer, for the asker alone. `link` gives a thread's address on the asker's
 * platform, where it can. */
export async function findText(
  db: SqlClient,
  agent: AgentIdentity,
  scope: Scope,
  query: string,
  link: (ref: ThreadRef) => Promise<string | undefined>,
): Promise<ActionResult> {
  if (scope.accounts.size === 0) return { ok: false, text: NO_ACCOUNT_HERE };
  const q = query.trim();
  if (!USERNAME.test(q) && !textQuery(q))
    return {
      ok: false,
      text: "/ig find needs a username (@name) or words to look for in messages.",
    };
  const { threads, dropped } = await findThreads(db, [...scope.accounts], q);
  const shown = `“${q.length > 60 ? `${q.slice(0, 59)}…` : q}”`;
  if (threads.length === 0) return { ok: true, text: `No thread here matches ${shown}.` };
  const lines: string[] = [];
  for (const [i, t] of threads.slice(0, FIND_LIMIT).entries()) {
    const account = scope.accounts.size > 1 ? ` · ${t.account}` : "";
    const kind = t.kind === "comment" ? "comment by " : "";
    const address = t.place?.platform === agent.platform ? await link(t.place.ref) : undefined;
    const parts = [
      `${i + 1}. ${kind}${t.customer}${account}`,
      t.state,
      `last activity ${when(t.lastActivity)}`,
    ];
    if (address) parts.push(address);
    else if (!t.place) parts.push("not mirrored in chat");
    lines.push(parts.join(" · "));
    if (t.excerpt) lines.push(`   “${t.excerpt}”`);
  }
  const notes: string[] = [];
  if (threads.length > FIND_LIMIT)
    notes.push(`…and more: the ${FIND_LIMIT} with the latest activity are shown; add words to narrow it.`);
  if (dropped > 0) notes.push(`Only the first ${WORDS_MAX} words were searched.`);
  return {
    ok: true,
    text: [`Threads matching ${shown}, latest activity first:`, ...lines, ...notes].join("\n"),
  };
}
