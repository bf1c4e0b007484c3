import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { LeaderElection } from "../../src/leader/leader-election.ts";
import { createLogger } from "../../src/log/logger.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/service.ts";

let db: Database;
let drop: () => Promise<void>;
const log = createLogger("silent");

function election(role: string, events: string[], name: string) {
  return new LeaderElection({
    db,
    role,
    log,
    intervalMs: 100,
    onGain: async (previous) => {
      events.push(`${name} gains${previous ? " after a leader" : ""}`);
    },
    onLose: async () => {
      events.push(`${name} loses`);
    },
  });
}

// Two replicas are two sessions: PGlite has one, in which an advisory lock cannot be contended.
needsDatabaseServer("replicas compete for an advisory lock from separate database sessions");

beforeAll(async () => {
  const t = await createTestDatabase({ migrated: true });
  drop = t.drop;
  db = await openDatabase({ kind: "postgres", url: t.url });
});

afterAll(async () => {
  await db?.close();
  await drop?.();
});

describe("leader election on a Postgres advisory lock", () => {
  it("lets exactly one of two replicas lead, and hands over when the leader stops", async () => {
    const events: string[] = [];
    const a = election("gateway-1", events, "a");
    const b = election("gateway-1", events, "b");
    a.start();
    await a.waitUntilLeader(5_000);
    b.start();
    await new Promise((r) => setTimeout(r, 400));
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    await a.stop();
    await b.waitUntilLeader(5_000);
    expect(events).toEqual(["a gains", "a loses", "b gains after a leader"]);
    await b.stop();
  });

  it("notices when its lock session dies, and then exactly one replica leads", async () => {
    const events: string[] = [];
    const a = election("gateway-2", events, "a");
    const b = election("gateway-2", events, "b");
    a.start();
    await a.waitUntilLeader(5_000);
    b.start();
    // Postgres ends the leader's session (a network cut, a failover): the lock is gone with it.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'threadbridge-gateway-2' AND pid <> pg_backend_pid()",
    );
    await admin.end();
    await waitFor(async () => (events.includes("a loses") ? true : undefined), 5_000, "a to notice");
    // Whoever tries first takes it again; never both.
    await waitFor(async () => (a.isLeader || b.isLeader ? true : undefined), 5_000, "a new leader");
    for (let i = 0; i < 5; i++) {
      expect(a.isLeader && b.isLeader).toBe(false);
      await new Promise((r) => setTimeout(r, 100));
    }
    await a.stop();
    await b.stop();
  });
});
