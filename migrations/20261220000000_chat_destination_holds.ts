import type { Knex } from "knex";

// Chat destinations that answered something no retry can fix (issue 19): the bot is not in the
// channel, the channel is gone, the token is refused, a scope or permission is missing. While a
// destination is held, mirror work for it waits (its inbound jobs deferred, not failed) and is let
// go, in order, once the platform's probe passes again. `channel` '*' holds the whole platform.
// `held_by` on an inbound event names the hold its job waits on, so a release wakes exactly those.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("chat_destination_holds", (t) => {
    t.text("platform").notNullable();
    t.text("channel").notNullable();
    t.text("reason").notNullable();
    t.text("fix").notNullable();
    t.text("detail");
    t.timestamp("held_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("checked_at", { useTz: true });
    t.text("last_check");
    t.primary(["platform", "channel"]);
  });
  await knex.schema.alterTable("inbound_events", (t) => {
    t.text("held_by");
  });
  await knex.raw("CREATE INDEX inbound_events_held ON inbound_events (held_by) WHERE held_by IS NOT NULL");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS inbound_events_held");
  await knex.schema.alterTable("inbound_events", (t) => {
    t.dropColumn("held_by");
  });
  await knex.schema.dropTable("chat_destination_holds");
}
