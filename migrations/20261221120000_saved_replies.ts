import type { Knex } from "knex";

// Saved replies (issue 21): texts agents send with `!!NAME` and rules send as an action, one
// account's or shared by every account (account_id NULL), unique per (account, name). And the
// memory of the automation disclosure: when a conversation (or comment thread) last got one.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("snippets", (t) => {
    t.bigIncrements("id");
    t.text("account_id").references("id").inTable("instagram_accounts").onDelete("CASCADE");
    t.text("name").notNullable();
    t.text("text").notNullable();
    // The language of the text (`es`, `pt-BR`): picks the disclosure when a rule sends it.
    t.text("language");
    // [{ type: "image" | "file", url }]: sent by URL, before the text (whose quick replies stay last).
    t.jsonb("attachments").notNullable().defaultTo("[]");
    // [{ title, payload }]: text quick replies only.
    t.jsonb("quick_replies").notNullable().defaultTo("[]");
    t.text("source");
    t.timestamps(true, true);
  });
  // One NULL (shared) per name as well: Postgres 15's NULLS NOT DISTINCT, which PGlite has too.
  await knex.raw(
    "ALTER TABLE snippets ADD CONSTRAINT snippets_account_name UNIQUE NULLS NOT DISTINCT (account_id, name)",
  );
  for (const table of ["conversations", "comment_threads"])
    await knex.schema.alterTable(table, (t) => {
      t.timestamp("last_disclosure_at", { useTz: true });
    });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["conversations", "comment_threads"])
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn("last_disclosure_at");
    });
  await knex.schema.dropTable("snippets");
}
