// The console's conversation pages underneath (issue 20): keyset pages that neither skip nor repeat
// a conversation, even when many share a millisecond (the database keeps microseconds), and
// messages paged back in order.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversationMessages, listConversations } from "../../src/conversations/conversation-list.ts";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { type BackendDatabase, createBackendDatabase } from "../helpers/backend.ts";

const ACCOUNT = "17841400000000071";
let tdb: BackendDatabase;
let db: Database;

beforeAll(async () => {
  tdb = await createBackendDatabase();
  db = await openDatabase(tdb.target);
  await migrate(db);
  await db.query("INSERT INTO instagram_accounts (id, username) VALUES ($1, 'pages')", [ACCOUNT]);
  // 25 conversations within one millisecond, five to a microsecond.
  for (let i = 0; i < 25; i++)
    await db.query(
      `INSERT INTO conversations (account_id, customer_id, last_customer_message_at)
       VALUES ($1, $2, '2026-12-01T10:00:00.123000Z'::timestamptz + make_interval(secs => $3::double precision / 1e6))`,
      [ACCOUNT, `c${String(i).padStart(2, "0")}`, Math.floor(i / 5) * 100],
    );
});
afterAll(async () => {
  await db?.close();
  await tdb?.drop();
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
