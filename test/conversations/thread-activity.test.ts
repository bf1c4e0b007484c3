// The thread list's order (issue 23): a comment thread keeps its last customer and business times
// (kept by a trigger on messages, migration 20261228000000_thread_activity.ts) equal to what its
// messages say, whichever way they are written, and a page of the list is read from the activity
// indexes, not by sorting every thread. On both backends.

import { beforeAll, describe, expect, it } from "vitest";
import { conversationListQuery, listConversations } from "../../src/conversations/conversation-list.ts";
import type { Database } from "../../src/db/database.ts";
import { useBackendDatabase } from "../helpers/backend.ts";
import { rowsRead } from "../helpers/plan.ts";

const ACCOUNT = "17841400000000081";
const BUSY = "17841400000000082";
const store = useBackendDatabase();
let db: Database;

beforeAll(async () => {
  ({ db } = store);
  await db.query("INSERT INTO instagram_accounts (id, username) VALUES ($1, 'times'), ($2, 'busy')", [
    ACCOUNT,
    BUSY,
  ]);
});

async function thread(root: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO comment_threads (account_id, media_id, root_comment_id, author_id)
     VALUES ($1, 'media', $2, 'author') RETURNING id`,
    [ACCOUNT, root],
  );
  return Number(rows[0]?.id);
}

async function message(threadId: number, direction: "inbound" | "outbound", at: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, text, occurred_at)
     VALUES ($1, $2, $3, $4, 'x', $5) RETURNING id`,
    [ACCOUNT, threadId, direction, direction === "inbound" ? "customer" : "agent", at],
  );
  return Number(rows[0]?.id);
}

/** The thread's kept times beside what its messages say, as ISO strings (or null). */
async function times(threadId: number) {
  const { rows } = await db.query<{
    kept: [string | null, string | null];
    read: [string | null, string | null];
  }>(
    `SELECT json_build_array(t.last_customer_at, t.last_business_at) AS kept,
            json_build_array(
              (SELECT max(occurred_at) FROM messages WHERE comment_thread_id = t.id AND direction = 'inbound'),
              (SELECT max(occurred_at) FROM messages WHERE comment_thread_id = t.id AND direction = 'outbound')
            ) AS read
       FROM comment_threads t WHERE t.id = $1`,
    [threadId],
  );
  const iso = (v: string | null) => (v === null ? null : new Date(v).toISOString());
  const row = rows[0];
  if (!row) throw new Error(`no thread ${threadId}`);
  return { kept: row.kept.map(iso), read: row.read.map(iso) };
}

describe("a comment thread's last customer and business times", () => {
  it("follow its messages through inserts, older inserts, changes, moves and deletes", async () => {
    const t = await thread("times-1");
    const other = await thread("times-2");
    expect((await times(t)).kept).toEqual([null, null]);

    const first = await message(t, "inbound", "2026-12-01T10:00:00Z");
    await message(t, "outbound", "2026-12-01T11:00:00Z");
    // An older message (a backfill, a late webhook) moves nothing back.
    await message(t, "inbound", "2026-12-01T09:00:00Z");
    const latest = await message(t, "inbound", "2026-12-01T12:00:00Z");
    expect(await times(t)).toEqual({
      kept: ["2026-12-01T12:00:00.000Z", "2026-12-01T11:00:00.000Z"],
      read: ["2026-12-01T12:00:00.000Z", "2026-12-01T11:00:00.000Z"],
    });

    // The newest customer message goes (privacy erasure, a removed comment's row): read again.
    await db.query("DELETE FROM messages WHERE id = $1", [latest]);
    expect((await times(t)).kept).toEqual(["2026-12-01T10:00:00.000Z", "2026-12-01T11:00:00.000Z"]);

    // A message's time, direction and thread changed.
    await db.query("UPDATE messages SET occurred_at = '2026-12-01T08:00:00Z' WHERE id = $1", [first]);
    expect((await times(t)).kept).toEqual(["2026-12-01T09:00:00.000Z", "2026-12-01T11:00:00.000Z"]);
    await db.query("UPDATE messages SET direction = 'outbound', author_kind = 'agent' WHERE id = $1", [
      first,
    ]);
    expect((await times(t)).kept).toEqual(["2026-12-01T09:00:00.000Z", "2026-12-01T11:00:00.000Z"]);
    await db.query("UPDATE messages SET comment_thread_id = $2 WHERE id = $1", [first, other]);
    for (const id of [t, other]) {
      const { kept, read } = await times(id);
      expect(kept).toEqual(read);
    }
    expect((await times(other)).kept).toEqual([null, "2026-12-01T08:00:00.000Z"]);

    // A DM message changes no thread; an edit of a comment's text changes no time.
    await db.query("INSERT INTO conversations (account_id, customer_id) VALUES ($1, 'dm-customer')", [
      ACCOUNT,
    ]);
    await db.query(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, text, occurred_at)
       SELECT $1, id, 'inbound', 'customer', 'dm', '2026-12-02T00:00:00Z' FROM conversations WHERE customer_id = 'dm-customer'`,
      [ACCOUNT],
    );
    await db.query("UPDATE messages SET text = 'edited' WHERE comment_thread_id = $1", [t]);
    expect((await times(t)).kept).toEqual(["2026-12-01T09:00:00.000Z", "2026-12-01T11:00:00.000Z"]);
  });

  it("are filled in for the threads there were when the migration ran", async () => {
    // The migration's backfill is the same reading as the trigger's; after it, every thread agrees.
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM comment_threads t
        WHERE t.last_customer_at IS DISTINCT FROM
                (SELECT max(occurred_at) FROM messages WHERE comment_thread_id = t.id AND direction = 'inbound')
           OR t.last_business_at IS DISTINCT FROM
                (SELECT max(occurred_at) FROM messages WHERE comment_thread_id = t.id AND direction = 'outbound')`,
    );
    expect(rows[0]?.n).toBe(0);
  });
});

/** Rows of conversations and comment_threads a page's statement read or threw away (EXPLAIN ANALYZE). */
async function threadRowsRead(filter: Parameters<typeof conversationListQuery>[0]): Promise<number> {
  const { text, params } = conversationListQuery(filter);
  const { rows } = await db.query<{ "QUERY PLAN": unknown }>(
    `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
    params,
  );
  return rowsRead(rows[0]?.["QUERY PLAN"], ["conversations", "comment_threads"]);
}

describe("a page of the thread list", () => {
  it("is read from the activity indexes, a few rows of each table, however many threads there are", async () => {
    await db.query(
      `INSERT INTO conversations (account_id, customer_id, status, last_customer_message_at, last_business_message_at)
       SELECT $1, 'busy-' || g, CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'open' END,
              '2026-11-01'::timestamptz + g * interval '1 minute',
              CASE WHEN g % 2 = 0 THEN '2026-11-01'::timestamptz + g * interval '1 minute' + interval '30 seconds' END
         FROM generate_series(1, 3000) g`,
      [BUSY],
    );
    await db.query(
      `INSERT INTO comment_threads (account_id, media_id, root_comment_id, author_id, created_at)
       SELECT $1, 'media', 'busy-root-' || g, 'author-' || g, '2026-11-01'::timestamptz + g * interval '3 minutes'
         FROM generate_series(1, 1000) g`,
      [BUSY],
    );
    await db.query(
      `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, text, occurred_at)
       SELECT account_id, id, 'inbound', 'customer', 'hello', created_at + interval '5 seconds'
         FROM comment_threads WHERE account_id = $1`,
      [BUSY],
    );
    await db.query("ANALYZE conversations");
    await db.query("ANALYZE comment_threads");
    for (const filter of [{}, { account: BUSY }, { state: "open" as const }, { state: "waiting" as const }]) {
      const page = await listConversations(db, { ...filter, limit: 20 });
      const next = await listConversations(db, {
        ...filter,
        limit: 20,
        ...(page.next ? { after: page.next } : {}),
      });
      for (const f of [
        { ...filter, limit: 20 },
        { ...filter, limit: 20, ...(page.next ? { after: page.next } : {}) },
      ]) {
        const read = await threadRowsRead(f);
        // Sorting every thread would read all 4,000 and more; a page reads its rows and their
        // neighbours in index order (the filters drop some on the way).
        expect(read, JSON.stringify(f)).toBeGreaterThan(20);
        expect(read, JSON.stringify(f)).toBeLessThan(200);
      }
      // The newest activity first, across both kinds.
      const all = [...page.rows, ...next.rows].map((r) => r.activityAt.getTime());
      expect(all).toEqual([...all].sort((a, b) => b - a));
      expect(new Set([...page.rows, ...next.rows].map((r) => r.kind))).toEqual(new Set(["dm", "comment"]));
    }
  });

  it("waiting on us: reads the waiting threads alone, however few of all the threads they are", async () => {
    // Every comment thread answered, and all conversations but 15: few of the 4,000 threads wait.
    await db.query(
      `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, text, occurred_at)
       SELECT account_id, id, 'outbound', 'agent', 'thanks', created_at + interval '10 seconds'
         FROM comment_threads WHERE account_id = $1`,
      [BUSY],
    );
    await db.query(
      `UPDATE conversations SET last_business_message_at = last_customer_message_at + interval '1 second'
        WHERE account_id = $1 AND customer_id NOT IN (SELECT 'busy-' || g FROM generate_series(1, 90, 3) g)`,
      [BUSY],
    );
    await db.query("ANALYZE conversations");
    await db.query("ANALYZE comment_threads");
    const filter = { account: BUSY, state: "waiting" as const, limit: 10 };
    const page = await listConversations(db, filter);
    expect(page.rows.map((r) => r.waiting)).toEqual(Array(10).fill(true));
    const read = await threadRowsRead(filter);
    // Without the waiting-only indexes this reads every comment thread and most conversations.
    expect(read).toBeGreaterThanOrEqual(10);
    expect(read).toBeLessThan(40);
  });
});
