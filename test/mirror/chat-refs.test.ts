// A message is found by the chat message that shows it through message_chat_refs, which triggers on
// `messages` keep (migration 20261229000000_message_writes): so storing a post's ref writes no index
// of `messages` (a HOT update, bench/README.md "Mirror capacity, eleventh pass"), and a ref stays
// unique per account as the index on the column kept it.

import pg from "pg";
import type { PgBoss } from "pg-boss";
import { beforeAll, describe, expect, it } from "vitest";
import { storeAgentReply, type Thread, threadSettings } from "../../src/conversations/threads.ts";
import type { Database } from "../../src/db/database.ts";
import { isUniqueViolation } from "../../src/db/errors.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { useIdleService } from "../helpers/idle-service.ts";
import { waitFor } from "../helpers/service.ts";

const ACC = "17841400000000091";
let db: Database;
let boss: PgBoss;
let thread: Extract<Thread, { kind: "dm" }>;
const service = useIdleService();

beforeAll(async () => {
  ({ db, boss } = service);
  await db.query("INSERT INTO instagram_accounts (id) VALUES ($1) ON CONFLICT DO NOTHING", [ACC]);
  const { rows } = await db.query<{ id: string }>(
    "INSERT INTO conversations (account_id, customer_id) VALUES ($1, '5001') RETURNING id",
    [ACC],
  );
  thread = {
    kind: "dm",
    id: Number(rows[0]?.id),
    accountId: ACC,
    customerId: "5001",
    settings: threadSettings({}),
  };
});

const customerMessage = async (mid: string, ref: string | null = null) =>
  Number(
    (
      await db.query<{ id: string }>(
        `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id, text,
                               chat_ref, occurred_at)
         VALUES ($1, $2, 'inbound', 'customer', '5001', $3, 'hello', $4, now()) RETURNING id`,
        [ACC, thread.id, mid, ref],
      )
    ).rows[0]?.id,
  );

/** The message the lookup finds for `ref`, as every reader by ref asks it. */
/** Sessions of this database waiting on a lock. */
const lockWaits = async () =>
  Number(
    (
      await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      )
    ).rows[0]?.n,
  );

const byRef = async (ref: string) =>
  (
    await db.query<{ message_id: string }>(
      "SELECT message_id FROM message_chat_refs WHERE account_id = $1 AND chat_ref = $2",
      [ACC, ref],
    )
  ).rows.map((r) => Number(r.message_id));

describe("a message's chat ref", () => {
  it("is found by its ref once stored, at the insert or later, and not after it changes or the message goes", async () => {
    const posted = await customerMessage("m1", "ref-1");
    const mirrored = await customerMessage("m2");
    expect(await byRef("ref-1")).toEqual([posted]);

    await db.query("UPDATE messages SET chat_ref = 'ref-2' WHERE id = $1", [mirrored]);
    expect(await byRef("ref-2")).toEqual([mirrored]);

    await db.query("UPDATE messages SET chat_ref = 'ref-3' WHERE id = $1", [mirrored]);
    expect(await byRef("ref-2")).toEqual([]);
    expect(await byRef("ref-3")).toEqual([mirrored]);

    await db.query("DELETE FROM messages WHERE id = $1", [posted]);
    expect(await byRef("ref-1")).toEqual([]);
    // The conversation's erasure takes its messages' refs with them (the cascade runs the trigger).
    const { rows } = await db.query<{ id: string }>(
      "INSERT INTO conversations (account_id, customer_id) VALUES ($1, '5002') RETURNING id",
      [ACC],
    );
    await db.query(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, ig_message_id, chat_ref, occurred_at)
       VALUES ($1, $2, 'inbound', 'customer', 'm9', 'ref-9', now())`,
      [ACC, rows[0]?.id],
    );
    expect(await byRef("ref-9")).toHaveLength(1);
    await db.query("DELETE FROM conversations WHERE id = $1", [rows[0]?.id]);
    expect(await byRef("ref-9")).toEqual([]);
  });

  it("is unique per account: a second message with a taken ref fails its statement", async () => {
    await customerMessage("m3", "ref-taken");
    const second = await customerMessage("m4");
    const failure = await db.query("UPDATE messages SET chat_ref = 'ref-taken' WHERE id = $1", [second]).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isUniqueViolation(failure, "message_chat_refs_pkey")).toBe(true);
    expect(
      (await db.query("SELECT chat_ref FROM messages WHERE id = $1", [second])).rows[0]?.chat_ref,
    ).toBeNull();
  });

  it("is stored by a HOT update, which writes none of the message's indexes", async () => {
    await db.transaction(async (tx) => {
      // This transaction's own counts (the cumulative ones are flushed later), before and after.
      const updates = async () =>
        (
          await tx.query<{ updated: number; hot: number }>(
            `SELECT pg_stat_get_xact_tuples_updated('messages'::regclass)::int AS updated,
                    pg_stat_get_xact_tuples_hot_updated('messages'::regclass)::int AS hot`,
          )
        ).rows[0] ?? { updated: Number.NaN, hot: Number.NaN };
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO messages (account_id, conversation_id, direction, author_kind, ig_message_id, text, occurred_at)
         VALUES ($1, $2, 'inbound', 'customer', 'm-hot', 'hi', now()) RETURNING id`,
        [ACC, thread.id],
      );
      const before = await updates();
      await tx.query("UPDATE messages SET chat_ref = 'ref-hot', updated_at = now() WHERE id = $1", [
        rows[0]?.id,
      ]);
      const after = await updates();
      expect({ updated: after.updated - before.updated, hot: after.hot - before.hot }).toEqual({
        updated: 1,
        hot: 1,
      });
    });
  });
});

describe("an agent's reply delivered again by its platform", () => {
  const agent = { platform: "slack" as const, id: "U1", name: "Ana" };
  const count = async (ref: string) =>
    (await db.query("SELECT 1 FROM messages WHERE chat_ref = $1", [ref])).rows.length;

  it("is stored once when the retry comes after the first is stored", async () => {
    const first = await storeAgentReply(db, boss, thread, agent, "reply-1", "on its way", []);
    expect(first).toEqual(expect.any(Number));
    expect(await storeAgentReply(db, boss, thread, agent, "reply-1", "on its way", [])).toBeUndefined();
    expect(await count("reply-1")).toBe(1);
  });

  it("is stored once when the first delivery commits while the second is being stored", async (ctx) => {
    if (!needsDatabaseServer("holds the first delivery's row from a second connection", ctx)) return;
    // The first holds its row uncommitted on a connection of its own: the second passes the
    // statement's own test (it cannot see that row), waits on the ref's key, and fails on it
    // once the first commits, which is taken as "stored already".
    const first = new pg.Client({ connectionString: db.url as string });
    await first.connect();
    try {
      await first.query("BEGIN");
      await first.query(
        `INSERT INTO messages (account_id, conversation_id, direction, author_kind, chat_ref, occurred_at)
         VALUES ($1, $2, 'outbound', 'agent', 'reply-race', now())`,
        [ACC, thread.id],
      );
      const second = storeAgentReply(db, boss, thread, agent, "reply-race", "same time", []);
      await waitFor(async () => (await lockWaits()) > 0 || undefined, 10_000);
      await first.query("COMMIT");
      expect(await second).toBeUndefined();
      expect(await count("reply-race")).toBe(1);
    } finally {
      await first.end();
    }
  });
});
