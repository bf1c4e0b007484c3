// `npm test` on a fresh machine: when nothing answers on TEST_POSTGRES_URL / TEST_REDIS_URL (by
// default the machine's 127.0.0.1:5432 and :6379), vitest's global set-up starts private throwaway
// servers for the run and points the workers (and every process they spawn) at them through those
// same variables; it stops them at the end, after a failed run, and on Ctrl-C too.

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis, ReplyError } from "ioredis";
import pg from "pg";
import { DEFAULT_TEST_POSTGRES_URL } from "./postgres.ts";
import { DEFAULT_TEST_REDIS_URL } from "./redis.ts";
import {
  type BinarySearch,
  type Postgres,
  postgresBinDir,
  type RedisServer,
  redisServerBinary,
  startPostgres,
  startRedis,
} from "./servers.ts";

/** An error that is its own one-line report: vitest prints no stack for what the user must install. */
class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "npm test";
    this.stack = `${this.name}: ${message}`;
  }
}

/** The URL as printed: without its password. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/** Whether a server accepts us there: false when nothing listens; a server that answers but refuses
 * (a wrong password, a missing database) is a misconfiguration, not a reason for a private one. */
async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => {});
  try {
    await client.connect();
    return true;
  } catch (e) {
    if (e instanceof pg.DatabaseError) throw new SetupError(`TEST_POSTGRES_URL ${shown(url)}: ${e.message}`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch (e) {
    if (e instanceof ReplyError)
      throw new SetupError(`TEST_REDIS_URL ${shown(url)}: ${(e as Error).message}`);
    return false;
  } finally {
    client.disconnect();
  }
}

export interface TestServers {
  postgresUrl: string;
  redisUrl: string;
  /** One line per private server started, for the run's output. */
  notes: string[];
  stop(): Promise<void>;
  /** Synchronous, for an `exit` handler. */
  stopNow(): void;
}

/** The servers the tests use: those at TEST_POSTGRES_URL / TEST_REDIS_URL (or the defaults) when
 * they answer, private ones otherwise; fails in one line naming what to install when a private one
 * is needed and its binaries are missing. */
export async function startTestServers(
  env: NodeJS.ProcessEnv,
  search: BinarySearch = {},
): Promise<TestServers> {
  const postgresUrl = env.TEST_POSTGRES_URL || DEFAULT_TEST_POSTGRES_URL;
  const redisUrl = env.TEST_REDIS_URL || DEFAULT_TEST_REDIS_URL;
  const [postgresUp, redisUp] = await Promise.all([postgresAnswers(postgresUrl), redisAnswers(redisUrl)]);
  const missing = [
    !postgresUp && !postgresBinDir(search)
      ? { url: postgresUrl, variable: "TEST_POSTGRES_URL", pkg: "postgresql", what: "initdb/pg_ctl" }
      : undefined,
    !redisUp && !redisServerBinary(search)
      ? { url: redisUrl, variable: "TEST_REDIS_URL", pkg: "redis-server", what: "redis-server" }
      : undefined,
  ].filter((m) => m !== undefined);
  if (missing.length > 0)
    throw new SetupError(
      `nothing answers on ${missing.map((m) => shown(m.url)).join(" or ")} and ${missing.map((m) => m.what).join(" and ")} ` +
        `${missing.length > 1 ? "are" : "is"} not installed to start a private one: ` +
        `apt-get install ${missing.map((m) => m.pkg).join(" ")} (or set ${missing.map((m) => m.variable).join(" and ")} to a running server)`,
    );

  const started = Date.now();
  const [postgres, redis] = await Promise.allSettled([
    postgresUp ? undefined : startPostgres(undefined, search),
    redisUp ? undefined : startRedis(undefined, search),
  ]);
  const servers = [postgres, redis].flatMap((r) => (r.status === "fulfilled" && r.value ? [r.value] : []));
  const stopNow = () => {
    for (const s of servers) s.stopNow();
  };
  const failure = [postgres, redis].find((r) => r.status === "rejected");
  if (failure) {
    stopNow();
    throw new SetupError(`could not start a private test server: ${(failure.reason as Error).message}`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const pgServer = (postgres as PromiseFulfilledResult<Postgres | undefined>).value;
  const redisServer = (redis as PromiseFulfilledResult<RedisServer | undefined>).value;
  const notes = [
    pgServer &&
      `nothing answers on ${shown(postgresUrl)}: a private PostgreSQL for this run at ${pgServer.url}`,
    redisServer &&
      `nothing answers on ${shown(redisUrl)}: a private Redis for this run at ${redisServer.url}`,
  ]
    .filter((n) => n !== undefined)
    .map((n) => `test servers: ${n} (started in ${seconds} s)`);
  return {
    postgresUrl: pgServer?.url ?? postgresUrl,
    redisUrl: redisServer?.url ?? redisUrl,
    notes,
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
    stopNow,
  };
}

/** Drops what the run made once for all its files; a server gone by now has taken them with it. */
async function dropDatabases(url: string, names: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  admin.on("error", () => {});
  try {
    await admin.connect();
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch {
    // Not worth failing a finished run over: the next runs use templates of their own names.
  } finally {
    await admin.end().catch(() => {});
  }
}

/** vitest's globalSetup: runs in the main process before the workers fork, and they inherit its env. */
export default async function setup(): Promise<() => Promise<void>> {
  const servers = await startTestServers(process.env);
  process.env.TEST_POSTGRES_URL = servers.postgresUrl;
  process.env.TEST_REDIS_URL = servers.redisUrl;
  // Where the first test that needs an embedded database makes the run's template of one
  // (test/helpers/embedded-template.ts).
  const template = mkdtempSync(path.join(tmpdir(), "threadbridge-embedded-template-"));
  process.env.TEST_EMBEDDED_TEMPLATE_DIR = template;
  // The run's scratch directory, where each test process makes its own (test/helpers/cli.ts): a
  // vitest worker may be ended without its `exit` event, and what it made is removed with this.
  const scratch = mkdtempSync(path.join(tmpdir(), "threadbridge-test-run-"));
  process.env.TEST_SCRATCH_DIR = scratch;
  const removeDirs = () => {
    rmSync(template, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  };
  // The name of the run's migrated database template, made by the first test that needs a migrated
  // database (test/helpers/postgres.ts) and dropped at the end.
  const postgresTemplate = `tb_template_${randomBytes(6).toString("hex")}`;
  process.env.TEST_POSTGRES_TEMPLATE = postgresTemplate;
  for (const note of servers.notes) console.log(note);
  // vitest ends the process on SIGINT/SIGTERM without its teardown, and SIGHUP (a closed terminal)
  // ends it without an `exit` event: stop the servers synchronously on both ways out.
  const onExit = () => {
    servers.stopNow();
    removeDirs();
  };
  const onHangup = () => {
    onExit();
    process.exit(129);
  };
  process.once("exit", onExit);
  process.once("SIGHUP", onHangup);
  return async () => {
    process.off("exit", onExit);
    process.off("SIGHUP", onHangup);
    removeDirs();
    await dropDatabases(servers.postgresUrl, [postgresTemplate, `${postgresTemplate}_build`]);
    await servers.stop();
  };
}
