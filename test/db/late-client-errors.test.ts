// A pg client thrown away with all its listeners removed (pg-boss does this to its LISTEN
// connection when it stops) must not end the process when the server's goodbye arrives late: the
// chaos run's worker crashed so while it gave up a start attempt during a Postgres restart.

import { EventEmitter } from "node:events";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { absorbLateClientErrors } from "../../src/db/late-client-errors.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

needsDatabaseServer("a Postgres session is terminated by the server");

let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase();
});

afterAll(async () => {
  await tdb?.drop();
});

/** How the doomed client's listeners are all removed: through the client's own method (guarded
 * once the guard is installed), or through EventEmitter's, as an unpatched pg would. The guard
 * patches pg's prototype for the whole process, so a file run after another that installed it
 * (vitest's workers are kept from file to file) finds it installed already. */
type Removal = "client" | "unguarded";

async function terminatedAfterRemovingListeners(removal: Removal): Promise<unknown[]> {
  const uncaught: unknown[] = [];
  let settled: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    settled = resolve;
  });
  // Node raises an 'error' event without listeners as an uncaught exception: caught here, it is
  // counted instead of ending the test run (the throw also leaves the socket unread, so the end
  // this waits for otherwise never comes).
  const onUncaught = (err: unknown) => {
    uncaught.push(err);
    settled();
  };
  process.on("uncaughtException", onUncaught);
  const admin = new pg.Client({ connectionString: tdb.url });
  const doomed = new pg.Client({ connectionString: tdb.url });
  try {
    await admin.connect();
    await doomed.connect();
    const { rows } = await doomed.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    if (removal === "client") doomed.removeAllListeners();
    else EventEmitter.prototype.removeAllListeners.call(doomed);
    doomed.connection.once("end", () => settled());
    // The server ends the idle session: FATAL 57P01, then it closes the socket.
    await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
    await done;
    return uncaught;
  } finally {
    process.off("uncaughtException", onUncaught);
    // Whatever the client still has to say on its way out is not this test's.
    doomed.on("error", () => {});
    doomed.connection.stream.destroy();
    await admin.end().catch(() => {});
  }
}

it("without the guard, the server's goodbye to a client without listeners is an uncaught error", async () => {
  const uncaught = await terminatedAfterRemovingListeners("unguarded");
  // The FATAL first; the socket's end may follow as a second one before the test listens again.
  expect(uncaught.length).toBeGreaterThanOrEqual(1);
  expect((uncaught[0] as { code?: string }).code).toBe("57P01");
});

it("with it, the goodbye is dropped and the process goes on", async () => {
  absorbLateClientErrors();
  expect(await terminatedAfterRemovingListeners("client")).toEqual([]);
});
