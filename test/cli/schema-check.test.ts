import { readdirSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { cli } from "../helpers/cli.ts";
import { TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";

needsDatabaseServer(
  "the test reads and rolls back the schema over its own Postgres connection while the CLI runs",
);

// One-off commands do not migrate to read: a command that only reads checks the schema's version
// (the migrations knex recorded against this version's list) and refuses with one line when it is
// behind, leaving the database as it was; a command that writes still brings it up to date.

/** This version's migrations, as knex names them (the files, without the extension). */
const MIGRATIONS = readdirSync(new URL("../../migrations/", import.meta.url))
  .filter((f) => /^\d+_.+\.ts$/.test(f))
  .sort()
  .map((f) => f.replace(/\.ts$/, ""));

async function migrationsTable(url: string): Promise<string[] | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ found: string | null }>(
      "SELECT to_regclass('knex_migrations')::text AS found",
    );
    if (!rows[0]?.found) return undefined;
    return (await client.query<{ name: string }>("SELECT name FROM knex_migrations ORDER BY id")).rows.map(
      (r) => r.name,
    );
  } finally {
    await client.end();
  }
}

describe("read-only commands and the schema version", () => {
  let t: TestEnv;
  let url: string;

  beforeAll(async () => {
    t = await testEnv(TEST_BACKEND, {}, undefined, { unmigrated: true });
    url = t.env.DATABASE_URL as string;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it("refuse on a database never migrated, with one line naming the migrate command, and change nothing", async () => {
    for (const args of [
      ["accounts", "list"],
      ["dlq", "list"],
      ["audit"],
      ["status"],
      ["rules", "list"],
      ["profile", "show", "--account", "17841400000000001"],
    ]) {
      const r = await cli(args, t.env);
      expect({ args, code: r.code }).toEqual({ args, code: 78 });
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(
        /schema is behind this version \(\d+ migrations not applied.*run `threadbridge migrate`/,
      );
    }
    expect(await migrationsTable(url)).toBeUndefined();
  });

  it("run once migrated, and refuse again, naming the first missing migration, when the schema falls behind", async () => {
    expect((await cli(["migrate"], t.env)).code).toBe(0);
    expect(await cli(["accounts", "list"], t.env)).toMatchObject({ code: 0, stdout: "no accounts\n" });
    const applied = (await migrationsTable(url)) as string[];
    const last = applied.at(-1) as string;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("DELETE FROM knex_migrations WHERE name = $1", [last]);
    await client.end();
    const r = await cli(["accounts", "list"], t.env);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`1 migration not applied, the first ${last}`);
    expect(await migrationsTable(url)).not.toContain(last);
  });

  it("a command that writes still migrates a database never migrated", async () => {
    const fresh = await testEnv(TEST_BACKEND, {}, undefined, { unmigrated: true });
    try {
      expect(await cli(["pause"], fresh.env)).toMatchObject({ code: 0 });
      const applied = await migrationsTable(fresh.env.DATABASE_URL as string);
      expect(applied).toEqual(MIGRATIONS);
    } finally {
      await fresh.cleanup();
    }
  });
});
