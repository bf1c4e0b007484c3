import type { Knex } from "knex";

// Mentions of the account (the `mentions` webhook field, issue 22): each one a thread of its own.
// A mention names a media and, when it is in a comment, the comment; the rest (who wrote it, what
// it says, the post) is resolved through the Graph API and kept here for the thread's root.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("mentions", (t) => {
    t.bigIncrements("id");
    t.text("account_id").notNullable().references("instagram_accounts.id").onDelete("CASCADE");
    t.text("media_id").notNullable();
    // '' for a mention in the media's caption, so the pair is unique either way.
    t.text("comment_id").notNullable().defaultTo("");
    t.timestamp("mentioned_at", { useTz: true }).notNullable();
    // Resolved through the Graph API (null until then, or when Instagram would not say).
    t.text("author_id");
    t.text("author_username");
    t.text("text");
    t.jsonb("media");
    t.timestamp("resolved_at", { useTz: true });
    t.text("resolve_error");
    t.text("chat_platform");
    t.text("chat_channel");
    t.text("chat_thread");
    t.text("chat_header_digest");
    t.timestamps(true, true);
    t.unique(["account_id", "media_id", "comment_id"]);
    t.index(["account_id", "author_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("mentions");
}
