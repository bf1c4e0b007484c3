// queryPrepared: a named statement, parsed once per connection; and when the server loses it
// between calls (a pooler in transaction mode handing the next call another server connection),
// the call is sent again unnamed and every later one goes unnamed, instead of failing each time.
import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Database, openPostgres } from "../../src/db/database.ts";
import { queryNamed } from "../../src/db/query-named.ts";
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
  // Named after the caller's name and the text's hash: two texts never share a name.
  expect(await prepared()).toEqual([expect.stringMatching(/^plus_one_[0-9a-f]{16}$/)]);

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

it("prepares a statement again when a migration changed the columns it returns", async () => {
  const logged: Array<{ msg: string; statement?: string }> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logged.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const fresh = await openPostgres(tdb.url, { poolSize: 1, log: createLogger("info", { destination }) });
  try {
    await fresh.query("CREATE TABLE widened (a int)");
    await fresh.query("INSERT INTO widened VALUES (1)");
    const read = (c: Parameters<typeof queryNamed>[0]) =>
      queryNamed<Record<string, number | null>>(c, "widened_all", "SELECT * FROM widened WHERE a = $1", [1]);
    expect((await read(fresh)).rows).toEqual([{ a: 1 }]);
    // In a transaction too, on the same connection: the statement is prepared there already.
    expect((await fresh.transaction((tx) => read(tx))).rows).toEqual([{ a: 1 }]);

    // A migration adds a column while the statement is prepared: Postgres refuses the old one.
    await fresh.query("ALTER TABLE widened ADD COLUMN b int");
    // Outside a transaction the call is sent again and answers with the new column.
    expect((await read(fresh)).rows).toEqual([{ a: 1, b: null }]);
    expect(logged).toEqual([expect.objectContaining({ statement: "widened_all" })]);
    // From then on under a new name, inside a transaction as outside.
    expect((await fresh.transaction((tx) => read(tx))).rows).toEqual([{ a: 1, b: null }]);
    expect((await read(fresh)).rows).toEqual([{ a: 1, b: null }]);

    // Inside a transaction the refusal aborts it, so it fails (the caller's retry is what repeats
    // it); the retry finds the new name.
    await fresh.query("ALTER TABLE widened ADD COLUMN c int");
    await expect(fresh.transaction((tx) => read(tx))).rejects.toMatchObject({ code: "0A000" });
    expect((await fresh.transaction((tx) => read(tx))).rows).toEqual([{ a: 1, b: null, c: null }]);
    expect(logged).toHaveLength(2);
  } finally {
    await fresh.close();
  }
});
