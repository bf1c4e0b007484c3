import pg from "pg";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";

/**
 * Hears pg-boss's NOTIFY (sent in the transaction that queues a job on a notify-enabled queue; its
 * payload is the queue's name) and rings the job loops of that queue (work-slots.ts), so an idle
 * loop fetches at once instead of at its next poll. Like pg-boss's own listener it is only a
 * latency hint: every loop still polls, so a notification lost while the connection was down costs
 * at most one poll interval, and each (re)connect rings every loop to look at once.
 *
 * pg-boss's listener cannot be shared: it wakes only pg-boss's own workers. This one is a
 * connection of its own per process (one LISTEN for every queue), or PGlite's listen() in the
 * embedded mode.
 */
export class JobBell {
  private readonly rings = new Map<string, Set<() => void>>();
  private closed = false;
  private client: pg.Client | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private attempt = 0;

  private readonly db: Database;
  private readonly log: Logger;
  private readonly channel: string;

  private constructor(db: Database, log: Logger, channel: string) {
    this.db = db;
    this.log = log;
    this.channel = channel;
  }

  /** Starts listening on pg-boss's channel for `schema`. A first connection that fails is retried
   * in the background; the loops poll meanwhile. */
  static async listen(db: Database, log: Logger, schema = "pgboss"): Promise<JobBell> {
    // The same expression pg-boss inlines in its pg_notify (plans.notifyChannelSql), asked of the
    // database so the two can never disagree.
    const { rows } = await db.query<{ channel: string }>(
      `SELECT ('pgboss_' || left(encode(sha224($1::text::bytea), 'hex'), 24)) AS channel`,
      [schema],
    );
    const bell = new JobBell(db, log, (rows[0] as { channel: string }).channel);
    await bell.connect().catch((err: unknown) => bell.reconnectLater(err));
    return bell;
  }

  /** Calls `ring` whenever a job is queued on `queue` (and after each reconnect). */
  on(queue: string, ring: () => void): () => void {
    const set = this.rings.get(queue) ?? new Set<() => void>();
    this.rings.set(queue, set);
    set.add(ring);
    return () => set.delete(ring);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
    await this.unlisten?.().catch(() => {});
  }

  private ring(queue: string | undefined): void {
    const sets = queue === undefined ? [...this.rings.values()] : [this.rings.get(queue)];
    for (const set of sets) for (const ring of set ?? []) ring();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    if (this.db.pglite) {
      this.unlisten = await this.db.pglite.listen(this.channel, (payload) => this.ring(payload));
      return;
    }
    const client = new pg.Client({ connectionString: this.db.url, keepAlive: true });
    // A dropped connection (Postgres restart) reconnects; until then the loops poll.
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client, new Error("connection ended")));
    client.on("notification", (msg) => this.ring(msg.payload));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch (err) {
      client.removeAllListeners();
      client.on("error", () => {});
      await client.end().catch(() => {});
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.attempt = 0;
    // Whatever was queued while nobody listened.
    this.ring(undefined);
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners();
    client.on("error", () => {});
    client.end().catch(() => {});
    this.reconnectLater(err);
  }

  private reconnectLater(err: unknown): void {
    if (this.closed || this.retry) return;
    const wait = Math.min(30_000, 500 * 2 ** Math.min(this.attempt++, 6));
    this.log.warn(
      { err: err instanceof Error ? err.message : String(err), retryInMs: wait },
      "job listener lost",
    );
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().catch((e: unknown) => this.reconnectLater(e));
    }, wait);
    this.retry.unref();
  }
}
