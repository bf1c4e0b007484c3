// A process started while Postgres restarts (or before it is up) waits for it instead of exiting:
// the chaos run found a web process, restarted a moment before a Postgres restart, dead for good
// on ECONNREFUSED from pg-boss's start, and every webhook after it refused.

import { afterAll, expect, it } from "vitest";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { type Postgres, startPostgres } from "../helpers/servers.ts";
import { APP_SECRET, TEST_KEY, waitFor } from "../helpers/service.ts";
import { freePort, killWorker, startRole, type WorkerProcess } from "../outbound/helpers.ts";

needsDatabaseServer("a Postgres server is started late and stopped");

let pg: Postgres | undefined;
let proc: WorkerProcess | undefined;

afterAll(async () => {
  if (proc) await killWorker(proc);
  await pg?.stop();
});

it("starts once Postgres comes up, when it was unreachable at start-up", async () => {
  const dbPort = await freePort();
  const port = await freePort();
  proc = startRole(
    {
      PORT: String(port),
      DATABASE_URL: `postgres://postgres@127.0.0.1:${dbPort}/postgres`,
      TOKEN_ENCRYPTION_KEY: TEST_KEY,
      IG_APP_SECRET: APP_SECRET,
      LOG_LEVEL: "warn",
      NODE_ENV: "production",
    },
    "start",
  );
  const p = proc;
  await waitFor(
    async () => (p.output().includes("database not reachable at start-up; trying again") ? true : undefined),
    20_000,
    "the process to report the unreachable database",
  );
  expect(p.child.exitCode).toBeNull();
  pg = await startPostgres(dbPort);
  const health = await waitFor(
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      return r?.ok ? r : undefined;
    },
    60_000,
    "the service to answer /healthz",
  );
  expect(health.status).toBe(200);
  expect(p.child.exitCode).toBeNull();
}, 90_000);
