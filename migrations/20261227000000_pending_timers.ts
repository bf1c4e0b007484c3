import type { Knex } from "knex";

// Mirror capacity (issue 23): when each pending customer timer of a conversation fires
// (conversations/timers.ts), { "window" | "human_agent" | "auto_close": ISO time }. A customer's
// message whose timers are already pending for an earlier time then sets no job of its own: the
// pending one, when it fires, finds the newer message and sets itself again for it. Empty after
// the upgrade: the jobs pending then (one per message, as before) still fire, and the next message
// of each conversation sets its timers and fills this in.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("conversations", (t) => {
    t.jsonb("pending_timers").notNullable().defaultTo("{}");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("conversations", (t) => {
    t.dropColumn("pending_timers");
  });
}
