// `/ig find` against the database: at most FIND_LIMIT threads an answer, latest activity first;
// words reach the 'simple' full-text GIN index (never a scan of every message) and nothing of
// the tsquery or LIKE syntax gets through from what an agent typed; scoped to the accounts asked.

import { beforeAll, expect, it } from "vitest";
import { INDEXED_TEXT } from "../../src/conversations/conversation-list.ts";
import { FIND_LIMIT, findText, findThreads, textQuery } from "../../src/conversations/find.ts";
import type { Database } from "../../src/db/database.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const A = "17841400000000093";
const OTHER = "17841400000000094";
const agent = { platform: "memory", id: "u1", name: "Ana" };

const store = useBackendDatabase();
let db: Database;

beforeAll(async () => {
  ({ db } = store);
  await db.query(
    "INSERT INTO instagram_accounts (id, username, status) VALUES ($1, 'brand', 'active'), ($2, 'other', 'active')",
    [A, OTHER],
  );
  // 15 customers of A who asked about a refund, one a minute apart; one of OTHER.
  for (let i = 0; i < 16; i++) {
    const account = i === 15 ? OTHER : A;
    const at = new Date(Date.UTC(2026, 11, 1, 10, i)).toISOString();
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO conversations (account_id, customer_id, profile, last_customer_message_at, chat_platform, chat_channel, chat_thread)
       VALUES ($1, $2, $3, $4, 'memory', 'room', $5) RETURNING id`,
      [account, `c${i}`, JSON.stringify({ username: `shopper_${i}` }), at, `t${i}`],
    );
    await db.query(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, ig_message_id, text, occurred_at)
       VALUES ($1, $2, 'inbound', 'customer', $3, $4, $5)`,
      [account, rows[0]?.id, `mid_${i}`, `Can I get a refund for order ${1000 + i}?`, at],
    );
  }
  await db.query(
    `INSERT INTO conversations (account_id, customer_id, profile, chat_platform)
     VALUES ($1, 'pct', '{"username": "a_b"}', 'memory')`,
    [A],
  );
});

it("answers at most FIND_LIMIT threads, latest activity first, of the asked accounts only", async () => {
  const { threads } = await findThreads(db, [A], "refund");
  expect(threads.length).toBe(FIND_LIMIT + 1); // one more than shown: the answer says there are more
  expect(threads.slice(0, 3).map((t) => t.customer)).toEqual(["@shopper_14", "@shopper_13", "@shopper_12"]);
  expect(threads.some((t) => t.customer === "@shopper_15")).toBe(false);
  const answer = await findText(
    db,
    agent,
    { channel: "room", accounts: new Set([A]) },
    "refund",
    async (ref) => `memory://${ref.channel}/${ref.thread}`,
  );
  const lines = answer.text.split("\n");
  expect(lines.filter((l) => /^\d+\. /.test(l))).toHaveLength(FIND_LIMIT);
  expect(lines[1]).toBe("1. @shopper_14 · new · last activity 2026-12-01 10:14 UTC · memory://room/t14");
  expect(lines[2]).toBe("   “Can I get a refund for order 1014?”");
  expect(answer.text).toContain(`…and more: the ${FIND_LIMIT} with the latest activity are shown`);
});

it("matches words by their start, usernames by prefix, and takes what was typed literally", async () => {
  expect((await findThreads(db, [A], "REFU 1007")).threads.map((t) => t.customer)).toEqual(["@shopper_7"]);
  expect((await findThreads(db, [A], "@shopper_1")).threads.map((t) => t.customer)).toEqual(
    expect.arrayContaining(["@shopper_1", "@shopper_10", "@shopper_14"]),
  );
  // LIKE's _ is a character here, not a wildcard: "a_" finds a_b only, and "%" finds nobody.
  expect((await findThreads(db, [A], "@a_")).threads.map((t) => t.customer)).toEqual(["@a_b"]);
  expect((await findThreads(db, [A], "%")).threads).toEqual([]);
  // Query syntax typed by an agent is only words.
  expect(textQuery("refund & !(order | 1003):*")).toEqual({
    tsquery: "refund:* & order:* & 1003:*",
    dropped: 0,
  });
  expect((await findThreads(db, [A], "refund & !(order | 1003):*")).threads.map((t) => t.customer)).toEqual([
    "@shopper_3",
  ]);
  const nothing = await findText(
    db,
    agent,
    { channel: "room", accounts: new Set([A]) },
    "!!! ???",
    async () => undefined,
  );
  expect(nothing).toEqual({
    ok: false,
    text: "/ig find needs a username (@name) or words to look for in messages.",
  });
});

it("reads matching messages through the full-text index", async () => {
  // An account's everyday traffic: thousands of messages without the word, so reading them all
  // through the account's index costs more than the full-text index's few matches.
  await db.query(
    `INSERT INTO messages (account_id, conversation_id, direction, author_kind, ig_message_id, text, occurred_at)
     SELECT $1, (SELECT min(id) FROM conversations WHERE account_id = $1), 'inbound', 'customer', 'bulk_' || g,
            'hello, is this still available? size ' || g, now() - g * interval '1 minute'
       FROM generate_series(1, 5000) g`,
    [A],
  );
  await db.query("ANALYZE messages");
  const { rows } = await db.query<{ "QUERY PLAN": string }>(
    `EXPLAIN SELECT id FROM messages WHERE account_id = ANY($1::text[]) AND deleted_at IS NULL
       AND ${INDEXED_TEXT.replace("%s", "messages")} @@ to_tsquery('simple'::regconfig, $2)`,
    [[A], "refund:*"],
  );
  expect(rows.map((r) => r["QUERY PLAN"]).join("\n")).toContain("messages_text_search");
  // And the answer is still the refund threads, not the bulk.
  expect((await findThreads(db, [A], "refund")).threads).toHaveLength(FIND_LIMIT + 1);
});
