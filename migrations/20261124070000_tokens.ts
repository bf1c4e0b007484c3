import type { Knex } from "knex";

// Token refresh (issue 9). Instagram refreshes a long-lived token only once it is at least 24 hours
// old, so the time it was issued or last refreshed is kept. The token's last problem (a failed
// refresh, why it was found invalid or expired: a reason for people, never the token) shows in
// `accounts list`; the warning that it is about to expire goes out once per token.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("instagram_accounts", (t) => {
    t.timestamp("token_refreshed_at", { useTz: true });
    t.text("token_problem");
    t.timestamp("token_expiry_alerted_at", { useTz: true });
  });
  // A stored token is at least as old as its row's last change: counting from there never asks
  // Instagram to refresh a token younger than 24 hours.
  await knex.raw(
    "UPDATE instagram_accounts SET token_refreshed_at = updated_at WHERE token_ciphertext IS NOT NULL",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("instagram_accounts", (t) => {
    t.dropColumns("token_refreshed_at", "token_problem", "token_expiry_alerted_at");
  });
}
