import type { Knex } from "knex";

// Business Login from the web console (issue 9). One row per login an operator starts: the hash of
// its state (the state itself only travels through the browser), the console session it belongs
// to and when it lapses. Once Instagram comes back, the row holds the new account's long-lived
// token, sealed like every stored token, until the operator picks the chat channel; then the token
// moves to `instagram_accounts` and leaves this row, which stays until it lapses so a replayed
// callback is told it was used.
// Sessions live in sealed cookies; `console_signouts` remembers the ones signed out until they
// would have expired anyway, so a copied cookie stops working at sign-out.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("oauth_logins", (t) => {
    t.text("id").primary(); // random; the console session holds it
    t.text("session_id").notNullable();
    t.text("state_hash").notNullable().unique(); // sha256 of the state, hex
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("consumed_at", { useTz: true }); // the callback came back with this state
    t.text("ig_user_id");
    t.text("username");
    t.text("token_ciphertext");
    t.text("token_key_id");
    t.timestamp("token_expires_at", { useTz: true });
    t.index(["session_id"]);
    t.index(["expires_at"]);
  });
  await knex.schema.createTable("console_signouts", (t) => {
    t.text("sid_hash").primary(); // sha256 of the session id, hex
    t.timestamp("expires_at", { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("console_signouts");
  await knex.schema.dropTableIfExists("oauth_logins");
}
