// The message indexes that skip NULLs (migration 20261229000000_message_indexes_without_nulls):
// a DM message writes no entry in the comment-thread index nor a comment in the conversation's,
// an inbound message none in the client-id index, and the lookups they serve still take them.

import { expect, it } from "vitest";
import { useBackendDatabase } from "../helpers/backend.ts";

const store = useBackendDatabase();
const ACC = "17841400000000093";

/** The indexes the plan of `sql` reads, as a generic plan (what a prepared statement runs after its
 * first executions) for the arguments `args` (SQL literals), on tables too small for an index to be
 * worth reading otherwise. */
async function indexesUsed(sql: string, types: string, args: string): Promise<string[]> {
  return store.db.transaction(async (tx) => {
    await tx.query("SET LOCAL enable_seqscan = off");
    await tx.query("SET LOCAL plan_cache_mode = force_generic_plan");
    await tx.query(`PREPARE lookup(${types}) AS ${sql}`);
    const { rows } = await tx.query<{ "QUERY PLAN": string }>(`EXPLAIN EXECUTE lookup(${args})`);
    await tx.query("DEALLOCATE lookup");
    return [
      ...rows
        .map((r) => r["QUERY PLAN"])
        .join("\n")
        .matchAll(/Index (?:Only )?Scan (?:Backward )?(?:using|on) (\w+)/g),
    ].map((m) => m[1] ?? "");
  });
}

it("serves a conversation's and a comment thread's messages in time order", async () => {
  expect(
    await indexesUsed(
      "SELECT id FROM messages WHERE conversation_id = $1 ORDER BY occurred_at DESC LIMIT 20",
      "bigint",
      "1",
    ),
  ).toEqual(["messages_conversation_time"]);
  expect(
    await indexesUsed(
      "SELECT id FROM messages WHERE comment_thread_id = ANY($1) ORDER BY comment_thread_id, occurred_at",
      "bigint[]",
      "'{1,2}'",
    ),
  ).toEqual(["messages_comment_thread_time"]);
});

it("holds only the rows that have the column, and a client id stays unique", async () => {
  const { rows } = await store.db.query<{ name: string; def: string }>(
    `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def FROM pg_index
      WHERE indrelid = 'messages'::regclass AND indexrelid::regclass::text = ANY($1)`,
    [["messages_conversation_time", "messages_comment_thread_time", "messages_client_id"]],
  );
  expect(rows).toHaveLength(3);
  for (const row of rows) expect(row.def).toMatch(/WHERE \((\w+) IS NOT NULL\)$/);

  await store.db.query("INSERT INTO instagram_accounts (id) VALUES ($1)", [ACC]);
  const conversation = (
    await store.db.query<{ id: string }>(
      "INSERT INTO conversations (account_id, customer_id) VALUES ($1, '7001') RETURNING id",
      [ACC],
    )
  ).rows[0]?.id;
  const reply = (clientId: string | null) =>
    store.db.query(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, client_id, text, occurred_at)
       VALUES ($1, $2, 'outbound', 'agent', $3, 'hi', now())`,
      [ACC, conversation, clientId],
    );
  await reply(null);
  await reply(null);
  const id = "0190f5e2-7a4b-7cde-8f01-23456789abcd";
  await reply(id);
  await expect(reply(id)).rejects.toMatchObject({ code: "23505", constraint: "messages_client_id" });
});
