import type { Knex } from "knex";

// Tombstones of erased Instagram users (privacy/forget.ts): a hash, never the id.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("erasures", (t) => {
    t.bigIncrements("id");
    t.text("key").notNullable(); // sha256 of account and IGSID
    t.text("account_id").notNullable();
    t.text("requested_by").notNullable();
    t.jsonb("counts").notNullable();
    t.timestamp("erased_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["key"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("erasures");
}
