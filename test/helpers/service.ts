import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { platforms } from "../../adapters/index.ts";
import type { PlatformDescriptor } from "../../src/chat/platform.ts";
import { type Config, loadConfig } from "../../src/config/config.ts";
import { createLogger, type Logger } from "../../src/log/logger.ts";
import { type Roles, type Service, startService } from "../../src/service.ts";
import { type Backend, needsDatabaseServer, TEST_BACKEND } from "./backend.ts";
import { seedEmbeddedDatabase } from "./embedded-template.ts";
import { createTestDatabase } from "./postgres.ts";

export const APP_SECRET = "test-app-secret-0123456789";
export const META_SECRET = "test-meta-secret-9876543210";
export const VERIFY_TOKEN = "test-verify-token";
export const TEST_KEY = Buffer.alloc(32, 7).toString("base64");
/** METRICS_TOKEN for tests that read /readyz's details: `{ METRICS_TOKEN }` in the env, then `OPERATOR` headers. */
export const METRICS_TOKEN = "test-metrics-token-0123456789abcdef";
export const OPERATOR = { authorization: `Bearer ${METRICS_TOKEN}` };

export type { Backend };
export { needsDatabaseServer, TEST_BACKEND };

export interface TestEnv {
  backend: Backend;
  env: Record<string, string>;
  config: Config;
  cleanup(): Promise<void>;
}

/** A configuration for one test file: its own Postgres database or its own embedded data directory
 * (`TEST_BACKEND` for the run's backend, test/helpers/backend.ts). `chat`: the chat platforms,
 * this build's unless a test adds its own. On Postgres the database is a copy of the run's migrated
 * template (test/helpers/postgres.ts) unless `unmigrated`: a test about migrating a database never
 * migrated asks for one. Tests must not rely on it being migrated either: the embedded one is not
 * (the service and the CLI migrate it as they would a new installation). */
export async function testEnv(
  backend: Backend,
  extra: Record<string, string> = {},
  chat: readonly PlatformDescriptor[] = platforms,
  options: { unmigrated?: boolean } = {},
): Promise<TestEnv> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "threadbridge-test-"));
  const env: Record<string, string> = {
    PORT: "0",
    DATA_DIR: dataDir,
    IG_APP_SECRET: APP_SECRET,
    META_APP_SECRET: META_SECRET,
    IG_VERIFY_TOKEN: VERIFY_TOKEN,
    TOKEN_ENCRYPTION_KEY: TEST_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    QUEUE_SUPERVISE_SECONDS: "1",
    // Two test files run at once, some with several worker processes: keep every process's share
    // of Postgres's 100 connections small.
    DATABASE_POOL_SIZE: "4",
    ...extra,
  };
  let drop = async () => {};
  if (backend === "postgres") {
    const db = await createTestDatabase({ migrated: !options.unmigrated });
    env.DATABASE_URL = db.url;
    drop = db.drop;
  } else await seedEmbeddedDatabase(dataDir);
  return {
    backend,
    env,
    config: loadConfig(env, chat),
    async cleanup() {
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts the service of `t` in this process; `log` instead of one at `t`'s LOG_LEVEL on standard
 * output, for a test that reads what it logs. */
export async function startTestService(
  t: TestEnv,
  roles: Partial<Roles> = {},
  log: Logger = createLogger(t.config.logLevel, { pretty: false }),
): Promise<Service> {
  return startService(t.config, { web: true, worker: true, migrate: true, ...roles }, log);
}

/** Polls `check` until it returns a value that is not undefined, or fails after `ms`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  ms = 15_000,
  what = "condition",
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
