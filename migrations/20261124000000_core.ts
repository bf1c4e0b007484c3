import type { Knex } from "knex";

// Core tables of the bridge (DESIGN.md "Data"). Every row is scoped by the Instagram account it
// belongs to, so erasing an account or one of its customers reaches everything by account_id.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("instagram_accounts", (t) => {
    t.text("id").primary(); // IG_ID: entry.id of webhooks
    t.text("username");
    t.text("name");
    // AES-256-GCM ciphertext and the id of the key it was sealed with; never the plain token.
    t.text("token_ciphertext");
    t.text("token_key_id");
    t.timestamp("token_expires_at", { useTz: true });
    // unconfigured: seen in a webhook but never connected; active; token_invalid; revoked; removed.
    t.text("status").notNullable().defaultTo("unconfigured");
    t.text("chat_platform").checkIn(["slack", "discord"]);
    t.text("chat_channel");
    t.text("digest_channel");
    t.jsonb("settings").notNullable().defaultTo("{}");
    t.timestamp("last_event_at", { useTz: true });
    t.timestamps(true, true);
  });

  await knex.schema.createTable("conversations", (t) => {
    t.bigIncrements("id");
    t.text("account_id").notNullable().references("instagram_accounts.id").onDelete("CASCADE");
    t.text("customer_id").notNullable(); // IGSID
    t.text("status").notNullable().defaultTo("open");
    t.text("assignee");
    t.text("consent").notNullable().defaultTo("unknown");
    t.jsonb("profile");
    t.timestamp("profile_fetched_at", { useTz: true });
    // Windows (24 h / 7 days) run from the customer's last message.
    t.timestamp("last_customer_message_at", { useTz: true });
    t.timestamp("last_business_message_at", { useTz: true });
    t.timestamp("last_seen_at", { useTz: true });
    t.text("last_seen_mid");
    // Where the mirror lives: platform, channel, thread (Slack ts / Discord thread id).
    t.text("chat_platform");
    t.text("chat_channel");
    t.text("chat_thread");
    t.timestamps(true, true);
    t.unique(["account_id", "customer_id"]);
  });

  await knex.schema.createTable("comment_threads", (t) => {
    t.bigIncrements("id");
    t.text("account_id").notNullable().references("instagram_accounts.id").onDelete("CASCADE");
    t.text("media_id").notNullable();
    t.text("media_product_type");
    t.text("root_comment_id").notNullable();
    t.text("author_id"); // IGSID of the top-level comment's author
    t.text("author_username");
    t.boolean("live").notNullable().defaultTo(false);
    t.text("status").notNullable().defaultTo("open");
    // Private replies: once per comment, within 7 days of it.
    t.timestamp("root_commented_at", { useTz: true });
    t.timestamp("private_reply_sent_at", { useTz: true });
    t.text("private_reply_message_id");
    t.text("chat_platform");
    t.text("chat_channel");
    t.text("chat_thread");
    t.timestamps(true, true);
    t.unique(["account_id", "root_comment_id"]);
  });

  await knex.schema.createTable("messages", (t) => {
    t.bigIncrements("id");
    t.text("account_id").notNullable().references("instagram_accounts.id").onDelete("CASCADE");
    t.bigInteger("conversation_id").references("conversations.id").onDelete("CASCADE");
    t.bigInteger("comment_thread_id").references("comment_threads.id").onDelete("CASCADE");
    t.text("direction").notNullable().checkIn(["inbound", "outbound"]);
    // customer; business (sent from the Instagram app or another app); agent; rule.
    t.text("author_kind").notNullable().checkIn(["customer", "business", "agent", "rule"]);
    t.text("author_id");
    t.text("ig_message_id"); // mid, or comment id for comment threads
    t.uuid("client_id"); // set before an outbound call, so a retried send can be reconciled
    t.text("text");
    t.jsonb("attachments").notNullable().defaultTo("[]");
    t.jsonb("details").notNullable().defaultTo("{}"); // reply_to, quick reply, referral, reactions
    t.text("chat_ref");
    t.text("delivery_state").checkIn(["pending", "held", "sent", "failed"]);
    t.text("delivery_error");
    t.integer("edit_count").notNullable().defaultTo(0);
    t.timestamp("edited_at", { useTz: true });
    t.timestamp("deleted_at", { useTz: true });
    t.timestamp("occurred_at", { useTz: true }).notNullable();
    t.timestamps(true, true);
    t.unique(["account_id", "ig_message_id"]);
    t.unique(["client_id"]);
    t.index(["conversation_id", "occurred_at"]);
    t.index(["comment_thread_id", "occurred_at"]);
  });
  await knex.raw(
    "ALTER TABLE messages ADD CONSTRAINT messages_one_parent CHECK ((conversation_id IS NULL) <> (comment_thread_id IS NULL))",
  );

  await knex.schema.createTable("inbound_events", (t) => {
    t.bigIncrements("id");
    t.text("account_id").notNullable();
    t.text("dedupe_key").notNullable();
    t.text("kind").notNullable();
    t.text("thread_key").notNullable();
    t.jsonb("event").notNullable(); // the typed domain event
    t.jsonb("raw").notNullable(); // the webhook item as received; purged by retention
    t.timestamp("occurred_at", { useTz: true }).notNullable();
    t.timestamp("received_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("job_id").notNullable();
    t.text("status").notNullable().defaultTo("queued").checkIn(["queued", "processed", "dead", "discarded"]);
    t.integer("attempts").notNullable().defaultTo(0);
    t.text("last_error");
    t.timestamp("processed_at", { useTz: true });
    t.unique(["account_id", "dedupe_key"]);
    t.index(["received_at"]);
  });
  await knex.raw(
    "CREATE INDEX inbound_events_open ON inbound_events (status, id) WHERE status IN ('queued', 'dead')",
  );
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    "inbound_events",
    "messages",
    "comment_threads",
    "conversations",
    "instagram_accounts",
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
