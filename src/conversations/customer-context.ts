import type { SqlClient } from "../db/database.ts";

// Notes and labels agents keep about one customer of one account (`!note`, `!label`,
// `!unlabel`). Both are bounded from outside: a note's length, the number of notes shown and of
// labels a customer may carry, and a label is a lowercase slug so it is safe as a rule condition
// and a digest row.

export const NOTE_MAX_LENGTH = 1000;
/** Notes shown on a root, newest last; older ones stay stored and exported. */
export const NOTES_SHOWN = 5;
export const LABELS_MAX = 20;
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export interface CustomerNote {
  text: string;
  author: string;
  at: Date;
}

export interface CustomerContextRows {
  notes: CustomerNote[];
  labels: string[];
}

/** Why `label` is not a usable label, or undefined when it is. */
export function labelError(label: string): string | undefined {
  return LABEL_PATTERN.test(label)
    ? undefined
    : `“${label.slice(0, 40)}” is not a label: use 1-32 lowercase letters, digits, - or _, starting with a letter or digit.`;
}

export async function loadCustomerContext(
  db: SqlClient,
  accountId: string,
  customerId: string,
): Promise<CustomerContextRows> {
  // One round trip for both: every mirrored message's thread header is rendered from them.
  const { rows } = await db.query<{
    notes: Array<{ text: string; author: string; created_at: string }>;
    labels: string[];
  }>(
    `SELECT
       (SELECT coalesce(json_agg(json_build_object('text', n.text, 'author', n.author, 'created_at', n.created_at)
                                 ORDER BY n.created_at, n.id), '[]'::json)
          FROM (SELECT id, text, author, created_at FROM customer_notes WHERE account_id = $1 AND customer_id = $2
                 ORDER BY created_at DESC, id DESC LIMIT ${NOTES_SHOWN}) n) AS notes,
       (SELECT coalesce(array_agg(label ORDER BY label), '{}'::text[])
          FROM customer_labels WHERE account_id = $1 AND customer_id = $2) AS labels`,
    [accountId, customerId],
  );
  const row = rows[0];
  return {
    notes: (row?.notes ?? []).map((n) => ({ text: n.text, author: n.author, at: new Date(n.created_at) })),
    labels: row?.labels ?? [],
  };
}

export async function customerLabels(
  db: SqlClient,
  accountId: string,
  customerId: string,
): Promise<string[]> {
  const { rows } = await db.query<{ label: string }>(
    "SELECT label FROM customer_labels WHERE account_id = $1 AND customer_id = $2 ORDER BY label",
    [accountId, customerId],
  );
  return rows.map((r) => r.label);
}

/** Other threads a root lists, newest first; the rest are counted. */
export const EARLIER_SHOWN = 3;

export interface EarlierThreadRow {
  kind: "dm" | "comment" | "mention";
  id: number;
  at: Date;
  status: "open" | "closed" | "snoozed" | null;
  chat_platform: string | null;
  chat_channel: string | null;
  chat_thread: string | null;
}

/** The customer's threads with the account other than `self` (their DM conversation, their
 * comment threads, their mentions): how many, and the latest few. Index probes on (account,
 * customer) and (account, author) each. */
export async function loadEarlierThreads(
  db: SqlClient,
  accountId: string,
  customerId: string,
  self: { kind: "dm" | "comment"; id: number },
): Promise<{ count: number; threads: EarlierThreadRow[] }> {
  const { rows } = await db.query<EarlierThreadRow & { total: string }>(
    `WITH mine AS (
       SELECT 'dm' AS kind, id, COALESCE(GREATEST(last_customer_message_at, last_business_message_at), created_at) AS at,
              status, chat_platform, chat_channel, chat_thread
         FROM conversations WHERE account_id = $1 AND customer_id = $2
       UNION ALL
       SELECT 'comment', id, COALESCE(root_commented_at, created_at), status, chat_platform, chat_channel, chat_thread
         FROM comment_threads WHERE account_id = $1 AND author_id = $2
       UNION ALL
       SELECT 'mention', id, mentioned_at, NULL, chat_platform, chat_channel, chat_thread
         FROM mentions WHERE account_id = $1 AND author_id = $2
     )
     SELECT *, count(*) OVER () AS total FROM mine WHERE NOT (kind = $3 AND id = $4)
      ORDER BY at DESC, id DESC LIMIT ${EARLIER_SHOWN}`,
    [accountId, customerId, self.kind, self.id],
  );
  return {
    count: Number(rows[0]?.total ?? 0),
    threads: rows.map(({ total: _total, ...r }) => ({ ...r, id: Number(r.id), at: new Date(r.at) })),
  };
}

/** What a DM thread's root is rendered from (`loadDmRoot`). */
export interface DmRoot<Row> {
  convo: Row;
  context: CustomerContextRows;
  earlier: { count: number; threads: EarlierThreadRow[] };
}

/** A row of `dmRootSql`: the conversation's columns and the context's. */
export type DmRootRow = Record<string, unknown> & {
  ctx_notes: Array<{ text: string; author: string; created_at: string }>;
  ctx_labels: string[];
  ctx_earlier: { count: number; threads: Array<Omit<EarlierThreadRow, "at"> & { at: string }> | null };
};

/**
 * The query behind `loadDmRoot`, its account and customer in parameters `$accountParam` and
 * `$customerParam`: a statement that writes something else first (the mirror storing a post's ref)
 * reads the root with it, in the same round trip.
 */
export function dmRootSql(accountParam: number, customerParam: number): string {
  const a = `$${accountParam}`;
  const c = `$${customerParam}`;
  return `SELECT c.*,
       (SELECT coalesce(json_agg(json_build_object('text', n.text, 'author', n.author, 'created_at', n.created_at)
                                 ORDER BY n.created_at, n.id), '[]'::json)
          FROM (SELECT id, text, author, created_at FROM customer_notes WHERE account_id = ${a} AND customer_id = ${c}
                 ORDER BY created_at DESC, id DESC LIMIT ${NOTES_SHOWN}) n) AS ctx_notes,
       (SELECT coalesce(array_agg(label ORDER BY label), '{}'::text[])
          FROM customer_labels WHERE account_id = ${a} AND customer_id = ${c}) AS ctx_labels,
       (SELECT json_build_object('count', count(*),
                 'threads', to_json((array_agg(json_build_object('kind', m.kind, 'id', m.id, 'at', m.at,
                   'status', m.status, 'chat_platform', m.chat_platform, 'chat_channel', m.chat_channel,
                   'chat_thread', m.chat_thread) ORDER BY m.at DESC, m.id DESC))[1:${EARLIER_SHOWN}]))
          FROM (SELECT 'comment' AS kind, id, COALESCE(root_commented_at, created_at) AS at, status,
                       chat_platform, chat_channel, chat_thread
                  FROM comment_threads WHERE account_id = ${a} AND author_id = ${c}
                UNION ALL
                SELECT 'mention', id, mentioned_at, NULL, chat_platform, chat_channel, chat_thread
                  FROM mentions WHERE account_id = ${a} AND author_id = ${c}) m) AS ctx_earlier
     FROM conversations c WHERE c.account_id = ${a} AND c.customer_id = ${c}`;
}

/** A `dmRootSql` row as the root's parts; undefined when the conversation is gone. */
export function dmRootOf<Row extends object>(row: DmRootRow | undefined): DmRoot<Row> | undefined {
  if (!row) return undefined;
  const { ctx_notes, ctx_labels, ctx_earlier, ...convo } = row;
  return {
    convo: convo as unknown as Row,
    context: {
      notes: ctx_notes.map((n) => ({ text: n.text, author: n.author, at: new Date(n.created_at) })),
      labels: ctx_labels,
    },
    earlier: {
      count: Number(ctx_earlier.count),
      threads: (ctx_earlier.threads ?? []).map((t) => ({ ...t, id: Number(t.id), at: new Date(t.at) })),
    },
  };
}

/**
 * What a DM thread's root is rendered from, in one round trip: the conversation's row as it is now,
 * the customer's notes and labels, and their other threads with the account (their comment threads
 * and mentions: the conversation is the one DM thread they have with it). The same rows as the
 * conversation's own query, `loadCustomerContext` and `loadEarlierThreads` each give; every
 * mirrored message re-renders its root from them. Undefined when the conversation is gone.
 */
export async function loadDmRoot<Row extends object>(
  db: SqlClient,
  accountId: string,
  customerId: string,
): Promise<DmRoot<Row> | undefined> {
  const { rows } = await db.query<DmRootRow>(dmRootSql(1, 2), [accountId, customerId]);
  return dmRootOf<Row>(rows[0]);
}
