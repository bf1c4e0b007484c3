import pg from "pg";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";

/** The two-key advisory locks of the wake-ups (class, hashtext of channel and queue): a key space
 * of their own, apart from the one-key locks of leader election (leader/leader-election.ts). The
 * holder of a queue's HOLDER lock is the process its NOTIFYs wake; every process with a loop of the
 * queue holds its STANDBY lock shared, so the holder can tell whether anyone would hear a pass. */
const HOLDER_LOCK = 0x7462_0001;
const STANDBY_LOCK = 0x7462_0002;
/** How often a process tries to become a queue's holder (and the holder looks for standbys): the
 * bound, beside the loops' own poll, on the wait after a holder vanished without a word. */
const CLAIM_MS = 1_000;
/** How long closing waits to hand the wake-ups over before it ends the connection regardless. */
const HAND_OVER_MS = 2_000;
/** At most one pass per queue this often: under a backlog every ring finds the holder busy, and the
 * standbys, once woken, keep fetching on their own completions. */
const PASS_GAP_MS = 10;

/**
 * Hears pg-boss's NOTIFY (sent in the transaction that queues a job on a notify-enabled queue; its
 * payload is the queue's name) and rings the job loops of that queue (work-slots.ts), so an idle
 * loop fetches at once instead of at its next poll. Like pg-boss's own listener it is only a
 * latency hint: every loop still polls, so a notification lost while the connection was down costs
 * at most one poll interval, and each (re)connect rings every loop to look at once.
 *
 * **One process woken per job**, for a queue that asks for it (`on` with `one`: the inbound
 * queue). A NOTIFY reaches every listener, and each idle loop that heard it fetched: with four
 * worker processes at a steady 160 events/s, 0.99 inbound fetches per event, where one took the job
 * and the others found nothing (bench/README.md, "Mirror capacity, fifteenth pass"). For such a
 * queue one process, the holder of the queue's advisory lock, rings its loop on a NOTIFY; the
 * others (standbys) ignore it. A holder whose loop is busy when rung (half its slots or more taken)
 * passes the ring on, a NOTIFY of its own that rings the standbys' loops (`pass`), so a load one
 * process cannot keep up with still spreads at once. A holder that stops releases the lock and says
 * so, and a standby takes it at once; one that vanishes releases it with its connection, and a
 * standby takes it at its next claim (CLAIM_MS), meanwhile the loops' polls find the jobs, as for a
 * lost notification. The outbound queue rings every process: its jobs wait on the Send API's
 * limiter, and with one woken the three workers of the Send API bench reached less of the limit in
 * each of three pairs (0.958 / 0.929 / 0.969 of it against 0.971 / 0.945 / 0.976).
 *
 * pg-boss's listener cannot be shared: it wakes only pg-boss's own workers. This one is a
 * connection of its own per process (one LISTEN for every queue), or PGlite's listen() in the
 * embedded mode, where the one process is every queue's holder.
 */
export class JobBell {
  private readonly rings = new Map<string, Set<() => void>>();
  private closed = false;
  private client: pg.Client | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private attempt = 0;
  /** Queues whose wake-ups go to one process at a time (`on` with `one`). */
  private readonly one = new Set<string>();
  /** Queues whose holder this connection's session is. */
  private readonly held = new Set<string>();
  /** Queues whose standby lock this session holds. */
  private readonly standing = new Set<string>();
  /** Queues this session has tried to claim at least once: before that, a ring is not ignored. */
  private readonly decided = new Set<string>();
  /** Held queues another process stands by for, as of the last claim. */
  private readonly others = new Set<string>();
  private claimTimer: NodeJS.Timeout | undefined;
  private claiming: Promise<void> = Promise.resolve();
  private readonly passing = new Set<string>();
  private passTimer: NodeJS.Timeout | undefined;
  private passInFlight = false;

  private readonly db: Database;
  private readonly log: Logger;
  private readonly channel: string;
  private readonly passChannel: string;

  private constructor(db: Database, log: Logger, channel: string) {
    this.db = db;
    this.log = log;
    this.channel = channel;
    this.passChannel = `${channel}_pass`;
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

  /**
   * Calls `ring` whenever a job is queued on `queue` (and after each reconnect). With `one`, only
   * while this process is the queue's holder (or rung by a holder's pass): the queue's wake-ups go
   * to one process at a time. Returns the unsubscription; the last one for a `one` queue gives its
   * holder lock up to a standby.
   */
  on(queue: string, ring: () => void, options: { one?: boolean } = {}): () => void {
    const set = this.rings.get(queue) ?? new Set<() => void>();
    this.rings.set(queue, set);
    set.add(ring);
    if (options.one && !this.one.has(queue)) {
      this.one.add(queue);
      this.claimSoon();
    }
    return () => {
      set.delete(ring);
      if (set.size > 0 || this.rings.get(queue) !== set) return;
      this.rings.delete(queue);
      if (this.one.delete(queue)) this.serially((client) => this.release(client, [queue], false));
    };
  }

  /** Whether this process is the one `queue`'s NOTIFYs wake; undefined until its first claim of
   * a one-woken queue has answered (the tests ask). */
  holds(queue: string): boolean | undefined {
    if (this.db.pglite !== undefined || !this.one.has(queue)) return true;
    return this.decided.has(queue) ? this.held.has(queue) : undefined;
  }

  /**
   * Passes a ring on to the other processes' loops of `queue`: called by a loop rung while busy.
   * Only a holder with a standby passes; at most one pass per queue is in flight, and passes are
   * at least PASS_GAP_MS apart.
   */
  pass(queue: string): void {
    if (!this.held.has(queue) || !this.others.has(queue)) return;
    this.passing.add(queue);
    if (!this.passInFlight && !this.passTimer) void this.sendPasses();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    clearTimeout(this.claimTimer);
    clearTimeout(this.passTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      // The standbys take over at once, not at their next claim; a connection that does not answer
      // is not waited for long (ending it releases the locks all the same).
      const handOver = (async () => {
        await this.claiming;
        if (this.held.size > 0) await this.release(client, [...this.held], true);
      })().catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([handOver, new Promise((resolve) => (timer = setTimeout(resolve, HAND_OVER_MS)))]);
      clearTimeout(timer);
      await client.end().catch(() => {});
    }
    await this.unlisten?.().catch(() => {});
  }

  private ring(queue: string | undefined): void {
    const sets = queue === undefined ? [...this.rings.values()] : [this.rings.get(queue)];
    for (const set of sets) for (const ring of set ?? []) ring();
  }

  private heard(channel: string, payload: string | undefined): void {
    if (payload === undefined) return;
    if (channel === this.channel) {
      // A job queued: the holder's to fetch, or anyone's while this process does not know yet.
      if (!this.one.has(payload) || this.held.has(payload) || !this.decided.has(payload)) this.ring(payload);
      return;
    }
    // On the pass channel: `+queue` a busy holder's pass, `-queue` a holder gone.
    const queue = payload.slice(1);
    if (!this.one.has(queue) || this.held.has(queue)) return;
    if (payload.startsWith("-")) this.claimSoon();
    this.ring(queue);
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
    client.on("notification", (msg) => this.heard(msg.channel, msg.payload));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"; LISTEN "${this.passChannel}"`);
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
    this.claimSoon();
    // Whatever was queued while nobody listened.
    this.ring(undefined);
  }

  /** Runs `fn` on the connection after the claims and releases already queued. */
  private serially(fn: (client: pg.Client) => Promise<void>): void {
    this.claiming = this.claiming
      .then(() => (this.client ? fn(this.client) : undefined))
      .catch((err: unknown) => this.log.debug({ err }, "job listener: claim failed"));
  }

  /** Claims now, then every CLAIM_MS. */
  private claimSoon(): void {
    if (this.closed || this.db.pglite) return;
    clearTimeout(this.claimTimer);
    this.serially((client) => this.claim(client));
    if (this.one.size === 0) return;
    this.claimTimer = setTimeout(() => this.claimSoon(), CLAIM_MS);
    this.claimTimer.unref();
  }

  /** One statement for every queue with a loop here: takes each holder lock that is free and each
   * standby lock not yet taken, and reads whether another process stands by for the held ones. */
  private async claim(client: pg.Client): Promise<void> {
    const queues = [...this.one];
    if (queues.length === 0) return;
    const { rows } = await client.query<{ q: string; holder: boolean; standing: boolean; others: boolean }>(
      `SELECT t.q,
         CASE WHEN t.held THEN true ELSE pg_try_advisory_lock($4, hashtext($3 || ':' || t.q)) END AS holder,
         CASE WHEN t.standing THEN true ELSE pg_try_advisory_lock_shared($5, hashtext($3 || ':' || t.q)) END AS standing,
         EXISTS (SELECT 1 FROM pg_locks l
                  WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    AND l.classid = $5::oid AND l.objid = hashtext($3 || ':' || t.q)::oid AND l.objsubid = 2
                    AND l.pid <> pg_backend_pid()) AS others
       FROM unnest($1::text[], $2::boolean[], $6::boolean[]) AS t(q, held, standing)`,
      [
        queues,
        queues.map((q) => this.held.has(q)),
        this.channel,
        HOLDER_LOCK,
        STANDBY_LOCK,
        queues.map((q) => this.standing.has(q)),
      ],
    );
    if (this.client !== client) return;
    for (const { q, holder, standing, others } of rows) {
      this.decided.add(q);
      if (standing) this.standing.add(q);
      if (others) this.others.add(q);
      else this.others.delete(q);
      if (holder && !this.held.has(q)) {
        this.held.add(q);
        this.log.debug({ queue: q }, "this process now takes the queue's wake-ups");
        // Jobs queued while no process held the queue rang nobody.
        this.ring(q);
      }
    }
  }

  /** Gives up `queues`' locks, and says so to the standbys (`-queue`), who claim at once. With
   * `all`, every lock of the session (before it closes). */
  private async release(client: pg.Client, queues: string[], all: boolean): Promise<void> {
    const gone = queues.filter((q) => this.held.has(q));
    const stood = queues.filter((q) => this.standing.has(q));
    for (const q of queues) {
      this.held.delete(q);
      this.standing.delete(q);
      this.others.delete(q);
      this.decided.delete(q);
    }
    // Unlocked before the NOTIFY is delivered (at the statement's commit), so the standbys' claims
    // find the lock free.
    const notify = "(SELECT count(pg_notify($1, '-' || q)) FROM unnest($2::text[]) q)";
    if (all) await client.query(`SELECT pg_advisory_unlock_all(), ${notify}`, [this.passChannel, gone]);
    else
      await client.query(
        `SELECT (SELECT count(pg_advisory_unlock($4, hashtext($3 || ':' || q))) FROM unnest($2::text[]) q),
           (SELECT count(pg_advisory_unlock_shared($5, hashtext($3 || ':' || q))) FROM unnest($6::text[]) q),
           ${notify}`,
        [this.passChannel, gone, this.channel, HOLDER_LOCK, STANDBY_LOCK, stood],
      );
  }

  private async sendPasses(): Promise<void> {
    const client = this.client;
    const queues = [...this.passing];
    this.passing.clear();
    if (!client || queues.length === 0) return;
    this.passInFlight = true;
    try {
      await client.query("SELECT count(pg_notify($1, '+' || q)) FROM unnest($2::text[]) q", [
        this.passChannel,
        queues,
      ]);
    } catch {
      // Only a latency hint: the standbys poll.
    } finally {
      this.passInFlight = false;
    }
    if (this.closed) return;
    this.passTimer = setTimeout(() => {
      this.passTimer = undefined;
      if (this.passing.size > 0) void this.sendPasses();
    }, PASS_GAP_MS);
    this.passTimer.unref();
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    // The session's locks went with it.
    this.held.clear();
    this.standing.clear();
    this.others.clear();
    this.decided.clear();
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
