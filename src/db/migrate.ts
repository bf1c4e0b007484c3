import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Knex } from "knex";
import type { Database } from "./database.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

/**
 * Loads `migrations/*.ts` through `import()`, so the same files run under Node's type stripping, under
 * vitest, and against both Postgres and the embedded database.
 */
class FileMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d+_.+\.ts$/.test(f))
      .sort();
  }
  getMigrationName(file: string): string {
    return file.replace(/\.ts$/, "");
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    return (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Knex.Migration;
  }
}

export async function migrate(db: Database): Promise<string[]> {
  const [, applied] = (await db.knex.migrate.latest({
    migrationSource: new FileMigrationSource(),
    tableName: "knex_migrations",
  })) as [number, string[]];
  return applied;
}

/** How the database's migrations compare with this build's, without applying or creating anything
 * (`doctor`): how many are applied, which are not yet. */
export async function migrationState(db: Database): Promise<{ applied: number; pending: string[] }> {
  const source = new FileMigrationSource();
  const files = (await source.getMigrations()).map((f) => source.getMigrationName(f));
  const { rows } = await db.query<{ exists: string | null }>(
    "SELECT to_regclass('knex_migrations')::text AS exists",
  );
  if (!rows[0]?.exists) return { applied: 0, pending: files };
  const done = await db.query<{ name: string }>("SELECT name FROM knex_migrations");
  // Recorded with or without the extension, depending on the knex version that applied them.
  const applied = new Set(done.rows.map((r) => r.name.replace(/\.ts$/, "")));
  return { applied: applied.size, pending: files.filter((f) => !applied.has(f)) };
}
