import { afterAll, beforeAll } from "vitest";
import { type Database, openPostgres } from "../../src/db/database.ts";
import { createTestDatabase, type TestDatabase } from "./postgres.ts";

/**
 * A fresh, migrated Postgres database for this test file: created before its tests, dropped after.
 * For files that test the data layer alone (no service, no pg-boss); `store.db` is set once the
 * file's `beforeAll` hooks have run. `poolSize`: the pool's connections (2 unless said).
 */
export function useMigratedDatabase(options: { poolSize?: number } = {}): { readonly db: Database } {
  let tdb: TestDatabase | undefined;
  const store = {} as { db: Database };
  beforeAll(async () => {
    // A copy of the run's migrated template (test/helpers/postgres.ts): migrated already.
    tdb = await createTestDatabase({ migrated: true });
    store.db = await openPostgres(tdb.url, { poolSize: options.poolSize ?? 2 });
  });
  afterAll(async () => {
    await store.db?.close();
    await tdb?.drop();
  });
  return store;
}
