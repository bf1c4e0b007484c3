import type { Knex } from "knex";

// A message has a conversation or a comment thread, never both (messages_one_parent), and only a
// reply written here (an agent's or a rule's) has a client id: three of the table's indexes held
// an entry for a NULL on every row, written at its insert and again at each update that is not
// HOT (storing a post's chat ref is one, as `chat_ref` is indexed). Partial (IS NOT NULL), they
// hold only what is looked up: an inbound message writes two index entries fewer each time
// (issue 23, bench/README.md "Mirror capacity, eleventh pass"). `col = $1`, `col = ANY($1)` and
// the foreign keys' cascades imply the predicate, so the same plans use them
// (test/db/message-indexes.test.ts).

export async function up(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX messages_conversation_id_occurred_at_index");
  await knex.raw(
    `CREATE INDEX messages_conversation_time ON messages (conversation_id, occurred_at)
       WHERE conversation_id IS NOT NULL`,
  );
  await knex.raw("DROP INDEX messages_comment_thread_id_occurred_at_index");
  await knex.raw(
    `CREATE INDEX messages_comment_thread_time ON messages (comment_thread_id, occurred_at)
       WHERE comment_thread_id IS NOT NULL`,
  );
  // A unique constraint cannot be partial; a unique index can, and nothing names the constraint.
  await knex.raw("ALTER TABLE messages DROP CONSTRAINT messages_client_id_unique");
  await knex.raw(
    "CREATE UNIQUE INDEX messages_client_id ON messages (client_id) WHERE client_id IS NOT NULL",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX messages_client_id");
  await knex.raw("ALTER TABLE messages ADD CONSTRAINT messages_client_id_unique UNIQUE (client_id)");
  await knex.raw("DROP INDEX messages_comment_thread_time");
  await knex.raw(
    "CREATE INDEX messages_comment_thread_id_occurred_at_index ON messages (comment_thread_id, occurred_at)",
  );
  await knex.raw("DROP INDEX messages_conversation_time");
  await knex.raw(
    "CREATE INDEX messages_conversation_id_occurred_at_index ON messages (conversation_id, occurred_at)",
  );
}
