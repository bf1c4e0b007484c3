import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Knex } from "knex";
import pg from "pg";
import { DatabaseLockedError } from "./errors.ts";

// knex (with lodash) serves migrations, the CLI and the console, not the hot path, and PGlite only
// the embedded mode: each is loaded when first used, so a web or worker process on Postgres never
// holds them (about 20 MiB each). knex is CommonJS, so a synchronous require keeps `db.knex` a
// plain property for its callers.
const require = createRequire(import.meta.url);

/** A knex instance made on first use; `destroy` closes it only if it was made. */
function lazyKnex(config: () => Knex.Config): { get(): Knex; destroy(): Promise<void> } {
  let made: Knex | undefined;
  return {
    get() {
      made ??= (require("knex") as typeof import("knex").knex)(config());
      return made;
    },
    async destroy() {
      await made?.destroy();
    },
  };
}

/** The part of a connection that runs SQL with `$1` placeholders: a pool, a pooled client or PGlite. */
export interface SqlClient {
  query<R extends object = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface Database extends SqlClient {
  readonly kind: "postgres" | "embedded";
  /** Query builder for everything off the hot path (CLI, repositories, migrations). */
  readonly knex: Knex;
  /**
   * Runs `fn` in one transaction. Inside it use only the `tx` it is given: on the embedded database
   * the transaction holds the single connection, so any other query waits until it ends.
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** The embedded PGlite instance, for pg-boss's adapter; undefined on Postgres. */
  readonly pglite: PGlite | undefined;
  /** The connection string, for pg-boss's own pool; undefined on the embedded database. */
  readonly url: string | undefined;
  close(): Promise<void>;
}

export { DatabaseLockedError, SchemaBehindError } from "./errors.ts";

// Bigint columns (bigserial ids, counts) come back as JS numbers: our ids stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openPostgres(url: string, options: { poolSize?: number } = {}): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle client losing its connection (Postgres restart) must not crash the process.
  pool.on("error", () => {});
  // knex serves the CLI and migrations, not the hot path: two connections are plenty.
  const knex = lazyKnex(() => ({ client: "pg", connection: url, pool: { min: 0, max: 2 } }));
  return {
    kind: "postgres",
    get knex() {
      return knex.get();
    },
    pglite: undefined,
    url,
    async query(text, params) {
      return pool.query(text, params);
    },
    async transaction(fn) {
      const client = await pool.connect();
      // The pool takes its own error listener off a client it hands out. A connection that dies
      // between two statements (Postgres restarting) then emits 'error' with nobody listening,
      // which ends the process; the next statement rejects anyway, so listening is enough, and
      // the broken client is discarded instead of going back to the pool.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken ??= err;
      };
      client.on("error", onError);
      try {
        await client.query("BEGIN");
        const result = await fn(client);
        await client.query("COMMIT");
        return result;
      } catch (err) {
        if (!broken) await client.query("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        client.removeListener("error", onError);
        client.release(broken);
      }
    },
    async close() {
      await Promise.allSettled([pool.end(), knex.destroy()]);
    },
  };
}

/**
 * The embedded database's memory settings, on top of PGlite's own start parameters. Postgres's
 * default 128 MB of shared buffers are allocated and touched at start inside PGlite's WebAssembly
 * memory, so they were about 110 MiB of the process's resident memory whatever the data; 16 MB
 * hold a small deployment's hot pages (bench/README.md, Memory).
 */
const EMBEDDED_SETTINGS = ["-c", "shared_buffers=16MB"];

/**
 * Opens the embedded database in `dataDir`. PGlite is one process's alone: a second process that
 * opened the same files would corrupt them, so a lock is taken first and a clear error given when
 * another threadbridge process holds it.
 */
export async function openEmbedded(dataDir: string): Promise<Database> {
  const dir = path.resolve(dataDir, "pgdata");
  mkdirSync(dir, { recursive: true });
  const [{ default: lockfile }, { PGlite }] = await Promise.all([
    import("proper-lockfile"),
    import("@electric-sql/pglite"),
  ]);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, { stale: 15_000, update: 5_000, realpath: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOCKED") {
      throw new DatabaseLockedError(
        `The embedded database in ${path.resolve(dataDir)} is in use by another threadbridge process. ` +
          "Stop it first, run the command through the running service, or set DATABASE_URL to use Postgres.",
      );
    }
    throw err;
  }
  const pglite = await PGlite.create(dir, {
    startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS],
  });
  const knex = lazyKnex(
    () =>
      ({
        client: require("knex-pglite") as typeof import("knex-pglite"),
        connection: { pglite },
      }) as Knex.Config,
  );
  let closed = false;
  return {
    kind: "embedded",
    get knex() {
      return knex.get();
    },
    pglite,
    url: undefined,
    async query(text, params) {
      return pglite.query(text, params);
    },
    async transaction(fn) {
      return pglite.transaction((tx) => fn(tx));
    },
    async close() {
      if (closed) return;
      closed = true;
      // knex-pglite's destroy closes the shared instance when knex had opened it; close it otherwise.
      await knex.destroy().catch(() => {});
      if (!pglite.closed) await pglite.close().catch(() => {});
      await release().catch(() => {});
    },
  };
}

export async function openDatabase(
  target: { kind: "postgres"; url: string; poolSize?: number } | { kind: "embedded"; dataDir: string },
): Promise<Database> {
  return target.kind === "postgres"
    ? openPostgres(target.url, target.poolSize === undefined ? {} : { poolSize: target.poolSize })
    : openEmbedded(target.dataDir);
}
