import { randomBytes } from "node:crypto";
import pg from "pg";

/** The machine's Postgres (trust auth on 127.0.0.1:5432), overridable for other setups. */
export const DEFAULT_TEST_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";
/** TEST_POSTGRES_URL is also where the global set-up's private server is, when it started one. */
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? DEFAULT_TEST_POSTGRES_URL;

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(use: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.end();
  }
}

function urlOf(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A fresh database for one test file, so files run in parallel without sharing rows. Empty unless
 * `migrated`: then a copy of the run's migrated template (below), as `threadbridge migrate` and a
 * first service start would have left it, in a fraction of the time they take.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `tb_test_${randomBytes(6).toString("hex")}`;
  const template = options.migrated ? await migratedTemplate() : undefined;
  await withAdmin((admin) =>
    admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`),
  );
  return {
    url: urlOf(name),
    async drop() {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

// ——— the migrated template ———
//
// Migrating a new database and letting pg-boss make its schema and queues took 5 to 15 s of a busy
// 2-core machine per test file (about 150 files do it), most of the suite's database work. The
// first worker that needs a migrated database makes one per run, under an advisory lock, and every
// file copies it with `CREATE DATABASE … TEMPLATE`: a file copy inside Postgres. The migrations and
// pg-boss's own set-up still run from scratch once per run, and the tests that are about migrating
// (test/cli/schema-check.test.ts, `doctor` on an unmigrated database, the data-layer files that
// migrate by hand) still start from an empty database.

/** The run's template, named by the global set-up (TEST_POSTGRES_TEMPLATE), which drops it at the
 * end; outside vitest (no global set-up) one per process, left for Postgres's owner to drop. */
const TEMPLATE = process.env.TEST_POSTGRES_TEMPLATE ?? `tb_template_${randomBytes(6).toString("hex")}`;

let made: Promise<string> | undefined;

function migratedTemplate(): Promise<string> {
  made ??= makeTemplate().catch((err) => {
    made = undefined;
    throw err;
  });
  return made;
}

async function makeTemplate(): Promise<string> {
  return withAdmin(async (admin) => {
    // One maker per run; the others wait on the lock, then find the template there. A maker that
    // dies releases the lock with its connection and leaves at most the `_build` copy, made again.
    await admin.query("SELECT pg_advisory_lock(hashtext($1))", [TEMPLATE]);
    try {
      const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [TEMPLATE]);
      if (rowCount) return TEMPLATE;
      const build = `${TEMPLATE}_build`;
      await admin.query(`DROP DATABASE IF EXISTS ${build} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${build}`);
      await migrateWithQueues(urlOf(build));
      // Copying needs the template without connections; a pool's last one may still be closing.
      // Terminating returns before the backend has gone, and a rename does not wait for it.
      for (let i = 0; ; i++) {
        const { rows } = await admin.query<{ pid: number }>(
          "SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity WHERE datname = $1",
          [build],
        );
        if (rows.length === 0) break;
        if (i === 100) throw new Error(`${build} still has connections after 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Renamed once complete, so a database of this name is always a whole template.
      await admin.query(`ALTER DATABASE ${build} RENAME TO ${TEMPLATE}`);
      return TEMPLATE;
    } finally {
      await admin.query("SELECT pg_advisory_unlock(hashtext($1))", [TEMPLATE]);
    }
  });
}

/** What a first `threadbridge start` does to an empty database before it serves: our migrations, and
 * pg-boss's schema and queues (queue settings a service configures differently are updated when it
 * starts). Loaded here, not at the top: bench scripts import this file for empty databases. */
async function migrateWithQueues(url: string): Promise<void> {
  const [{ openPostgres }, { migrate }, { startBoss }, { createLogger }] = await Promise.all([
    import("../../src/db/database.ts"),
    import("../../src/db/migrate.ts"),
    import("../../src/queue/boss.ts"),
    import("../../src/log/logger.ts"),
  ]);
  const db = await openPostgres(url, { poolSize: 2 });
  try {
    await migrate(db);
    const boss = await startBoss(db, createLogger("silent", { pretty: false }), {
      retryLimit: 20,
      expireSeconds: 900,
      superviseSeconds: 15,
      supervise: false,
    });
    await boss.stop({ graceful: false, close: true });
  } finally {
    await db.close();
  }
}
