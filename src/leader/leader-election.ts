import pg from "pg";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";

/** How long giving up the role may take before the lock is released regardless. */
const GIVE_UP_MS = 10_000;

// One process among the replicas holds a role that must not run twice (the Discord gateway
// connection: two would receive every event twice). The holder keeps a Postgres session-level
// advisory lock on a connection of its own. If the process dies, or its connection does, Postgres
// releases the lock and another replica takes it at its next attempt. The holder also stamps
// `service_flags` as it goes, so a successor knows since when nobody was listening.

export interface LeaderOptions {
  db: Database;
  /** What is being led; also the advisory lock's key (hashed) and the flag's name. */
  role: string;
  log: Logger;
  /** How often a follower tries to take over and the leader checks its lock. */
  intervalMs: number;
  /** Called once leadership is won, with when the previous leader was last known alive. */
  onGain(previousLeaderSeenAt: Date | undefined): Promise<void>;
  /** Called when leadership is lost or given up. */
  onLose(): Promise<void>;
}

export class LeaderElection {
  private readonly o: LeaderOptions;
  private client: pg.Client | undefined;
  private leading = false;
  /** The role is taken up: onGain has returned. */
  private roleTaken = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private busy: Promise<void> = Promise.resolve();

  constructor(options: LeaderOptions) {
    this.o = options;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const tick = () => {
      this.serially(() => this.step());
      if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.busy;
    await this.lose("stopping");
  }

  /** Resolves once this process leads and has taken up the role (tests, and roles that must
   * wait for it). */
  async waitUntilLeader(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(this.leading && this.roleTaken)) {
      if (Date.now() > until) throw new Error(`not leader of ${this.o.role} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    if (!this.o.db.url) {
      // The embedded database belongs to one process: it leads by construction.
      if (!this.leading) await this.gain(undefined);
      return;
    }
    if (this.leading) {
      if (!this.client) {
        await this.lose("no lock connection");
        return;
      }
      try {
        await this.client.query("SELECT 1");
        await this.stamp();
      } catch (err) {
        await this.lose(`lock connection failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      return;
    }
    const client = new pg.Client({
      connectionString: this.o.db.url,
      application_name: `threadbridge-${this.o.role}`,
    });
    // The error can arrive at any point of this step, before the client is the lock's: it is
    // remembered, so a session that died while winning the lock is never claimed. Once claimed,
    // losing it waits for the step under way (a half-done gain) instead of racing it.
    let failed: string | undefined;
    client.on("error", (err: Error) => {
      failed ??= err.message;
      if (this.client === client) this.serially(() => this.lose(`lock connection error: ${err.message}`));
    });
    await client.connect();
    const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [
      `threadbridge:${this.o.role}`,
    ]);
    if (!rows[0]?.ok) {
      await client.end().catch(() => {});
      return;
    }
    // A session can win the lock while Postgres is already terminating it (pg_terminate_backend
    // on every session of this role, a failover): the backend acts on that at its next statement.
    // One more round trip on the lock's own session proves it alive before claiming the role.
    try {
      await client.query("SELECT 1");
    } catch {
      await client.end().catch(() => {});
      return;
    }
    const previous = await this.lastSeen();
    if (failed !== undefined || this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    await this.gain(previous);
  }

  /** Runs `fn` after every step and transition already queued, so that they never interleave. */
  private serially(fn: () => Promise<void>): void {
    this.busy = this.busy
      .then(fn)
      .catch((err: unknown) => this.o.log.warn({ err, role: this.o.role }, "leader election step failed"));
  }

  private async gain(previous: Date | undefined): Promise<void> {
    this.leading = true;
    this.o.log.info({ role: this.o.role }, "this process now leads");
    await this.stamp();
    try {
      await this.o.onGain(previous);
      this.roleTaken = this.leading;
    } catch (err) {
      this.o.log.error({ err, role: this.o.role }, "could not take up the role; giving it up");
      await this.lose("onGain failed");
    }
  }

  private async lose(reason: string): Promise<void> {
    const client = this.client;
    this.client = undefined;
    const was = this.leading;
    this.leading = false;
    this.roleTaken = false;
    // The role is given up before the lock: the moment the session ends another replica can win
    // it, and must not find this one still acting in the role (two leaders for a moment; the
    // hand-over test saw the new leader's gain before the old one's loss). Bounded, so a role that
    // cannot be given up does not keep the lock from the others.
    if (was) {
      this.o.log.warn({ role: this.o.role, reason }, "this process no longer leads");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.o
          .onLose()
          .catch((err: unknown) =>
            this.o.log.error({ err, role: this.o.role }, "could not give up the role cleanly"),
          ),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            this.o.log.error(
              { role: this.o.role, waitedMs: GIVE_UP_MS },
              "giving up the role is taking too long; releasing the lock anyway",
            );
            resolve();
          }, GIVE_UP_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    if (client) {
      // Ending the session releases the lock for the other replicas.
      await client.end().catch(() => {});
    }
  }

  private async stamp(): Promise<void> {
    await this.o.db.query(
      `INSERT INTO service_flags (key, value, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [`leader:${this.o.role}`, JSON.stringify({ pid: process.pid, seenAt: new Date().toISOString() })],
    );
  }

  private async lastSeen(): Promise<Date | undefined> {
    const { rows } = await this.o.db.query<{ seen: string | null }>(
      "SELECT value->>'seenAt' AS seen FROM service_flags WHERE key = $1",
      [`leader:${this.o.role}`],
    );
    const seen = rows[0]?.seen;
    return seen ? new Date(seen) : undefined;
  }
}
