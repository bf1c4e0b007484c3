import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Knex } from "knex";
import type { Database, SqlClient } from "./database.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

const MIGRATIONS_TABLE = "knex_migrations";

function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d+_.+\.ts$/.test(f))
    .sort();
}

function migrationName(file: string): string {
  return file.replace(/\.ts$/, "");
}

/**
 * Loads `migrations/*.ts` through `import()`, so the same files run under Node's type stripping, under
 * vitest, and against both Postgres and the embedded database.
 */
class FileMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return migrationFiles();
  }
  getMigrationName(file: string): string {
    return migrationName(file);
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    return (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Knex.Migration;
  }
}

export async function migrate(db: Database): Promise<string[]> {
  const [, applied] = (await db.knex.migrate.latest({
    migrationSource: new FileMigrationSource(),
    tableName: MIGRATIONS_TABLE,
  })) as [number, string[]];
  return applied;
}

/**
 * The migrations of this version that the database has not applied, oldest first: one query on the
 * table knex keeps, no lock and no migration file loaded, so a one-off command can check cheaply
 * (and refuse) instead of migrating. A database never migrated lacks them all.
 */
export async function pendingMigrations(db: SqlClient): Promise<string[]> {
  const { rows: table } = await db.query<{ found: string | null }>("SELECT to_regclass($1)::text AS found", [
    MIGRATIONS_TABLE,
  ]);
  const applied = table[0]?.found
    ? new Set(
        (await db.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`)).rows.map((r) =>
          migrationName(r.name),
        ),
      )
    : new Set<string>();
  return migrationFiles()
    .map(migrationName)
    .filter((name) => !applied.has(name));
}

/** How the database's migrations compare with this build's, without applying or creating anything
 * (`doctor`): how many are applied, which are not yet. */
export async function migrationState(db: SqlClient): Promise<{ applied: number; pending: string[] }> {
  const pending = await pendingMigrations(db);
  return { applied: migrationFiles().length - pending.length, pending };
}
