import type { ChatPlatform } from "../chat/chat-port.ts";
import type { StoredCopies } from "../chat/platform.ts";
import type { Database, SqlClient } from "../db/database.ts";
import {
  AUDIT_ACTOR_ROWS,
  AUDIT_TARGET_ROWS,
  COMMENT_THREAD_ROWS,
  CONVERSATION_ROWS,
  CUSTOMER_CONTEXT_ROWS,
  EVENT_ROWS,
  MENTION_ROWS,
  RULE_FIRING_ROWS,
  STRAY_COMMENT_ROWS,
} from "./customer-rows.ts";

// `/ig export <user>` (policy: data access requests): every row stored about one Instagram user of
// one account, as plain JSON for an admin to hand over. It reads the same rows `/ig forget`
// erases (customer-rows.ts), so what a customer can see is what they can have erased. Two things
// stay out: other customers' replies inside this customer's comment threads (their data, not
// this one's), and everything of the account but its id and username (tokens above all).

export const EXPORT_FORMAT = "threadbridge.customer-export";
export const EXPORT_VERSION = 1;

/** One stored row, its timestamps as ISO strings. */
export type ExportRow = Record<string, unknown>;

export interface CustomerExport {
  header: {
    format: typeof EXPORT_FORMAT;
    version: typeof EXPORT_VERSION;
    generatedAt: string;
    account: { id: string; username: string | null };
    customerId: string;
  };
  conversations: ExportRow[];
  /** The DM conversation's messages, the customer's and the business's. */
  conversationMessages: ExportRow[];
  commentThreads: ExportRow[];
  /** Messages of their comment threads: theirs and the business's answers. */
  commentThreadMessages: ExportRow[];
  /** Their comments under other people's comments. */
  commentsElsewhere: ExportRow[];
  mentions: ExportRow[];
  webhookEvents: ExportRow[];
  ruleFirings: ExportRow[];
  /** Agents' notes about them (`!note`). */
  customerNotes: ExportRow[];
  /** Their labels (`!label`). */
  customerLabels: ExportRow[];
  auditEntries: ExportRow[];
  /** Their threads' messages as a chat platform keeps them in this database (the web inbox):
   * agents' notes typed there included. */
  chatCopies: ExportRow[];
}

export type ExportCounts = { [K in Exclude<keyof CustomerExport, "header">]: number };

const SECTIONS = [
  "conversations",
  "conversationMessages",
  "commentThreads",
  "commentThreadMessages",
  "commentsElsewhere",
  "mentions",
  "webhookEvents",
  "ruleFirings",
  "customerNotes",
  "customerLabels",
  "auditEntries",
  "chatCopies",
] as const satisfies readonly (keyof ExportCounts)[];

export function exportCounts(data: CustomerExport): ExportCounts {
  return Object.fromEntries(SECTIONS.map((s) => [s, data[s].length])) as ExportCounts;
}

/** Everything stored about `customerId` of `accountId`, or undefined when nothing is. */
export async function exportCustomer(
  db: Database,
  accountId: string,
  customerId: string,
  now: Date = new Date(),
  copies: ReadonlyMap<ChatPlatform, StoredCopies> = new Map(),
): Promise<CustomerExport | undefined> {
  // One snapshot: a message arriving mid-export must not show up without its conversation.
  const data = await db.transaction(async (tx) => {
    await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    return readRows(tx, accountId, customerId);
  });
  const { account, ...rest } = data;
  const sections = { ...rest, chatCopies: await chatCopies(db, rest, customerId, copies) };
  if (!account || SECTIONS.every((s) => sections[s].length === 0)) return undefined;
  return {
    header: {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      generatedAt: now.toISOString(),
      account,
      customerId,
    },
    ...sections,
  };
}

async function readRows(tx: SqlClient, accountId: string, customerId: string) {
  const rows = async (sql: string) =>
    (await tx.query<ExportRow>(sql, [accountId, customerId])).rows.map(plain);
  const { rows: accounts } = await tx.query<{ id: string; username: string | null }>(
    "SELECT id, username FROM instagram_accounts WHERE id = $1",
    [accountId],
  );
  return {
    account: accounts[0],
    conversations: await rows(`SELECT * FROM conversations WHERE ${CONVERSATION_ROWS} ORDER BY id`),
    conversationMessages: await rows(
      `SELECT * FROM messages WHERE account_id = $1
          AND conversation_id IN (SELECT id FROM conversations WHERE ${CONVERSATION_ROWS})
        ORDER BY occurred_at, id`,
    ),
    commentThreads: await rows(`SELECT * FROM comment_threads WHERE ${COMMENT_THREAD_ROWS} ORDER BY id`),
    commentThreadMessages: await rows(
      `SELECT * FROM messages WHERE account_id = $1
          AND comment_thread_id IN (SELECT id FROM comment_threads WHERE ${COMMENT_THREAD_ROWS})
          AND (author_kind <> 'customer' OR author_id = $2)
        ORDER BY occurred_at, id`,
    ),
    commentsElsewhere: await rows(
      `SELECT m.* FROM messages m, comment_threads t WHERE ${STRAY_COMMENT_ROWS} ORDER BY m.occurred_at, m.id`,
    ),
    mentions: await rows(`SELECT * FROM mentions WHERE ${MENTION_ROWS} ORDER BY id`),
    webhookEvents: await rows(`SELECT * FROM inbound_events WHERE ${EVENT_ROWS} ORDER BY id`),
    ruleFirings: await rows(`SELECT * FROM rule_firings WHERE ${RULE_FIRING_ROWS} ORDER BY id`),
    customerNotes: await rows(`SELECT * FROM customer_notes WHERE ${CUSTOMER_CONTEXT_ROWS} ORDER BY id`),
    customerLabels: await rows(`SELECT * FROM customer_labels WHERE ${CUSTOMER_CONTEXT_ROWS} ORDER BY label`),
    auditEntries: await rows(
      `SELECT * FROM audit_log WHERE (${AUDIT_TARGET_ROWS}) OR (${AUDIT_ACTOR_ROWS}) ORDER BY id`,
    ),
  };
}

/** The copies platforms keep of the customer's threads (conversations, comment threads, mentions),
 * other customers' comments in them left out as they are from `commentThreadMessages`. */
async function chatCopies(
  db: Database,
  data: { conversations: ExportRow[]; commentThreads: ExportRow[]; mentions: ExportRow[] },
  customerId: string,
  copies: ReadonlyMap<ChatPlatform, StoredCopies>,
): Promise<ExportRow[]> {
  if (copies.size === 0) return [];
  const threads = new Map<ChatPlatform, { channel: string; thread: string }[]>();
  for (const row of [...data.conversations, ...data.commentThreads, ...data.mentions]) {
    const platform = row.chat_platform;
    if (typeof platform !== "string" || !copies.has(platform)) continue;
    if (typeof row.chat_channel !== "string" || typeof row.chat_thread !== "string") continue;
    threads.set(platform, [
      ...(threads.get(platform) ?? []),
      { channel: row.chat_channel, thread: row.chat_thread },
    ]);
  }
  if (threads.size === 0) return [];
  const ids = data.commentThreads.map((t) => t.id);
  const { rows: others } = ids.length
    ? await db.query<{ chat_ref: string }>(
        `SELECT chat_ref FROM messages WHERE comment_thread_id = ANY($1::bigint[]) AND chat_ref IS NOT NULL
            AND author_kind = 'customer' AND author_id IS DISTINCT FROM $2`,
        [ids, customerId],
      )
    : { rows: [] };
  const leaveOut = new Set(others.map((r) => r.chat_ref));
  const out: ExportRow[] = [];
  for (const [platform, refs] of threads)
    for (const row of (await copies.get(platform)?.export(refs, leaveOut)) ?? [])
      out.push(plain({ platform, ...row }));
  return out;
}

/** Dates as ISO strings and 64-bit integers as numbers, so the export is plain JSON data. */
function plain(row: ExportRow): ExportRow {
  const out: ExportRow = {};
  for (const [key, value] of Object.entries(row)) {
    if (value instanceof Date) out[key] = value.toISOString();
    else if (typeof value === "bigint")
      out[key] = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    else out[key] = value;
  }
  return out;
}
