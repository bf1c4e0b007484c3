import type { Knex } from "knex";

// The agent's day (issue 21), second part. `/ig find` searches threads by the customer's username
// and by message text. Text goes through the console search's GIN full-text index
// (`messages_text_search`, 20261224000100_messages_text_search.ts, the 'simple' configuration: no
// stemming or stop words, so any language and product codes match as written). Usernames are
// matched by prefix through lower() text_pattern_ops indexes. Comment threads are owned like conversations: `assigned_at`
// and an index for the open load per agent, as conversations have. A root shows the customer's
// other threads (their comment threads by author): an index on (account, author).

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    "CREATE INDEX conversations_customer_username ON conversations (lower(profile->>'username') text_pattern_ops)",
  );
  await knex.raw(
    "CREATE INDEX comment_threads_author_username ON comment_threads (lower(author_username) text_pattern_ops)",
  );
  await knex.schema.alterTable("comment_threads", (t) => {
    t.timestamp("assigned_at", { useTz: true });
  });
  await knex.raw("CREATE INDEX comment_threads_by_author ON comment_threads (account_id, author_id)");
  await knex.raw(
    "CREATE INDEX comment_threads_open_by_assignee ON comment_threads (account_id, assignee_ref) WHERE status <> 'closed' AND assignee_ref IS NOT NULL",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS comment_threads_open_by_assignee");
  await knex.raw("DROP INDEX IF EXISTS comment_threads_by_author");
  await knex.schema.alterTable("comment_threads", (t) => {
    t.dropColumn("assigned_at");
  });
  await knex.raw("DROP INDEX IF EXISTS comment_threads_author_username");
  await knex.raw("DROP INDEX IF EXISTS conversations_customer_username");
}
