import type { Knex } from "knex";

// Named console users (docs/console.md "Users"): each person signs in to the console with their own
// name and password, so the web inbox knows who is who (ownership, signatures). The password is
// kept only as its scrypt hash, in the format `console hash-password` prints. `generation` grows
// when the password changes or the user is disabled: a session carries the generation it was
// signed in with and ends at its next request once they differ (sessions are sealed cookies, so
// this is how they are ended from outside). A removed user's row is gone, which ends them too.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("console_users", (t) => {
    t.text("name").primary();
    t.text("display_name").notNullable();
    t.text("password_hash").notNullable();
    t.text("role").notNullable();
    t.integer("generation").notNullable().defaultTo(0);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("disabled_at", { useTz: true });
  });
  // The same rules as src/http/console/users.ts (`{0,1}`: knex reads a `?` as a placeholder), so no other writer can store what sign-in refuses.
  await knex.raw(
    `ALTER TABLE console_users
       ADD CONSTRAINT console_users_name CHECK (name ~ '^[a-z0-9]([a-z0-9.-]{0,30}[a-z0-9]){0,1}$'),
       ADD CONSTRAINT console_users_display_name CHECK (char_length(display_name) BETWEEN 1 AND 64),
       ADD CONSTRAINT console_users_role CHECK (role IN ('admin', 'agent'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("console_users");
}
