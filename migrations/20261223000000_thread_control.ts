import type { Knex } from "knex";

// Conversation Routing (issue 22): which app holds each conversation on Instagram. `controlled_by`
// is null while this app holds it (or nothing says otherwise), else the other app's id, or
// 'unknown' when messages arrive on standby without saying whose the thread is. `control_at` is
// the time of the event that set it, so an older event delivered late never undoes a newer one.
// Backfill (the same issue): messages recovered through the Conversations API are marked in
// `details`, no column needed; `instagram_accounts.silence_noticed_at` remembers that the account's
// chat channel was told its webhooks fell silent, so the notice is posted once per silence.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("conversations", (t) => {
    t.text("controlled_by");
    t.timestamp("control_at", { useTz: true });
    t.text("control_requested_by");
  });
  await knex.schema.alterTable("instagram_accounts", (t) => {
    t.timestamp("silence_noticed_at", { useTz: true });
    t.timestamp("last_webhook_at", { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("instagram_accounts", (t) => {
    t.dropColumn("last_webhook_at");
    t.dropColumn("silence_noticed_at");
  });
  await knex.schema.alterTable("conversations", (t) => {
    t.dropColumn("control_requested_by");
    t.dropColumn("control_at");
    t.dropColumn("controlled_by");
  });
}
