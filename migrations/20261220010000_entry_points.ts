import type { Knex } from "knex";

// How each conversation opened (issue 22, "windows by entry point"): an ad, an ig.me link, a
// story, a post, a private reply to a comment or a plain message, learnt from its first customer
// message, with the referral's details for the root's entry card. An ad-opened conversation keeps
// its standard window up to 7 days from `entry_at` (src/instagram/windows.ts); the digest counts
// conversations per ad. Conversations from before stay null: their entry is not known.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("conversations", (t) => {
    t.text("entry_point");
    t.jsonb("entry_referral");
    t.timestamp("entry_at", { useTz: true });
  });
  // The digest's count per ad reads only ad-opened conversations of one account and period.
  await knex.raw(
    "CREATE INDEX conversations_ad_entries ON conversations (account_id, entry_at) WHERE entry_point = 'ad'",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS conversations_ad_entries");
  await knex.schema.alterTable("conversations", (t) => {
    t.dropColumn("entry_point");
    t.dropColumn("entry_referral");
    t.dropColumn("entry_at");
  });
}
