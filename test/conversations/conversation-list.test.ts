// The console's conversation pages underneath (issue 20): keyset pages that neither skip nor repeat
// a conversation, even when many share a millisecond (the database keeps microseconds), and
// messages paged back in order.

import { beforeAll, describe, expect, it } from "vitest";
import {
  conversationMessages,
  listConversations,
  searchConversations,
  textSearchCondition,
  textSearchQuery,
} from "../../src/conversations/conversation-list.ts";
import type { Database } from "../../src/db/database.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const ACCOUNT = "17841400000000071";
const MIXED = "17841400000000072";
const store = useBackendDatabase();
let db: Database;

beforeAll(async () => {
  ({ db } = store);
  await db.query("INSERT INTO instagram_accounts (id, username) VALUES ($1, 'pages')", [ACCOUNT]);
  // 25 conversations within one millisecond, five to a microsecond.
  for (let i = 0; i < 25; i++)
    await db.query(
      `INSERT INTO conversations (account_id, customer_id, last_customer_message_at)
       VALUES ($1, $2, '2026-12-01T10:00:00.123000Z'::timestamptz + make_interval(secs => $3::double precision / 1e6))`,
      [ACCOUNT, `c${String(i).padStart(2, "0")}`, Math.floor(i / 5) * 100],
    );
});

describe("listConversations", () => {
  it("pages through every conversation once, in order, whatever the page size", async () => {
    for (const limit of [1, 3, 7, 25]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 30; pages++) {
        const page = await listConversations(db, { account: ACCOUNT, limit, after });
        expect(page.rows.length).toBeLessThanOrEqual(limit);
        seen.push(...page.rows.map((r) => r.customerId));
        if (!page.next) break;
        after = page.next;
      }
      expect(seen, `pages of ${limit}`).toHaveLength(25);
      expect(new Set(seen).size).toBe(25);
      // The latest microsecond first; within one, the newest row first.
      expect(seen.slice(0, 5)).toEqual(["c24", "c23", "c22", "c21", "c20"]);
    }
  });

  it("ignores a cursor that is not one", async () => {
    const page = await listConversations(db, { account: ACCOUNT, limit: 2, after: "'; DROP TABLE x; --" });
    expect(page.rows.map((r) => r.customerId)).toEqual(["c24", "c23"]);
  });
});

describe("DMs and comment threads in one list", () => {
  beforeAll(async () => {
    await db.query("INSERT INTO instagram_accounts (id, username) VALUES ($1, 'mixed')", [MIXED]);
    // Three DMs and three comment threads, all with their last message in the same microsecond.
    const at = "2026-12-02T09:00:00.000001Z";
    for (let i = 0; i < 3; i++) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO conversations (account_id, customer_id, last_customer_message_at, profile)
         VALUES ($1, $2, $3, $4) RETURNING id`,
        [MIXED, `dm${i}`, at, JSON.stringify({ username: `dm${i}` })],
      );
      await db.query(
        `INSERT INTO messages (account_id, conversation_id, direction, author_kind, ig_message_id, text, occurred_at)
         VALUES ($1, $2, 'inbound', 'customer', $3, $4, $5)`,
        [MIXED, rows[0]?.id, `mid.mixed.${i}`, i === 0 ? "Where is my refund?" : "hello", at],
      );
      const thread = await db.query<{ id: string }>(
        `INSERT INTO comment_threads (account_id, media_id, root_comment_id, author_username)
         VALUES ($1, 'media1', $2, $3) RETURNING id`,
        [MIXED, `root${i}`, `commenter${i}`],
      );
      await db.query(
        `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, ig_message_id, text, occurred_at)
         VALUES ($1, $2, 'inbound', 'customer', $3, $4, $5)`,
        [
          MIXED,
          thread.rows[0]?.id,
          `root${i}`,
          i === 1 ? "Ship to <Lisbon>? mail me: jo@example.com" : "nice",
          at,
        ],
      );
    }
  });

  it("pages through both kinds once each, whatever the page size", async () => {
    for (const limit of [1, 2, 4, 6]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await listConversations(db, { account: MIXED, limit, after });
        seen.push(...page.rows.map((r) => `${r.kind}:${r.username}`));
        if (!page.next) break;
        after = page.next;
      }
      expect(seen, `pages of ${limit}`).toEqual([
        "dm:dm2",
        "dm:dm1",
        "dm:dm0",
        "comment:commenter2",
        "comment:commenter1",
        "comment:commenter0",
      ]);
    }
    const comments = await listConversations(db, { account: MIXED, kind: "comment" });
    expect(comments.rows.map((r) => r.username)).toEqual(["commenter2", "commenter1", "commenter0"]);
    expect(comments.rows.every((r) => r.waiting)).toBe(true);
  });

  it("searches words of DMs and comments, the last one as a prefix, and usernames", async () => {
    const found = async (text: string) =>
      (await searchConversations(db, text, { account: MIXED })).rows.map((r) => `${r.kind}:${r.username}`);
    expect(await found("refund")).toEqual(["dm:dm0"]);
    expect(await found("REFU")).toEqual(["dm:dm0"]);
    expect(await found("where refu")).toEqual(["dm:dm0"]);
    expect(await found("refunds")).toEqual([]);
    // A word in angle brackets (Postgres's parser would drop it as a tag), an address as written.
    expect(await found("lisbon")).toEqual(["comment:commenter1"]);
    expect(await found("jo@example.com")).toEqual(["comment:commenter1"]);
    expect(await found("@commenter2")).toEqual(["comment:commenter2"]);
    // tsquery syntax typed is taken as text.
    expect(await found("nice & !hello")).toEqual([]);
    expect(await found("') | ('")).toEqual([]);
    expect(textSearchQuery("¿Dónde está?")).toBe("dónde & está:*");
    expect(textSearchQuery("!&|")).toBeUndefined();
  });

  it("finds messages through the full-text index", async () => {
    const params: unknown[] = [];
    const condition = textSearchCondition("m", "refund", (v) => {
      params.push(v);
      return `$${params.length}`;
    });
    const plan = await db.transaction(async (tx) => {
      // The tables are tiny: without this the planner rightly reads them whole.
      await tx.query("SET LOCAL enable_seqscan = off");
      const { rows } = await tx.query<{ "QUERY PLAN": string }>(
        `EXPLAIN SELECT m.id FROM messages m WHERE ${condition}`,
        params,
      );
      return rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
    expect(plan).toContain("messages_text_search");
  });
});

describe("conversationMessages", () => {
  it("shows the latest messages oldest first and pages back without a gap", async () => {
    const { rows } = await db.query<{ id: string }>(
      "SELECT id FROM conversations WHERE account_id = $1 AND customer_id = 'c00'",
      [ACCOUNT],
    );
    const conversation = Number(rows[0]?.id);
    for (let i = 0; i < 7; i++)
      await db.query(
        `INSERT INTO messages (account_id, conversation_id, direction, author_kind, ig_message_id, text, occurred_at)
         VALUES ($1, $2, 'inbound', 'customer', $3, $4, '2026-12-01T10:00:00Z'::timestamptz + make_interval(mins => $5))`,
        [ACCOUNT, conversation, `mid.${i}`, `message ${i}`, i],
      );
    const latest = await conversationMessages(db, conversation, { limit: 3 });
    expect(latest.messages.map((m) => m.text)).toEqual(["message 4", "message 5", "message 6"]);
    const before = await conversationMessages(db, conversation, { limit: 3, before: latest.earlier });
    expect(before.messages.map((m) => m.text)).toEqual(["message 1", "message 2", "message 3"]);
    const first = await conversationMessages(db, conversation, { limit: 3, before: before.earlier });
    expect(first.messages.map((m) => m.text)).toEqual(["message 0"]);
    expect(first.earlier).toBeUndefined();
  });
});
