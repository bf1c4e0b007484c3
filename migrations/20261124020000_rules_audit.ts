import type { Knex } from "knex";

// Auto-reply rules (issue 6) and the append-only audit log they write to (issue 8 builds the
// readers and the digest on it).

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("rules", (t) => {
    t.text("id").primary(); // the slug from the rule file
    t.text("account_id").notNullable(); // an IG account id, or "*" for every account
    t.text("name").notNullable();
    t.boolean("enabled").notNullable().defaultTo(true);
    t.integer("position").notNullable(); // order in the file: the tie-breaker after priority
    t.jsonb("definition").notNullable(); // the validated rule as written
    t.text("source"); // the file it was imported from
    t.timestamps(true, true);
  });
  // Tags and assignees set by rules (and, later, by agents) on either kind of thread.
  for (const table of ["conversations", "comment_threads"]) {
    await knex.schema.alterTable(table, (t) => {
      t.jsonb("tags").notNullable().defaultTo("[]");
    });
  }
  await knex.schema.alterTable("comment_threads", (t) => {
    t.text("assignee");
  });
  // Account-level rule settings (time zone, business hours, holidays, agent silence).
  await knex.schema.alterTable("instagram_accounts", (t) => {
    t.jsonb("rule_settings");
  });
  // One row per rule firing per customer: the cooldown's memory, and the dry run's comparison.
  await knex.schema.createTable("rule_firings", (t) => {
    t.bigIncrements("id");
    t.text("rule_id").notNullable();
    t.text("account_id").notNullable();
    t.text("customer_id").notNullable();
    t.bigInteger("event_id");
    t.timestamp("fired_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["rule_id", "event_id"]); // a retried job fires a rule once per event
    t.index(["rule_id", "account_id", "customer_id", "fired_at"]);
  });
  await knex.schema.createTable("audit_log", (t) => {
    t.bigIncrements("id");
    t.timestamp("at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text("actor_kind").notNullable(); // agent, rule, system, operator
    t.text("actor_id");
    t.text("account_id");
    t.text("action").notNullable();
    t.text("target");
    t.jsonb("details").notNullable().defaultTo("{}"); // never message text beyond a short preview
    t.index(["account_id", "at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("audit_log");
  await knex.schema.dropTableIfExists("rule_firings");
  await knex.schema.alterTable("instagram_accounts", (t) => {
    t.dropColumn("rule_settings");
  });
  await knex.schema.alterTable("comment_threads", (t) => {
    t.dropColumn("assignee");
  });
  for (const table of ["conversations", "comment_threads"]) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn("tags");
    });
  }
  await knex.schema.dropTableIfExists("rules");
}
