// A client handed from one caller to the next inside the pool must be listened to at once. When the
// pool's callers outnumber its connections, a connection passes to a waiting caller while the pool
// reads the last answer to the caller before, and Postgres's goodbye to its sessions (FATAL 57P01,
// sent on a restart) can be in the same packet: read before a caller that awaited the connection
// resumes, it was an 'error' event nobody heard, which ends the process (the chaos run's worker, once
// its 32 slots outnumbered its pool). A protocol-level stand-in for Postgres sends exactly that
// packet, which a real server only does by chance.
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openPostgres } from "../../src/db/database.ts";

/** A backend message: its type, its length (itself included) and its body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstring = (s: string) => Buffer.from(`${s}\0`, "utf8");
const ready = () => message("Z", Buffer.from("I"));
const complete = (tag: string) => message("C", cstring(tag));
const goodbye = () =>
  message(
    "E",
    Buffer.concat([
      cstring("SFATAL"),
      cstring("VFATAL"),
      cstring("C57P01"),
      cstring("Mterminating connection due to administrator command"),
      Buffer.from([0]),
    ]),
  );

/** Answers the startup and every simple query with success; the query `SELECT 'last'` is answered,
 * then followed in the same write by the server's goodbye, and the session ends. */
function standIn(): Promise<{ server: Server; url: string }> {
  const server = createServer((socket: Socket) => {
    let started = false;
    let pending = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (!started) {
          if (pending.length < 4) return;
          const length = pending.readInt32BE(0);
          if (pending.length < length) return;
          pending = pending.subarray(length);
          started = true;
          socket.write(Buffer.concat([message("R", Buffer.alloc(4)), ready()]));
          continue;
        }
        if (pending.length < 5) return;
        const type = String.fromCharCode(pending[0] as number);
        const length = pending.readInt32BE(1);
        if (pending.length < length + 1) return;
        const body = pending.subarray(5, length + 1);
        pending = pending.subarray(length + 1);
        if (type === "X") return void socket.end();
        if (type !== "Q") continue;
        const text = body.toString("utf8").replace(/\0$/, "");
        if (text === "SELECT 'last'") {
          socket.end(Buffer.concat([complete("SELECT 0"), ready(), goodbye()]));
          return;
        }
        socket.write(Buffer.concat([complete(text.split(" ")[0]?.toUpperCase() ?? "OK"), ready()]));
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({ server, url: `postgres://stand-in@127.0.0.1:${port}/stand-in` });
    }),
  );
}

let server: Server;
let db: Database;

beforeAll(async () => {
  const s = await standIn();
  server = s.server;
  db = await openPostgres(s.url, { poolSize: 1 });
});

afterAll(async () => {
  await db.close();
  await new Promise((resolve) => server.close(resolve));
});

describe("a transaction waiting for the pool's one connection", () => {
  it("hears the server's goodbye that arrives with the answer before it, and fails alone", async () => {
    // The one connection is busy; the transaction waits for it.
    const before = db.query("SELECT 'last'");
    const waiting = db.transaction(async (tx) => tx.query("SELECT 1"));
    await expect(before).resolves.toMatchObject({ rows: [] });
    await expect(waiting).rejects.toThrow(/terminating connection|not queryable|Connection terminated/);
    // The process lives on (an unheard 'error' would have ended this test run) and the pool
    // connects again.
    await expect(db.transaction(async (tx) => tx.query("SELECT 2"))).resolves.toMatchObject({ rows: [] });
  });
});
