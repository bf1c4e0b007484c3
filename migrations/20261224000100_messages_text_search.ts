import type { Knex } from "knex";

// Searching what customers and agents wrote (the console's conversation search, issue 20; `/ig find`
// may share it): a GIN full-text index over every message's text, DMs and comments alike (both live
// in `messages`). The 'simple' configuration lower-cases words and stems nothing, so it works for
// every language the accounts receive, and it ships with Postgres and with embedded PGlite alike
// (pg_trgm would need an extension loaded on both). Angle brackets become spaces first: the parser
// drops `<word>` as an HTML tag. Queries must use the same expression (INDEXED_TEXT of
// src/conversations/conversation-list.ts) for the planner to pick the index.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    "CREATE INDEX messages_text_search ON messages USING gin (to_tsvector('simple', translate(text, '<>', '  ')))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS messages_text_search");
}
