import type { Knex } from "knex";

// Snoozing (issue 7): a thread set aside until a time, woken by a durable job or by the
// customer's next message.

export async function up(knex: Knex): Promise<void> {
  for (const table of ["conversations", "comment_threads"]) {
    await knex.schema.alterTable(table, (t) => {
      t.timestamp("snoozed_until", { useTz: true });
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["conversations", "comment_threads"]) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn("snoozed_until");
    });
  }
}
