import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Database } from "../../src/db/database.ts";
import type { Logger } from "../../src/log/logger.ts";
import type { WebStore } from "./store.ts";
import type { WebPost } from "./view.ts";

// What changed in the inbox, for the pages watching it (Server-Sent Events, router.ts). The adapter
// writes in whichever process the core runs it (a worker, mostly); the pages are held open by the
// web processes. So every change is told twice: to this process's listeners at once, and to the
// others through Postgres NOTIFY (ids only: a payload is limited to 8000 bytes), which each web
// process LISTENs to and turns back into full events from the database.

export type LiveEvent =
  /** A message was made or changed. */
  | { kind: "post"; post: WebPost }
  /** A message was deleted; a root's deletion takes its thread. */
  | { kind: "gone"; channel: string; thread: string | undefined; post: string }
  /** Something for one console user's eyes (a refusal, a command's answer). */
  | { kind: "told"; to: string; channel: string; thread: string | undefined; text: string };

type Wire =
  | { o: string; k: "post"; id: string }
  | { o: string; k: "gone"; c: string; t: string | null; id: string }
  | { o: string; k: "told"; to: string; c: string; t: string | null; x: string };

const CHANNEL = "threadbridge_web_inbox";
/** Room left for the rest of a NOTIFY payload under Postgres's 8000 bytes. */
const TOLD_MAX = 2000;
const RECONNECT_MS = 5_000;

export class LiveHub {
  readonly #db: Database;
  readonly #store: WebStore;
  readonly #log: Logger;
  readonly #origin = randomUUID();
  readonly #listeners = new Set<(event: LiveEvent) => void>();
  #stop: (() => Promise<void>) | undefined;
  #closed = false;

  constructor(db: Database, store: WebStore, log: Logger) {
    this.#db = db;
    this.#store = store;
    this.#log = log;
  }

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  async publish(event: LiveEvent): Promise<void> {
    this.#deliver(event);
    const wire: Wire =
      event.kind === "post"
        ? { o: this.#origin, k: "post", id: event.post.id }
        : event.kind === "gone"
          ? { o: this.#origin, k: "gone", c: event.channel, t: event.thread ?? null, id: event.post }
          : {
              o: this.#origin,
              k: "told",
              to: event.to,
              c: event.channel,
              t: event.thread ?? null,
              x: event.text.slice(0, TOLD_MAX),
            };
    try {
      await this.#db.query("SELECT pg_notify($1, $2)", [CHANNEL, JSON.stringify(wire)]);
    } catch (err) {
      // The change is stored; pages elsewhere see it at their next load.
      this.#log.warn({ err }, "web inbox: could not notify other processes");
    }
  }

  /** Listens for the other processes' changes (web processes, which hold the pages open). */
  async listen(): Promise<void> {
    if (this.#db.pglite) {
      this.#stop = await this.#db.pglite.listen(CHANNEL, (payload) => void this.#received(payload));
      return;
    }
    if (this.#db.url) await this.#listenPostgres(this.#db.url);
  }

  async #listenPostgres(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    // One connection, one reconnect: a dying connection can report more than one error (the
    // server's FATAL, then the socket's end), and each must not start a listener of its own, or
    // every later change would be delivered twice.
    let lost = false;
    const again = () => {
      if (this.#closed || lost) return;
      lost = true;
      setTimeout(() => void this.#listenPostgres(url).catch(() => undefined), RECONNECT_MS).unref();
    };
    // Stays attached for the client's whole life: an 'error' with no listener ends the process.
    client.on("error", (err) => {
      if (!lost) this.#log.warn({ err }, "web inbox: LISTEN connection lost; reconnecting");
      void client.end().catch(() => undefined);
      again();
    });
    client.on("notification", (n) => {
      if (n.channel === CHANNEL && n.payload) void this.#received(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      this.#log.warn({ err }, "web inbox: could not LISTEN; retrying");
      await client.end().catch(() => undefined);
      again();
      return;
    }
    this.#stop = async () => {
      await client.end().catch(() => undefined);
    };
  }

  async #received(payload: string): Promise<void> {
    let wire: Wire;
    try {
      wire = JSON.parse(payload) as Wire;
    } catch {
      return;
    }
    if (wire.o === this.#origin) return;
    if (wire.k === "post") {
      const post = await this.#store.get(wire.id).catch(() => undefined);
      if (post) this.#deliver({ kind: "post", post });
    } else if (wire.k === "gone")
      this.#deliver({ kind: "gone", channel: wire.c, thread: wire.t ?? undefined, post: wire.id });
    else
      this.#deliver({
        kind: "told",
        to: wire.to,
        channel: wire.c,
        thread: wire.t ?? undefined,
        text: wire.x,
      });
  }

  #deliver(event: LiveEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#log.warn({ err }, "web inbox: a live listener failed");
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#stop?.();
  }
}
