// The embedded database served to commands beside the service (issue 20): one PGlite backend shared
// by the service's direct queries and any number of socket connections. Each must have the backend
// to itself for a whole unit of work (a Parse to its Sync, BEGIN to COMMIT), or answers get mixed up
// and transactions run inside each other's.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { type Database, DatabaseLockedError, openDatabase } from "../../src/db/database.ts";
import {
  type EmbeddedSocket,
  embeddedSocketDir,
  embeddedSocketPath,
  embeddedSocketUrl,
  serveEmbeddedSocket,
} from "../../src/db/embedded-socket.ts";
import { createLogger } from "../../src/log/logger.ts";

const IDLE_MS = 400;
const dataDir = mkdtempSync(path.join(tmpdir(), "tb-socket-"));
const log = createLogger("silent");
let db: Database;
let socket: EmbeddedSocket | undefined;
let pool: pg.Pool;

beforeAll(async () => {
  db = await openDatabase({ kind: "embedded", dataDir }, "service");
  await db.query("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)");
  socket = await serveEmbeddedSocket(db.pglite as NonNullable<Database["pglite"]>, dataDir, log, {
    idleMs: IDLE_MS,
  });
  pool = new pg.Pool({ connectionString: embeddedSocketUrl(dataDir), max: 8 });
  pool.on("error", () => {});
});

afterAll(async () => {
  await pool?.end();
  await socket?.close();
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await db.query("DELETE FROM counter");
  await db.query("INSERT INTO counter VALUES (1, 0)");
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether `p` is still unsettled after `ms`. */
async function pendingAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  const marker = Symbol("pending");
  return (await Promise.race([p.catch(() => undefined), sleep(ms).then(() => marker)])) === marker;
}

it("listens on a socket only its user can reach: the file 0600 in a directory 0700", () => {
  expect(socket?.path).toBe(embeddedSocketPath(dataDir));
  expect(statSync(embeddedSocketPath(dataDir)).mode & 0o777).toBe(0o600);
  expect(statSync(embeddedSocketDir(dataDir)).mode & 0o777).toBe(0o700);
});

it("gives every parameterised query its own answer while 8 connections and the service query at once", async () => {
  const wrong: string[] = [];
  await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const viaSocket = await pool.query<{ v: number; s: string }>("SELECT $1::int AS v, $2::text AS s", [
        i,
        `s${i}`,
      ]);
      if (viaSocket.rows[0]?.v !== i || viaSocket.rows[0]?.s !== `s${i}`)
        wrong.push(`socket ${i}: ${JSON.stringify(viaSocket.rows)}`);
      const direct = await db.query<{ v: number }>("SELECT $1::int * 2 AS v", [i]);
      if (direct.rows[0]?.v !== i * 2) wrong.push(`service ${i}: ${JSON.stringify(direct.rows)}`);
    }),
  );
  expect(wrong).toEqual([]);
});

it("runs read-modify-write transactions from both sides one after another: no update is lost", async () => {
  const bump = async (q: (text: string, params?: unknown[]) => Promise<{ rows: Array<{ n?: number }> }>) => {
    const { rows } = await q("SELECT n FROM counter WHERE id = 1");
    await sleep(1); // a client thinking between two statements of its transaction
    await q("UPDATE counter SET n = $1 WHERE id = 1", [(rows[0]?.n ?? 0) + 1]);
  };
  const viaSocket = async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await bump((text, params) => client.query(text, params));
      await client.query("COMMIT");
    } finally {
      client.release();
    }
  };
  await Promise.all([
    ...Array.from({ length: 25 }, viaSocket),
    ...Array.from({ length: 25 }, () =>
      db.transaction((tx) => bump((text, params) => tx.query(text, params))),
    ),
    ...Array.from({ length: 25 }, () => db.query("UPDATE counter SET n = n + 1 WHERE id = 1")),
  ]);
  expect((await db.query("SELECT n FROM counter")).rows).toEqual([{ n: 75 }]);
});

it("keeps the service out of a command's open transaction until it commits", async () => {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("UPDATE counter SET n = 1 WHERE id = 1");
    const read = db.query<{ n: number }>("SELECT n FROM counter WHERE id = 1");
    expect(await pendingAfter(read, 100)).toBe(true);
    await client.query("UPDATE counter SET n = 2 WHERE id = 1");
    await client.query("COMMIT");
    expect((await read).rows).toEqual([{ n: 2 }]);
  } finally {
    client.release();
  }
});

it("keeps a command out of the service's transaction, even one it runs statement by statement", async () => {
  // knex-pglite and pg-boss's PGlite adapter can leave the backend inside a transaction block
  // between two of their calls; a command arriving then must not run inside it.
  await db.query("BEGIN");
  await db.query("UPDATE counter SET n = 5 WHERE id = 1");
  const read = pool.query<{ n: number }>("SELECT n FROM counter WHERE id = 1");
  expect(await pendingAfter(read, 100)).toBe(true);
  await db.query("ROLLBACK");
  expect((await read).rows).toEqual([{ n: 0 }]);
});

it("closes a command that holds the database idle too long, rolls its work back, and the service goes on", async () => {
  const client = new pg.Client({ connectionString: embeddedSocketUrl(dataDir) });
  const errors: Error[] = [];
  client.on("error", (err) => errors.push(err));
  await client.connect();
  await client.query("BEGIN");
  await client.query("UPDATE counter SET n = 99 WHERE id = 1");
  const started = Date.now();
  const read = await db.query<{ n: number }>("SELECT n FROM counter WHERE id = 1");
  expect(read.rows).toEqual([{ n: 0 }]);
  expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 50);
  await expect(client.query("COMMIT")).rejects.toThrow();
  await client.end().catch(() => {});
});

it("fails, instead of hanging, a command that waits inside its transaction for another connection", async () => {
  // The pattern the Database port forbids ("inside a transaction use only tx"): on the shared
  // backend the second connection cannot run until the first one's transaction ends.
  const outcome = (async () => {
    const client = await pool.connect();
    client.on("error", () => {}); // its connection is cut while checked out
    try {
      await client.query("BEGIN");
      await client.query("UPDATE counter SET n = 7 WHERE id = 1");
      await pool.query("SELECT n FROM counter");
      await client.query("COMMIT");
      return "committed";
    } finally {
      client.release(true);
    }
  })();
  await expect(outcome).rejects.toThrow();
  expect((await db.query("SELECT n FROM counter")).rows).toEqual([{ n: 0 }]);
  expect((await pool.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
});

it("hands a command's NOTIFY on to the service's listeners (pg-boss waking its workers)", async () => {
  const heard: string[] = [];
  const pglite = db.pglite as NonNullable<Database["pglite"]>;
  const unlisten = await pglite.listen("beside_test", (payload) => heard.push(payload));
  try {
    await pool.query("SELECT pg_notify('beside_test', 'from a command')");
    for (let i = 0; i < 40 && heard.length === 0; i++) await sleep(25);
    expect(heard).toEqual(["from a command"]);
  } finally {
    await unlisten();
  }
});

it("closes a connection that sends garbage, and only that one", async () => {
  const closed = await new Promise<boolean>((resolve) => {
    const s = connect(embeddedSocketPath(dataDir), () => s.write(Buffer.from("GET / HTTP/1.1\r\n\r\n")));
    s.on("close", () => resolve(true));
    s.on("error", () => {});
    setTimeout(() => resolve(false), 2_000);
  });
  expect(closed).toBe(true);
  expect((await pool.query("SELECT 2 AS ok")).rows).toEqual([{ ok: 2 }]);
});

it("lets a command open the database through the service, and refuses a second service", async () => {
  const beside = await openDatabase({ kind: "embedded", dataDir });
  try {
    expect(beside.kind).toBe("embedded");
    expect(beside.pglite).toBeUndefined();
    expect(beside.url).toBe(embeddedSocketUrl(dataDir));
    expect(await beside.knex("counter").select("n")).toEqual([{ n: 0 }]);
    await beside.transaction(async (tx) => {
      await tx.query("UPDATE counter SET n = 3 WHERE id = 1");
    });
    expect((await db.query("SELECT n FROM counter")).rows).toEqual([{ n: 3 }]);
  } finally {
    await beside.close();
  }
  await expect(openDatabase({ kind: "embedded", dataDir }, "service")).rejects.toThrow(DatabaseLockedError);
  await expect(openDatabase({ kind: "embedded", dataDir }, "service")).rejects.toThrow(
    /only one service can run on it/,
  );
});

it("rolls back a command's open transaction when the service closes the socket (last: it stops serving)", async () => {
  const client = new pg.Client({ connectionString: embeddedSocketUrl(dataDir) });
  client.on("error", () => {});
  await client.connect();
  await client.query("BEGIN");
  await client.query("UPDATE counter SET n = 42 WHERE id = 1");
  await socket?.close();
  expect(() => statSync(embeddedSocketPath(dataDir))).toThrow();
  expect((await db.query("SELECT n FROM counter")).rows).toEqual([{ n: 0 }]);
  await client.end().catch(() => {});
});
