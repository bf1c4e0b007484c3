import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Knex } from "knex";
import pg from "pg";
import type { Logger } from "../log/logger.ts";
import { embeddedSocketPath, embeddedSocketProblem, embeddedSocketUrl } from "./embedded-socket.ts";
import { DatabaseLockedError } from "./errors.ts";
import { storableParams } from "./pg-json.ts";

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
  /**
   * The same, as a statement `name` that Postgres parses once per connection (and, once its generic
   * plan is found as cheap as a custom one, plans once) instead of at every call: for a hot statement
   * (the webhook insert, the worker's statements per event). Absent where there is nothing to gain
   * (PGlite); callers then use `query` (`queryNamed` does that).
   */
  queryPrepared?<R extends object = Record<string, unknown>>(
    name: string,
    text: string,
    params?: unknown[],
  ): Promise<{ rows: R[] }>;
}

export interface Database extends SqlClient {
  /** embedded: PGlite in DATA_DIR, in this process (`pglite`) or, for a command beside the running
   * service, in the service, reached through its socket (`url`). */
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

// SQLSTATEs of a named statement lost between its Parse and a later Bind (26000) or parsed twice
// (42P05): what a pooler in transaction mode that does not track prepared statements (PgBouncer
// before 1.21, or with max_prepared_statements = 0) does to them, since the next transaction may
// run on another server connection. Either is raised before the statement runs, so it is safe to
// send it again unnamed.
const PREPARED_LOST = new Set(["26000", "42P05"]);
/** A named statement whose result columns changed since it was prepared (a migration added a column
 * to a table it reads with `*`): Postgres refuses it on that connection from then on ("cached plan
 * must not change result type", 0A000), before it runs. */
const isResultTypeChanged = (err: unknown) =>
  (err as { code?: unknown }).code === "0A000" && /result type/.test(String((err as Error).message));

type Queryable = { query: pg.Pool["query"] };

/**
 * Named statements for one pool and its transactions' clients: `run(client, retry)` gives
 * `queryPrepared` for `client`. The server-side name is the caller's name and a hash of the text, so
 * two texts never share a name (node-postgres refuses that), and a statement built from parts (a
 * queue name inlined) is prepared once per variant. Named until the server shows it cannot keep them
 * (a pooler), then unnamed for the life of the pool; a statement whose result type changed is
 * prepared again under a new name. `retry`: the call may be sent again unnamed after such an error;
 * not inside a transaction, which the error has aborted: the caller's retry (the job's) then finds
 * the new name, or the unnamed path.
 */
function preparedStatements(log: Logger | undefined) {
  let named = true;
  // Caller's name → statement text → server-side name. Two levels, not one key of name + text: on
  // the worker's hot path that key was a new string of a whole statement's length at every call,
  // hashed anew; a text that is the same string each call keeps its hash.
  const names = new Map<string, Map<string, string>>();
  let renamed = 0;
  const nameOf = (name: string, text: string) => {
    let texts = names.get(name);
    if (texts === undefined) {
      texts = new Map();
      names.set(name, texts);
    }
    let serverName = texts.get(text);
    if (serverName === undefined) {
      serverName = `${name.slice(0, 40)}_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
      texts.set(text, serverName);
    }
    return { texts, serverName };
  };
  return (client: Queryable, retry: boolean): NonNullable<SqlClient["queryPrepared"]> =>
    async (name, text, given) => {
      const params = storableParams(given);
      if (!named) return client.query(text, params);
      const { texts, serverName } = nameOf(name, text);
      try {
        return await client.query({ name: serverName, text, values: params ?? [] });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code === "string" && PREPARED_LOST.has(code)) {
          if (named)
            log?.warn(
              { code, statement: name },
              "a prepared statement was lost between calls (a connection pooler in transaction mode?); sending statements unnamed from now on",
            );
          named = false;
        } else if (isResultTypeChanged(err)) {
          // Every connection that prepared it refuses the old name now: a new one is parsed afresh.
          texts.set(text, `${serverName.slice(0, 40)}_r${++renamed}`);
          log?.info({ statement: name }, "a prepared statement's result type changed; preparing it again");
        } else throw err;
        if (!retry) throw err;
        return client.query(text, params);
      }
    };
}

export async function openPostgres(
  url: string,
  options: { poolSize?: number; log?: Logger; kind?: Database["kind"] } = {},
): Promise<Database> {
  // No JIT compilation (Postgres's default is on above a plan cost of 100,000): our queries are
  // index-bounded and run often, and a compile is paid again at every execution. The SLA pass's
  // and the digest's waiting-conversations query (two probes per open conversation) is costed
  // above that line and spent 0.4–2.4 s compiling for 0.1–0.8 s of work over a million messages
  // (bench/README.md). A SET as each connection opens (the pool waits for it before the client's
  // first query), not a startup option, which connection poolers such as PgBouncer refuse; a
  // server that refuses the SET keeps its JIT. PGlite (the embedded database) has none.
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // Connections are kept once opened (node-postgres closes one idle for 10 s by default). A new
    // one costs 50–90 ms before its first answer on a busy machine (a backend forked, the SET
    // below, the catalog caches filled and the named statements prepared again), so a pool that
    // shrank in a lull made the next burst wait for it: the mirror's webhook → post p99 rose past
    // 100 ms in one step of eight at 80 events/s (bench/README.md, "Mirror capacity, tenth pass").
    // A process holds at most `max` connections, which is what it is sized for at load anyway.
    idleTimeoutMillis: 0,
    // Idle connections do not keep a process alive: one whose work is done exits as before (the
    // service's servers and timers keep it running, not its pool).
    allowExitOnIdle: true,
    ...(options.kind === "embedded"
      ? {}
      : {
          onConnect: async (client: pg.ClientBase) => {
            await client.query("SET jit = off").catch(() => {});
          },
        }),
  });
  // An idle client losing its connection (Postgres restart) must not crash the process.
  pool.on("error", () => {});
  const prepared = preparedStatements(options.log);
  // knex serves the CLI and migrations, not the hot path: two connections are plenty.
  const knex = lazyKnex(() => ({
    client: "pg",
    connection: url,
    pool: { min: 0, max: 2 },
    log: knexLog(options.log),
  }));
  return {
    kind: options.kind ?? "postgres",
    get knex() {
      return knex.get();
    },
    pglite: undefined,
    url,
    async query(text, params) {
      return pool.query(text, storableParams(params));
    },
    queryPrepared: prepared(pool, true),
    async transaction(fn) {
      // The pool takes its own error listener off a client it hands out. A connection that dies
      // between two statements (Postgres restarting) then emits 'error' with nobody listening,
      // which ends the process; the next statement rejects anyway, so listening is enough, and
      // the broken client is discarded instead of going back to the pool.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken ??= err;
      };
      // Listening from the pool's own callback, not after `await pool.connect()`: a client that
      // waiting callers share is handed over while the pool reads the last answer to its previous
      // caller, and Postgres's goodbye (57P01, a restart) can be in the same packet, read before
      // an awaiting caller resumes. The chaos run's worker died of it once a worker's slots
      // outnumbered its connections (test/db/pool-handoff.test.ts).
      const client = await new Promise<pg.PoolClient>((resolve, reject) => {
        pool.connect((err, handed) => {
          if (err || !handed) return reject(err ?? new Error("the pool gave no client"));
          handed.on("error", onError);
          resolve(handed);
        });
      });
      try {
        await client.query("BEGIN");
        // The client, with named statements on its connection (the worker's hot statements run
        // inside a transaction: bench/README.md, "Mirror capacity, fourth pass").
        const tx: SqlClient = {
          query: (text, params) => client.query(text, storableParams(params)),
          queryPrepared: prepared(client, false),
        };
        const result = await fn(tx);
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

// proper-lockfile judges a lock stale by its age, refreshed every 5 s by a timer of the owner's. But
// PGlite.create blocks the owner's event loop (a first initdb took 25 s on a busy 2-core machine), so
// a lock can look stale while its owner lives, and a command started meanwhile would take it and open
// the same files. So the owner's pid is written beside the lock, and a lock whose owner still runs is
// held whatever its age: up to two minutes, in case a crashed owner's pid came to another process
// (this process's own pid is no owner's: a container's service restarts as the same pid 1).
function ownerFile(dir: string): string {
  return `${dir}.owner`;
}

const OWNER_TRUSTED_MS = 2 * 60_000;

function heldByLiveOwner(dir: string): boolean {
  let pid: number;
  let lockAge: number;
  try {
    pid = Number(readFileSync(ownerFile(dir), "utf8"));
    lockAge = Date.now() - statSync(`${dir}.lock`).mtimeMs;
  } catch {
    return false; // no owner written, or no lock: proper-lockfile decides
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || lockAge > OWNER_TRUSTED_MS) return false;
  try {
    process.kill(pid, 0); // signal 0: only whether the process exists
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, another user's
  }
}

/** Who opens the embedded database: the service owns it (and serves it to commands, see
 * embedded-socket.ts); a command owns it when no service runs, and otherwise goes through the
 * service. */
export type EmbeddedRole = "service" | "command";

/**
 * The embedded database's memory settings, on top of PGlite's own start parameters. Postgres's
 * default 128 MB of shared buffers are allocated and touched at start inside PGlite's WebAssembly
 * memory, so they were about 110 MiB of the process's resident memory whatever the data; 16 MB
 * hold a small deployment's hot pages (bench/README.md, Memory).
 */
const EMBEDDED_SETTINGS = ["-c", "shared_buffers=16MB"];

/**
 * Opens the embedded database in `dataDir`. PGlite is one process's alone: a second process that
 * opened the same files would corrupt them, so a lock is taken first. When another threadbridge
 * process holds it, a command connects to the running service's socket instead; a second service,
 * or a command when nothing answers there, gets a clear error.
 */
export async function openEmbedded(
  dataDir: string,
  role: EmbeddedRole = "command",
  options: { log?: Logger } = {},
): Promise<Database> {
  const dir = path.resolve(dataDir, "pgdata");
  mkdirSync(dir, { recursive: true });
  const [{ default: lockfile }, { PGlite }] = await Promise.all([
    import("proper-lockfile"),
    import("@electric-sql/pglite"),
  ]);
  let release: () => Promise<void>;
  try {
    if (heldByLiveOwner(dir)) throw Object.assign(new Error("held"), { code: "ELOCKED" });
    release = await lockfile.lock(dir, { stale: 15_000, update: 5_000, realpath: false });
    writeFileSync(ownerFile(dir), String(process.pid));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOCKED") {
      if (role === "command") return besideService(dataDir, options);
      throw new DatabaseLockedError(
        `The embedded database in ${path.resolve(dataDir)} is in use by another threadbridge process, ` +
          "and only one service can run on it. Stop the other one, or set DATABASE_URL to use Postgres " +
          "for several processes. Commands (threadbridge accounts list, dlq list, …) work beside the running service.",
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
        log: knexLog(options.log),
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
      return pglite.query(text, storableParams(params));
    },
    async transaction(fn) {
      return pglite.transaction((tx) =>
        fn({ query: (text, params) => tx.query(text, storableParams(params)) }),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      // knex-pglite's destroy closes the shared instance when knex had opened it; close it otherwise.
      await knex.destroy().catch(() => {});
      if (!pglite.closed) await pglite.close().catch(() => {});
      rmSync(ownerFile(dir), { force: true });
      await release().catch(() => {});
    },
  };
}

/**
 * The embedded database of the service running on `dataDir`, through its socket: a Postgres
 * connection like any other. Nothing waits: when no service answers there (another command holds
 * the database, or the service is still starting), a clear error.
 */
async function besideService(dataDir: string, options: { log?: Logger }): Promise<Database> {
  const where = path.resolve(dataDir);
  const locked = (why: string) =>
    new DatabaseLockedError(
      `The embedded database in ${where} is in use by another threadbridge process, and ${why}. ` +
        "Try again in a moment (another command may be running, or the service still starting), " +
        "or set DATABASE_URL to use Postgres.",
    );
  const problem = embeddedSocketProblem(dataDir);
  if (problem) throw locked(`no command can reach it beside that process: ${problem}`);
  // Whether anything listens there; no query yet: a service under load may take a while to
  // answer, and that is no reason to give up.
  const socketPath = embeddedSocketPath(dataDir);
  try {
    await new Promise<void>((resolve, reject) => {
      const probe = connect(socketPath);
      probe.once("connect", () => {
        probe.destroy();
        resolve();
      });
      probe.once("error", reject);
    });
  } catch (err) {
    throw locked(`no running service answers at ${socketPath} (${(err as NodeJS.ErrnoException).code})`);
  }
  const url = embeddedSocketUrl(dataDir);
  return openPostgres(url, { ...options, poolSize: 4, kind: "embedded" });
}

export async function openDatabase(
  target: { kind: "postgres"; url: string; poolSize?: number } | { kind: "embedded"; dataDir: string },
  role: EmbeddedRole = "command",
  options: { log?: Logger } = {},
): Promise<Database> {
  return target.kind === "postgres"
    ? openPostgres(target.url, {
        ...options,
        ...(target.poolSize === undefined ? {} : { poolSize: target.poolSize }),
      })
    : openEmbedded(target.dataDir, role, options);
}
