// A transaction whose connection dies between two statements (Postgres restarting, an operator's
// pg_terminate_backend) must reject, not end the process with an unheard 'error' event: the chaos
// run's web process crashed that way on a Postgres restart.

import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Database, openPostgres } from "../../src/db/database.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

// The Postgres adapter's own test: what a server does to a cut connection.
needsDatabaseServer("a Postgres connection is cut between two statements");

let tdb: TestDatabase;
let db: Database;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = await openPostgres(tdb.url, { poolSize: 2 });
  await db.query("CREATE TABLE t (n int)");
});

afterAll(async () => {
  await db?.close();
  await tdb?.drop();
});

it("rejects a transaction whose connection is cut between statements, and the pool goes on", async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on("uncaughtException", onUncaught);
  try {
    const admin = new pg.Client({ connectionString: tdb.url });
    await admin.connect();
    const attempt = db.transaction(async (tx) => {
      await tx.query("INSERT INTO t VALUES (1)");
      const { rows } = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
      // Idle between statements while the server's goodbye arrives.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx.query("INSERT INTO t VALUES (2)");
    });
    await expect(attempt).rejects.toThrow();
    await admin.end();
    expect(uncaught).toEqual([]);
    // Nothing of the cut transaction was kept, and the pool hands out working connections.
    for (let i = 0; i < 3; i++)
      expect((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM t")).rows[0]?.n).toBe(0);
  } finally {
    process.off("uncaughtException", onUncaught);
  }
});
