import type { Knex } from "knex";

// The SLA pass (every minute) and the digest find waiting conversations from the open ones a
// customer wrote to in the last eight days (src/digest/waiting.ts): the first index is that range,
// the second finds a conversation's last human answer in one probe instead of walking back through
// the customer's messages since.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    "CREATE INDEX conversations_open_recent ON conversations (account_id, last_customer_message_at) WHERE status = 'open'",
  );
  await knex.raw(
    `CREATE INDEX messages_human_answers ON messages (conversation_id, occurred_at)
      WHERE direction = 'outbound' AND author_kind IN ('agent', 'business')`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS messages_human_answers");
  await knex.raw("DROP INDEX IF EXISTS conversations_open_recent");
}
