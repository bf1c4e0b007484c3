import type { Knex } from "knex";

// Chat platforms are plug-ins (adapters/index.ts, issue 18): `instagram_accounts.chat_platform`
// holds any descriptor's name, so the check that listed the two first ones goes. The constraint is
// found by what it checks rather than by name, since knex let Postgres name it.

async function platformChecks(knex: Knex): Promise<string[]> {
  const { rows } = await knex.raw<{ rows: Array<{ name: string }> }>(
    `SELECT c.conname AS name FROM pg_constraint c
      WHERE c.conrelid = 'instagram_accounts'::regclass AND c.contype = 'c'
        AND pg_get_constraintdef(c.oid) LIKE '%chat_platform%'`,
  );
  return rows.map((r) => r.name);
}

export async function up(knex: Knex): Promise<void> {
  for (const name of await platformChecks(knex))
    await knex.raw("ALTER TABLE instagram_accounts DROP CONSTRAINT ??", [name]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    "ALTER TABLE instagram_accounts ADD CONSTRAINT instagram_accounts_chat_platform_check CHECK (chat_platform IN ('slack', 'discord'))",
  );
}
