// Which database the tests run on. `npm test` gives each test file its own Postgres database;
// TEST_BACKEND=embedded (`npm run test:embedded`) gives each its own embedded database instead:
// PGlite in a temporary data directory, what `npm start` uses when DATABASE_URL is unset. A test
// that needs a real server (several processes on one database, Postgres restarted or a
// connection cut, two sessions competing for a lock) says so with needsDatabaseServer(reason),
// and is skipped with that reason on the embedded backend.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, TestRunner } from "vitest";
import { type Database, type EmbeddedRole, openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { seedEmbeddedDatabase } from "./embedded-template.ts";
import { createTestDatabase } from "./postgres.ts";

export type Backend = "postgres" | "embedded";

function backendOf(value: string | undefined): Backend {
  if (value === undefined || value === "" || value === "postgres") return "postgres";
  if (value === "embedded") return "embedded";
  throw new Error(`TEST_BACKEND must be postgres or embedded, not ${JSON.stringify(value)}`);
}

/** The backend of this run (TEST_BACKEND, postgres when unset). */
export const TEST_BACKEND: Backend = backendOf(process.env.TEST_BACKEND);

/**
 * Declares that tests need a database server. Called at the top level of a file or in a describe
 * block, it covers that file or block: on the embedded backend they are skipped, hooks included,
 * and `reason` is printed. Called in a test with its context, it skips that test alone, with
 * `reason` as the note. Returns whether they run.
 */
export function needsDatabaseServer(reason: string, test?: { skip(note?: string): void }): boolean {
  if (TEST_BACKEND !== "embedded") return true;
  if (test) {
    test.skip(`needs a database server: ${reason}`);
    return false;
  }
  // The collector of the file or describe block being declared; marking it skipped before its
  // tests run skips its hooks too (a beforeAll starting processes would fail on PGlite).
  const collector = TestRunner.getCurrentSuite();
  const task = (collector.suite ?? collector.file) as { mode: string };
  task.mode = "skip";
  console.info(`skipped on the embedded database: ${reason}`);
  return false;
}

/** Where a test file's own database is, on this run's backend, and how to drop it. */
export interface BackendDatabase {
  target: { kind: "postgres"; url: string } | { kind: "embedded"; dataDir: string };
  drop(): Promise<void>;
}

/** A fresh database for one test file on `backend`: a Postgres database of its own (a copy of the
 * run's migrated template, test/helpers/postgres.ts), or an embedded one in a temporary directory
 * (not migrated). Open it with `openDatabase(target)`, then `migrate()`: a no-op on the copy. */
export async function createBackendDatabase(backend: Backend = TEST_BACKEND): Promise<BackendDatabase> {
  if (backend === "postgres") {
    const db = await createTestDatabase({ migrated: true });
    return { target: { kind: "postgres", url: db.url }, drop: db.drop };
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), "threadbridge-test-db-"));
  await seedEmbeddedDatabase(dataDir);
  return {
    target: { kind: "embedded", dataDir },
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh, migrated database of this run's backend for this test file: created before its tests,
 * opened as `role` (on the embedded backend; see openDatabase), dropped after. `store.db` and
 * `store.target` (where it is, for a second connection) are set once the file's `beforeAll` hooks
 * have run (a hook registered after this call may use them); an `afterAll` registered after this
 * call runs before the database is closed and dropped (vitest's default `sequence.hooks`, "stack").
 */
export function useBackendDatabase(role?: EmbeddedRole): {
  readonly db: Database;
  readonly target: BackendDatabase["target"];
} {
  let tdb: BackendDatabase | undefined;
  const store = {} as { db: Database; target: BackendDatabase["target"] };
  beforeAll(async () => {
    tdb = await createBackendDatabase();
    store.target = tdb.target;
    store.db = await openDatabase(tdb.target, role);
    await migrate(store.db);
  });
  afterAll(async () => {
    await store.db?.close();
    await tdb?.drop();
  });
  return store;
}
