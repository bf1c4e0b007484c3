import type { Knex } from "knex";

// Customer context (issue 21): notes agents keep about a customer (`!note`) and labels
// (`!label vip`), per (account, customer), shown on the root of every thread of theirs. Rows go
// with the account; a customer's erasure deletes them explicitly (src/privacy/customer-rows.ts).

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("customer_notes", (t) => {
    t.bigIncrements("id");
    t.text("account_id").notNullable().references("id").inTable("instagram_accounts").onDelete("CASCADE");
    t.text("customer_id").notNullable();
    t.text("text").notNullable();
    t.text("author").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["account_id", "customer_id", "created_at"]);
  });
  await knex.schema.createTable("customer_labels", (t) => {
    t.text("account_id").notNullable().references("id").inTable("instagram_accounts").onDelete("CASCADE");
    t.text("customer_id").notNullable();
    t.text("label").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["account_id", "customer_id", "label"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("customer_labels");
  await knex.schema.dropTable("customer_notes");
}
