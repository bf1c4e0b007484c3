import type { Knex } from "knex";

// The web inbox (issue 20, adapters/web/): a chat platform whose threads live in this database.
// `web_posts` holds every message the inbox shows (thread roots, mirrored posts, notices, agents'
// own messages, top-level alerts), `web_files` the files agents attached to theirs. A thread is its
// root post (`thread_id = id`), as a Slack thread is its root's ts. Rows are bounded by the same
// paths as the chat copies on other platforms: an erasure deletes the thread (ChatAdapter.removeThread),
// an unsend deletes the post, and the adapter trims what nothing points to any more.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("web_posts", (t) => {
    t.bigIncrements("id");
    t.text("channel").notNullable();
    /** The root's id; null for a top-level message of the inbox (alerts, digests). */
    t.bigInteger("thread_id").references("id").inTable("web_posts").onDelete("CASCADE");
    /** `bridge` for what the core posted, `person` for what a console user wrote. */
    t.text("author_kind").notNullable();
    /** The console user who wrote it (author_kind person). */
    t.text("author_id");
    /** What it shows: the rendered view (adapters/web/render.ts). */
    t.jsonb("view").notNullable();
    /** Emoji → who put it there (`bridge` for the adapter). */
    t.jsonb("reactions").notNullable().defaultTo("{}");
    /** The delivery mark on an agent's message. */
    t.text("mark");
    t.boolean("edited").notNullable().defaultTo(false);
    /** The core's idempotency key (ChatAdapter `once`), for a retry to find what it made. */
    t.text("idem_key").unique();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["thread_id", "id"]);
    t.index(["channel", "updated_at"]);
  });
  await knex.schema.createTable("web_files", (t) => {
    t.bigIncrements("id");
    t.bigInteger("post_id").notNullable().references("id").inTable("web_posts").onDelete("CASCADE");
    t.text("name").notNullable();
    t.text("mime_type").notNullable();
    t.binary("data").notNullable();
    t.index(["post_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("web_files");
  await knex.schema.dropTable("web_posts");
}
