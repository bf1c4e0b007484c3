import type { Knex } from "knex";

// Meta's data deletion requests (issue 7): the confirmation code, what it concerns and where it
// stands, for the public status page. The code is the key; no user id is ever shown.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("data_requests", (t) => {
    t.text("code").primary();
    t.text("kind").notNullable(); // deletion
    t.text("account_id"); // null once erased, or when the id matched nothing
    t.text("status").notNullable(); // pending, completed, nothing_stored
    t.jsonb("counts");
    t.timestamp("requested_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("completed_at", { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("data_requests");
}
