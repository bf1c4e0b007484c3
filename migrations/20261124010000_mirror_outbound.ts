import type { Knex } from "knex";

// The chat mirror and the outbound path (issues 3 and 4): where each mirrored thread's root lives
// and what it last showed, the state of each send, and the pause switches.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("instagram_accounts", (t) => {
    // Operator pause (CLI or /ig pause): nothing is sent for the account while set.
    t.timestamp("paused_at", { useTz: true });
    t.text("paused_by");
    // The owners were alerted about the current token problem (once per problem).
    t.timestamp("token_alerted_at", { useTz: true });
    t.text("picture_url");
  });

  // Service-wide switches (global pause), one row per key.
  await knex.schema.createTable("service_flags", (t) => {
    t.text("key").primary();
    t.jsonb("value").notNullable();
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  for (const table of ["conversations", "comment_threads"]) {
    await knex.schema.alterTable(table, (t) => {
      // A digest of the header the root shows now, so it is re-rendered only when it changes.
      t.text("chat_header_digest");
      // One "held" notice per thread and pause episode.
      t.timestamp("held_notice_at", { useTz: true });
    });
  }

  await knex.schema.alterTable("comment_threads", (t) => {
    t.jsonb("media"); // caption, permalink, thumbnail: fetched once, refreshed with the profile age
    t.timestamp("media_fetched_at", { useTz: true });
    t.boolean("hidden").notNullable().defaultTo(false);
    t.timestamp("deleted_at", { useTz: true });
  });

  await knex.schema.alterTable("messages", (t) => {
    // How an outbound message goes: a DM (Send API), the private reply to a comment, or a DM
    // following a private reply. Decided when it is sent, kept for the record.
    t.text("send_route");
    t.text("messaging_tag"); // HUMAN_AGENT when the 7-day window needed it
    // Set just before the Graph call: a retry that finds it set (and no message id) must first
    // look for the echo of a send that may have been delivered.
    t.timestamp("send_started_at", { useTz: true });
    t.integer("send_attempts").notNullable().defaultTo(0);
    t.timestamp("sent_at", { useTz: true });
    // Which delivery mark the chat message shows now, so marks are applied once.
    t.text("chat_mark");
  });
  // Events that post without a message row of their own (referrals, opt-ins, postbacks without a
  // mid) remember their post here, so a retried job does not post again.
  await knex.schema.alterTable("inbound_events", (t) => {
    t.text("mirror_ref");
  });
  // Platform retries of one agent message (Slack X-Slack-Retry-Num, Discord gateway replays)
  // carry the same message ref: the index makes taking it twice impossible.
  await knex.raw(
    "CREATE UNIQUE INDEX messages_chat_ref ON messages (account_id, chat_ref) WHERE chat_ref IS NOT NULL",
  );
  await knex.raw(
    "CREATE INDEX messages_outbound_open ON messages (account_id, delivery_state) WHERE delivery_state IN ('pending', 'held')",
  );
  await knex.raw("CREATE INDEX conversations_chat_thread ON conversations (chat_channel, chat_thread)");
  await knex.raw("CREATE INDEX comment_threads_chat_thread ON comment_threads (chat_channel, chat_thread)");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS comment_threads_chat_thread");
  await knex.raw("DROP INDEX IF EXISTS conversations_chat_thread");
  await knex.raw("DROP INDEX IF EXISTS messages_outbound_open");
  await knex.raw("DROP INDEX IF EXISTS messages_chat_ref");
  await knex.schema.alterTable("inbound_events", (t) => {
    t.dropColumn("mirror_ref");
  });
  await knex.schema.alterTable("messages", (t) => {
    t.dropColumns("send_route", "messaging_tag", "send_started_at", "send_attempts", "sent_at", "chat_mark");
  });
  await knex.schema.alterTable("comment_threads", (t) => {
    t.dropColumns("media", "media_fetched_at", "hidden", "deleted_at");
  });
  for (const table of ["conversations", "comment_threads"]) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumns("chat_header_digest", "held_notice_at");
    });
  }
  await knex.schema.dropTableIfExists("service_flags");
  await knex.schema.alterTable("instagram_accounts", (t) => {
    t.dropColumns("paused_at", "paused_by", "token_alerted_at", "picture_url");
  });
}
