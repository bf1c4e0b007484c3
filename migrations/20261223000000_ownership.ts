import type { Knex } from "knex";

// Ownership (issue 21): agents who said `/ig away` (one row each until `/ig back`), and each
// account's round-robin cursor. The cursor's row is also the lock automatic assignment takes, so
// two workers assigning the same account's new conversations take turns instead of both picking
// the same agent or both passing a cap. `assigned_at` says since when the assignee owns it.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("agents_away", (t) => {
    t.text("platform").notNullable();
    t.text("agent_id").notNullable();
    t.text("name").notNullable();
    t.timestamp("since", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["platform", "agent_id"]);
  });
  await knex.schema.createTable("assignment_cursors", (t) => {
    t.text("account_id").primary().references("id").inTable("instagram_accounts").onDelete("CASCADE");
    // The platform user id of the agent assigned last.
    t.text("last_agent");
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.alterTable("conversations", (t) => {
    t.timestamp("assigned_at", { useTz: true });
  });
  // The open load per agent (fewest open, the cap) is counted per account and assignee.
  await knex.raw(
    "CREATE INDEX conversations_open_by_assignee ON conversations (account_id, assignee_ref) WHERE status <> 'closed' AND assignee_ref IS NOT NULL",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS conversations_open_by_assignee");
  await knex.schema.alterTable("conversations", (t) => {
    t.dropColumn("assigned_at");
  });
  await knex.schema.dropTable("assignment_cursors");
  await knex.schema.dropTable("agents_away");
}
