import { chmodSync, lstatSync, mkdirSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Logger } from "../log/logger.ts";

// The embedded database belongs to the one process that opened it (PGlite is one Postgres backend
// inside that process). So that `threadbridge accounts list` & co. work while `npm start` runs, the
// service serves that backend on a Unix socket in DATA_DIR, and a command that finds the database
// locked connects there as to any Postgres (node-postgres, knex, pg-boss over the wire protocol).
//
// One backend serves everybody, so whoever uses it must have it to themselves for a whole unit of
// work: from a client's first message until the backend is idle again (ReadyForQuery outside a
// transaction block). A unit is never cut between an extended-protocol Parse and its Sync, nor
// inside BEGIN … COMMIT. The lock a unit holds is PGlite's own transaction lock, the one that
// PGlite's query(), exec() and transaction() take: so the service's queries (knex-pglite,
// pg-boss's PGlite adapter, the Database port) never run inside a command's transaction, and a
// command never runs inside one of the service's. @electric-sql/pglite-socket serializes single
// messages instead and only pins a connection while an explicit transaction is open, and the
// service's own queries bypass its queue: see docs/architecture.md for why it is not used.
//
// The socket's directory is the owner's alone (0700) and the socket 0600: only this user on this
// machine reaches it, which is the whole authentication (as Postgres's own local sockets).

/** The directory of the socket: `host` for node-postgres, which connects to `host/.s.PGSQL.5432`. */
export function embeddedSocketDir(dataDir: string): string {
  return path.resolve(dataDir, "socket");
}

export function embeddedSocketPath(dataDir: string): string {
  return path.join(embeddedSocketDir(dataDir), ".s.PGSQL.5432");
}

/** A connection string node-postgres, knex and pg-boss understand: the directory as the host,
 * percent-encoded (knex reads `postgresql://u@/db?host=…` as an SQLite file name instead). */
export function embeddedSocketUrl(dataDir: string): string {
  return `postgresql://postgres@${encodeURIComponent(embeddedSocketDir(dataDir))}/postgres`;
}

/** A Unix socket's path is limited by the kernel (108 bytes on Linux, 104 on macOS, with the NUL). */
const MAX_SOCKET_PATH = 103;

/** Why the socket cannot be served or reached at this DATA_DIR, if it cannot. */
export function embeddedSocketProblem(dataDir: string): string | undefined {
  const file = embeddedSocketPath(dataDir);
  const bytes = Buffer.byteLength(file);
  return bytes > MAX_SOCKET_PATH
    ? `its socket path ${file} is ${bytes} bytes long, more than a Unix socket allows (${MAX_SOCKET_PATH}): use a shorter DATA_DIR`
    : undefined;
}

export interface EmbeddedSocket {
  readonly path: string;
  /** Ends every command's connection (rolling back an open transaction) and stops listening. */
  close(): Promise<void>;
}

export interface EmbeddedSocketOptions {
  /** How long a connection may hold the database while it sends nothing (in a transaction, or
   * between an extended-protocol Parse and its Sync): the service waits meanwhile, so it is short;
   * then the connection is closed and its transaction rolled back. Postgres's
   * idle_in_transaction_session_timeout, for a database shared with a service. */
  idleMs?: number;
  /** Connections at once; a command opens a few (its pool, knex's, pg-boss's). */
  maxConnections?: number;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** The largest message a client may send (a statement and its parameters). */
const MAX_MESSAGE = 64 * 1024 * 1024;
/** Notifications kept per unit to hand on to the service (pg-boss sends one per queue written). */
const MAX_NOTIFICATIONS = 100;

const SYNC = typed("S", Buffer.alloc(0));
const ROLLBACK = typed("Q", Buffer.from("ROLLBACK\0"));

function typed(type: string, body: Buffer): Uint8Array {
  const message = Buffer.alloc(5 + body.length);
  message.write(type, 0, "latin1");
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return new Uint8Array(message);
}

/** An ErrorResponse, for a connection refused before it reaches the database. */
function fatal(code: string, text: string): Uint8Array {
  return typed("E", Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`));
}

/**
 * Serves `pglite` on a Unix socket in `dataDir` until closed. The caller holds the database's lock
 * (openEmbedded), so a socket file left there by a process that died is stale and replaced.
 * Undefined, with a warning, when the path cannot hold a socket.
 */
export async function serveEmbeddedSocket(
  pglite: PGlite,
  dataDir: string,
  log: Logger,
  options: EmbeddedSocketOptions = {},
): Promise<EmbeddedSocket | undefined> {
  const problem = embeddedSocketProblem(dataDir);
  if (problem) {
    log.warn(`commands cannot reach this service beside it: ${problem}`);
    return undefined;
  }
  const dir = embeddedSocketDir(dataDir);
  const file = embeddedSocketPath(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || (process.getuid && stat.uid !== process.getuid()))
    throw new Error(`${dir} must be a directory of this user's (it holds the database's socket)`);
  // chmod of an existing directory too: the mode of mkdir applies to new ones only.
  chmodSync(dir, 0o700);
  rmSync(file, { force: true });

  const idleMs = options.idleMs ?? 5_000;
  const maxConnections = options.maxConnections ?? 32;
  const connections = new Set<Connection>();
  const server: Server = createServer((socket) => {
    if (connections.size >= maxConnections) {
      socket.end(fatal("53300", `too many connections to the embedded database (${maxConnections})`));
      return;
    }
    const connection = new Connection(socket, pglite, log, idleMs, () => connections.delete(connection));
    connections.add(connection);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(file, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(file, 0o600);
  server.on("error", (err: Error) => log.error({ err }, "embedded database socket failed"));
  log.info({ socket: file }, "commands reach the embedded database through the service");

  return {
    path: file,
    async close() {
      // Taken first: a connection leaves the set as it closes, maybe before its turn has rolled
      // back what it left open, which must be done before the database closes.
      const open = [...connections];
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of open) c.end();
      });
      await Promise.all(open.map((c) => c.finished()));
      rmSync(file, { force: true });
    },
  };
}

/** One client connection: its messages, framed, run on the backend a unit at a time. */
class Connection {
  private input: Buffer = Buffer.alloc(0);
  private output: Buffer = Buffer.alloc(0);
  private started = false;
  private closed = false;
  private readonly pending: Uint8Array[] = [];
  /** The running or awaited turn on the database, while there is one. */
  private turn: Promise<void> | undefined;
  /** Wakes a turn that waits for this client's next message. */
  private wake: (() => void) | undefined;
  /** The type of the last message the backend sent this client: "Z" when it is ready for more. */
  private lastSent = "Z";
  private notifications: Array<{ channel: string; payload: string }> = [];

  private readonly socket: Socket;
  private readonly pglite: PGlite;
  private readonly log: Logger;
  private readonly idleMs: number;

  constructor(socket: Socket, pglite: PGlite, log: Logger, idleMs: number, forget: () => void) {
    this.socket = socket;
    this.pglite = pglite;
    this.log = log;
    this.idleMs = idleMs;
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", () => this.end());
    socket.on("close", () => {
      this.end();
      forget();
    });
  }

  /** Closes the connection; a turn under way rolls back what is open and lets the database go. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.length = 0;
    this.wake?.();
    this.socket.destroy();
  }

  async finished(): Promise<void> {
    await this.turn;
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.input = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    for (;;) {
      const message = this.frame();
      if (message === "incomplete") break;
      if (message === "invalid") {
        this.log.warn("embedded database socket: a client sent a malformed message; closed");
        this.end();
        return;
      }
      if (message) this.pending.push(message);
    }
    this.wake?.();
    this.schedule();
  }

  /** The next whole message from the client, or null for one answered here (SSL, GSS). */
  private frame(): Uint8Array | null | "incomplete" | "invalid" {
    if (!this.started) {
      // The start-up phase: untyped messages, a length and a code.
      if (this.input.length < 8) return "incomplete";
      const length = this.input.readInt32BE(0);
      if (length < 8 || length > 10_000) return "invalid";
      if (this.input.length < length) return "incomplete";
      const code = this.input.readInt32BE(4);
      const message = this.take(length);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        this.socket.write("N"); // no encryption on a local socket; the client goes on in the clear
        return null;
      }
      if (code === CANCEL_REQUEST) return "invalid"; // one backend, nothing to cancel it from
      if (code !== PROTOCOL_3) return "invalid";
      this.started = true;
      return message;
    }
    if (this.input.length < 5) return "incomplete";
    const length = this.input.readInt32BE(1);
    if (length < 4 || length > MAX_MESSAGE) return "invalid";
    if (this.input.length < length + 1) return "incomplete";
    return this.take(length + 1);
  }

  private take(bytes: number): Uint8Array {
    const message = new Uint8Array(this.input.subarray(0, bytes)); // a copy: the buffer is reused
    this.input = this.input.subarray(bytes);
    return message;
  }

  /** Asks for a turn on the database when there is something to run and none is under way. */
  private schedule(): void {
    if (this.turn || this.closed || this.pending.length === 0) return;
    this.turn = this.pglite
      ._runExclusiveTransaction(() => this.unit())
      .then((yielded) => {
        this.turn = undefined;
        this.relayNotifications();
        // The backend was inside someone else's transaction: try again in a moment.
        if (yielded === "yielded") setTimeout(() => this.schedule(), 5);
        else this.schedule();
      });
  }

  /**
   * One unit of work, holding PGlite's transaction lock: this client's messages until the backend
   * is idle again. Returns "yielded" without running anything when the backend is already inside
   * a transaction block, which then is the service's (between two statements of a multi-statement
   * transaction it runs through PGlite's query()): that must end first.
   */
  private async unit(): Promise<"done" | "yielded"> {
    // Whether this unit ran anything: only then is an open transaction its own to roll back.
    let ran = false;
    try {
      if (this.pglite.isInTransaction()) return "yielded";
      for (;;) {
        if (this.closed) return "done";
        const message = this.pending.shift();
        if (!message) {
          // Mid-unit and nothing more yet: the client is thinking, in a transaction or between a
          // Parse and its Sync. The service waits meanwhile, so only for so long.
          if (!(await this.nextMessage())) {
            if (!this.closed) {
              this.log.warn(
                { idleMs: this.idleMs },
                "embedded database socket: a command held the database idle too long; its connection was closed and its transaction rolled back",
              );
              this.end();
            }
            return "done";
          }
          continue;
        }
        if (message[0] === 0x58 /* X: Terminate */) {
          this.end();
          return "done";
        }
        ran = true;
        await this.run(message, true);
        const type = message[0];
        const endsUnit = type === 0x53 /* S: Sync */ || type === 0x51 /* Q: Query */ || type === 0;
        if (endsUnit && this.lastSent === "Z" && !this.pglite.isInTransaction()) return "done";
      }
    } catch (err) {
      this.log.error({ err }, "embedded database socket: a command's message failed inside PGlite; closed");
      this.end();
      return "done";
    } finally {
      if (this.closed && ran)
        await this.cleanUp().catch((err: unknown) =>
          this.log.error({ err }, "embedded database socket: could not roll back a closed command's work"),
        );
    }
  }

  /** Leaves the backend as the unit found it: no half-done extended batch, no open transaction. */
  private async cleanUp(): Promise<void> {
    if (this.lastSent !== "Z") await this.run(SYNC, false);
    if (this.pglite.isInTransaction()) await this.run(ROLLBACK, false);
    this.lastSent = "Z";
  }

  private nextMessage(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, this.idleMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(!this.closed);
      };
    });
  }

  private async run(message: Uint8Array, answer: boolean): Promise<void> {
    await this.pglite.runExclusive(() =>
      this.pglite.execProtocolRawStream(message, {
        onRawData: (data) => {
          // A copy: the bytes are PGlite's buffer, reused by the next message.
          const bytes = Buffer.from(data);
          if (answer && !this.closed) this.socket.write(bytes);
          this.read(bytes);
        },
      }),
    );
  }

  /** Follows the backend's answer message by message: whether it ended ready for more, and the
   * notifications in it. */
  private read(data: Buffer): void {
    this.output = this.output.length ? Buffer.concat([this.output, data]) : data;
    while (this.output.length >= 5) {
      const length = this.output.readInt32BE(1);
      if (this.output.length < length + 1) break;
      const type = String.fromCharCode(this.output[0] as number);
      if (type === "A" && this.notifications.length < MAX_NOTIFICATIONS) {
        const body = this.output.subarray(9, length + 1); // after the sender's process id
        const [channel = "", payload = ""] = body.toString("utf8").split("\0");
        this.notifications.push({ channel, payload });
      }
      this.lastSent = type;
      this.output = this.output.subarray(length + 1);
    }
  }

  /**
   * A command's NOTIFY (pg-boss waking workers for a job it queued) reaches the one backend, which
   * reports it to whoever is talking to it at that moment: the command. The service's listeners
   * (pg-boss through PGlite's listen()) would not hear it, so it is sent again from the service's
   * side. Workers poll anyway; this only spares them the wait.
   */
  private relayNotifications(): void {
    const seen = new Set<string>();
    for (const { channel, payload } of this.notifications.splice(0)) {
      const key = `${channel}\0${payload}`;
      if (seen.has(key)) continue;
      seen.add(key);
      this.pglite
        .query("SELECT pg_notify($1, $2)", [channel, payload])
        .catch((err: unknown) =>
          this.log.warn({ err }, "embedded database socket: a notification was not relayed"),
        );
    }
  }
}
