// queryPrepared: a named statement, parsed once per connection; and when the server loses it
// between calls (a pooler in transaction mode handing the next call another server connection),
// the call is sent again unnamed and every later one goes unnamed, instead of failing each time.
import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Database, openPostgres } from "../../src/db/database.ts";
import { createLogger } from "../../src/log/logger.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

needsDatabaseServer("named statements of the Postgres pool");

let tdb: TestDatabase;
let db: Database;
const lines: Array<{ msg: string; code?: string }> = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  // One connection, so the statements below all meet the same server session.
  db = await openPostgres(tdb.url, { poolSize: 1, log: createLogger("warn", { destination }) });
});

afterAll(async () => {
  await db?.close();
  await tdb?.drop();
});

const prepared = async () =>
  (await db.query<{ name: string }>("SELECT name FROM pg_prepared_statements")).rows.map((r) => r.name);

it("prepares once, and falls back to unnamed statements when the server has lost it", async () => {
  const run = db.queryPrepared as NonNullable<Database["queryPrepared"]>;
  expect(run).toBeTypeOf("function");
  expect((await run<{ n: number }>("plus_one", "SELECT $1::int + 1 AS n", [1])).rows).toEqual([{ n: 2 }]);
  expect((await run<{ n: number }>("plus_one", "SELECT $1::int + 1 AS n", [2])).rows).toEqual([{ n: 3 }]);
  expect(await prepared()).toEqual(["plus_one"]);

  // What a pooler does: the next call meets a session that never saw the statement.
  await db.query("DEALLOCATE ALL");
  expect((await run<{ n: number }>("plus_one", "SELECT $1::int + 1 AS n", [3])).rows).toEqual([{ n: 4 }]);
  expect(lines).toEqual([expect.objectContaining({ code: "26000", statement: "plus_one" })]);
  // From then on unnamed: nothing is prepared again.
  expect((await run<{ n: number }>("plus_one", "SELECT $1::int + 1 AS n", [4])).rows).toEqual([{ n: 5 }]);
  expect(await prepared()).toEqual([]);
  expect(lines).toHaveLength(1);
});

it("passes any other error on", async () => {
  const fresh = await openPostgres(tdb.url, { poolSize: 1 });
  try {
    await expect(
      (fresh.queryPrepared as NonNullable<Database["queryPrepared"]>)("bad", "SELECT 1/$1::int", [0]),
    ).rejects.toMatchObject({ code: "22012" });
  } finally {
    await fresh.close();
  }
});
