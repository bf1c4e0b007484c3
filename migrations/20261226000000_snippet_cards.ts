import type { Knex } from "knex";

// Saved replies with a generic template (issue 22, docs/agents.md "Saved replies"): the carousel's
// cards, [{ title, subtitle?, imageUrl?, url?, buttons? }], sent after the text; [] when none.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("snippets", (t) => {
    t.jsonb("cards").notNullable().defaultTo("[]");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("snippets", (t) => {
    t.dropColumn("cards");
  });
}
