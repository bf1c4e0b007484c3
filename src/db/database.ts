import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import knexFactory, { type Knex } from "knex";
import ClientPGLite from "knex-pglite";
import pg from "pg";
import lockfile from "proper-lockfile";
import type { Logger } from "../log/logger.ts";

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

export class DatabaseLockedError extends Error {
  override name = "DatabaseLockedError";
}

/** knex writes its warnings (a failed connection, with a stack) with console.log unless given a
 * logger: route them to ours, one JSON line each. Without one they are dropped rather than printed
 * raw; every caller that has a logger passes it. */
function knexLog(log: Logger | undefined): Knex.Config["log"] {
  const to = (level: "warn" | "error" | "debug") => (message: unknown) => {
    if (!log) return;
    const text = typeof message === "string" ? message : JSON.stringify(message);
    // A message is a summary line, then often a stack: the first line is the log line's message.
    const [first = "", ...rest] = text.split("\n");
    log[level]({ component: "knex", ...(rest.length ? { detail: rest.join("\n") } : {}) }, first);
  };
  return { warn: to("warn"), error: to("error"), debug: to("debug"), deprecate: to("warn") };
}

// Bigint columns (bigserial ids, counts) come back as JS numbers: our ids stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openPostgres(
  url: string,
  options: { poolSize?: number; log?: Logger } = {},
): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle client losing its connection (Postgres restart) must not crash the process.
  pool.on("error", () => {});
  // knex serves the CLI and migrations, not the hot path: two connections are plenty.
  const knex = knexFactory({
    client: "pg",
    connection: url,
    pool: { min: 0, max: 2 },
    log: knexLog(options.log),
  });
  return {
    kind: "postgres",
    knex,
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
 * Opens the embedded database in `dataDir`. PGlite is one process's alone: a second process that
 * opened the same files would corrupt them, so a lock is taken first and a clear error given when
 * another threadbridge process holds it.
 */
export async function openEmbedded(dataDir: string, options: { log?: Logger } = {}): Promise<Database> {
  const dir = path.resolve(dataDir, "pgdata");
  mkdirSync(dir, { recursive: true });
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
  const pglite = await PGlite.create(dir);
  const knex = knexFactory({
    client: ClientPGLite as unknown as typeof knexFactory.Client,
    connection: { pglite },
    log: knexLog(options.log),
  } as Knex.Config);
  let closed = false;
  return {
    kind: "embedded",
    knex,
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
  options: { log?: Logger } = {},
): Promise<Database> {
  return target.kind === "postgres"
    ? openPostgres(target.url, {
        ...options,
        ...(target.poolSize === undefined ? {} : { poolSize: target.poolSize }),
      })
    : openEmbedded(target.dataDir, options);
}
