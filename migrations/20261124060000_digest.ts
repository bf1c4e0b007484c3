import type { Knex } from "knex";

// The managers' digest and SLA alerts (issue 8). The digest reads an account's messages of one
// day or week out of a table that may hold millions of rows, so it needs them by account and
// time. Rate-limit deferrals happen in memory in each worker; they are counted here per hour so
// the digest can report them. An SLA alert is sent once per waiting period: `sla_alerted_at` is
// cleared when the conversation is answered.

export async function up(knex: Knex): Promise<void> {
  await knex.raw("CREATE INDEX messages_account_time ON messages (account_id, occurred_at)");
  await knex.raw("CREATE INDEX audit_log_account_action_time ON audit_log (account_id, action, at)");
  await knex.raw("CREATE INDEX rule_firings_account_time ON rule_firings (account_id, fired_at)");
  await knex.schema.createTable("outbound_deferrals", (t) => {
    t.text("account_id").notNullable();
    t.text("class").notNullable(); // the rate-limit class: send_text, private_reply, …
    t.timestamp("hour", { useTz: true }).notNullable();
    t.integer("count").notNullable().defaultTo(0);
    t.primary(["account_id", "class", "hour"]);
  });
  for (const table of ["conversations", "comment_threads"])
    await knex.schema.alterTable(table, (t) => {
      t.timestamp("sla_alerted_at", { useTz: true });
      // The platform user id of the assignee, when it is known (take, !assign me): for mentions.
      t.text("assignee_ref");
    });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["conversations", "comment_threads"])
    await knex.schema.alterTable(table, (t) => {
      t.dropColumns("sla_alerted_at", "assignee_ref");
    });
  await knex.schema.dropTableIfExists("outbound_deferrals");
  await knex.raw("DROP INDEX IF EXISTS rule_firings_account_time");
  await knex.raw("DROP INDEX IF EXISTS audit_log_account_action_time");
  await knex.raw("DROP INDEX IF EXISTS messages_account_time");
}
