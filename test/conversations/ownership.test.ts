// Automatic assignment against the database: two workers (each its own connection pool on
// Postgres) assigning one account's new conversations at once keep the turn, never pass the cap,
// skip agents who are away, and leave a conversation that already has an owner alone.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { GroupMember, MemberDirectory } from "../../src/chat/chat-port.ts";
import { Ownership } from "../../src/conversations/ownership.ts";
import { threadSettings } from "../../src/conversations/threads.ts";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { createLogger } from "../../src/log/logger.ts";
import { TEST_BACKEND, useBackendDatabase } from "../helpers/backend.ts";

const ACCOUNT = "17841400000000077";
const PLATFORM = "memory";
const CHANNEL = "room-support";
const POOL = "team";
const PEOPLE: GroupMember[] = [
  { id: "u1", name: "Ana" },
  { id: "u2", name: "Bea" },
  { id: "u3", name: "Cai" },
];

/** The platform's side: a group and its members, as a platform's directory would list them. */
const directory: MemberDirectory = {
  async groupMembers(group, channel) {
    if (group !== POOL || channel !== CHANNEL) throw new Error(`no group ${group} in ${channel}`);
    return PEOPLE;
  },
};

const store = useBackendDatabase();
let db: Database;
let other: Database;
let workers: Ownership[];
const log = createLogger("silent");

beforeAll(async () => {
  ({ db } = store);
  // A second worker: its own pool where the backend has a server, else the one connection.
  other = TEST_BACKEND === "postgres" ? await openDatabase(store.target) : db;
  const directories = new Map([[PLATFORM, directory]]);
  workers = [db, other].map((d) => new Ownership({ db: d, directories, log, humanAgent: false }));
  await db.query(
    "INSERT INTO instagram_accounts (id, username, status, chat_platform, chat_channel) VALUES ($1, 'brand', 'active', $2, $3)",
    [ACCOUNT, PLATFORM, CHANNEL],
  );
});

afterAll(async () => {
  if (other !== db) await other?.close();
});

beforeEach(async () => {
  await db.query("DELETE FROM conversations");
  await db.query("DELETE FROM comment_threads");
  await db.query("DELETE FROM assignment_cursors");
  await db.query("DELETE FROM agents_away");
});

const settle = (ownership: Record<string, unknown>) =>
  db.query("UPDATE instagram_accounts SET settings = $2::jsonb WHERE id = $1", [
    ACCOUNT,
    JSON.stringify({ ownership }),
  ]);

async function newConversations(n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO conversations (account_id, customer_id, last_customer_message_at, chat_platform)
       VALUES ($1, $2, now(), $3) RETURNING id`,
      [ACCOUNT, `c${i}`, PLATFORM],
    );
    ids.push(Number(rows[0]?.id));
  }
  return ids;
}

const dm = (id: number) => ({ kind: "dm" as const, id });

/** Both workers assign every conversation at once, alternating. */
const assignAll = (ids: number[]) =>
  Promise.all(ids.map((id, i) => workers[i % 2]?.assignNew(ACCOUNT, dm(id), PLATFORM, CHANNEL)));

async function load(): Promise<Record<string, number>> {
  const { rows } = await db.query<{ assignee_ref: string | null; n: string }>(
    "SELECT assignee_ref, count(*) AS n FROM conversations GROUP BY assignee_ref",
  );
  return Object.fromEntries(rows.map((r) => [r.assignee_ref ?? "nobody", Number(r.n)]));
}

describe("automatic assignment", () => {
  it("takes turns across workers: nine new conversations, three each, in the order of ids", async () => {
    await settle({ mode: "round-robin", pool: POOL });
    await assignAll(await newConversations(9));
    expect(await load()).toEqual({ u1: 3, u2: 3, u3: 3 });
    const { rows } = await db.query<{ last_agent: string }>("SELECT last_agent FROM assignment_cursors");
    expect(rows).toEqual([{ last_agent: "u3" }]);
    // Audited as the system's doing, naming the mode.
    const { rows: audit } = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM audit_log WHERE action = 'conversation_assigned' AND details->>'how' = 'round-robin'",
    );
    expect(Number(audit[0]?.n)).toBeGreaterThanOrEqual(9);
  });

  it("never passes the cap, whoever asks: the rest stay unassigned", async () => {
    await settle({ mode: "fewest-open", pool: POOL, cap: 2 });
    await assignAll(await newConversations(8));
    expect(await load()).toEqual({ u1: 2, u2: 2, u3: 2, nobody: 2 });
    // A closed conversation no longer counts: its owner can take one more.
    await db.query(
      "UPDATE conversations SET status = 'closed' WHERE assignee_ref = 'u2' AND customer_id = (SELECT min(customer_id) FROM conversations WHERE assignee_ref = 'u2')",
    );
    const { rows: inserted } = await db.query<{ id: number }>(
      "INSERT INTO conversations (account_id, customer_id, chat_platform) VALUES ($1, 'late', $2) RETURNING id",
      [ACCOUNT, PLATFORM],
    );
    const late = Number(inserted[0]?.id);
    await workers[1]?.assignNew(ACCOUNT, dm(late), PLATFORM, CHANNEL);
    const { rows } = await db.query<{ assignee_ref: string }>(
      "SELECT assignee_ref FROM conversations WHERE id = $1",
      [late],
    );
    expect(rows[0]?.assignee_ref).toBe("u2");
  });

  it("skips who is away, and leaves a conversation with an owner as it is", async () => {
    await settle({ mode: "round-robin", pool: POOL });
    await db.query("INSERT INTO agents_away (platform, agent_id, name) VALUES ($1, 'u1', 'Ana')", [PLATFORM]);
    const ids = await newConversations(4);
    await db.query("UPDATE conversations SET assignee = 'Zoe', assignee_ref = 'z9' WHERE id = $1", [ids[0]]);
    await assignAll(ids);
    expect(await load()).toEqual({ z9: 1, u2: 2, u3: 1 });
  });

  it("assigns nobody when the account asks for none, or its pool cannot be read", async () => {
    await settle({ mode: "manual", pool: POOL });
    const [a, b] = await newConversations(2);
    await workers[0]?.assignNew(ACCOUNT, dm(a as number), PLATFORM, CHANNEL);
    await settle({ mode: "round-robin", pool: "someone-else" });
    await workers[0]?.assignNew(ACCOUNT, dm(b as number), PLATFORM, CHANNEL);
    expect(await load()).toEqual({ nobody: 2 });
  });

  it("gives a person's home view: theirs, then the unassigned of their channels, bounded with a count", async () => {
    const ids = await newConversations(7);
    await db.query(
      "UPDATE conversations SET assignee = 'Ana', assignee_ref = 'u1', chat_channel = $2 WHERE id = ANY($1::bigint[])",
      [ids.slice(0, 4), CHANNEL],
    );
    await db.query("UPDATE conversations SET assignee = 'Bea', assignee_ref = 'u2' WHERE id = $1", [ids[4]]);
    const ana = { platform: PLATFORM, id: "u1", name: "Ana" };
    const view = await workers[0]?.home({ agent: ana, channels: [CHANNEL], limit: 3 });
    expect(view?.mine.entries.map((e) => e.customer)).toEqual([
      "Instagram user c0",
      "Instagram user c1",
      "Instagram user c2",
    ]);
    expect(view?.mine.more).toBe(1);
    expect(view?.mine.entries[0]?.state).toBe("new");
    expect(view?.unassigned.entries.map((e) => e.customer)).toEqual([
      "Instagram user c5",
      "Instagram user c6",
    ]);
    expect(view?.unassigned.more).toBe(0);
    // In no channel of the account: their own still, nobody else's.
    const elsewhere = await workers[0]?.home({ agent: ana, channels: ["room-other"], limit: 100 });
    expect(elsewhere?.mine.entries).toHaveLength(4);
    expect(elsewhere?.unassigned).toEqual({ entries: [], more: 0 });
  });

  it("owns a comment thread like a conversation: it takes its turn and counts in the open load", async () => {
    await settle({ mode: "fewest-open", pool: POOL, cap: 1 });
    const [first, second] = await newConversations(2);
    await workers[0]?.assignNew(ACCOUNT, dm(first as number), PLATFORM, CHANNEL);
    const { rows: inserted } = await db.query<{ id: number }>(
      `INSERT INTO comment_threads (account_id, media_id, root_comment_id, chat_platform)
       VALUES ($1, 'media1', 'comment1', $2), ($1, 'media1', 'comment2', $2) RETURNING id`,
      [ACCOUNT, PLATFORM],
    );
    const [c1, c2] = inserted.map((r) => ({ kind: "comment" as const, id: Number(r.id) }));
    await workers[1]?.assignNew(ACCOUNT, c1 as { kind: "comment"; id: number }, PLATFORM, CHANNEL);
    await workers[0]?.assignNew(ACCOUNT, c2 as { kind: "comment"; id: number }, PLATFORM, CHANNEL);
    const { rows } = await db.query<{ root_comment_id: string; assignee_ref: string | null }>(
      "SELECT root_comment_id, assignee_ref FROM comment_threads ORDER BY root_comment_id",
    );
    // u1 holds the first conversation (cap 1), so the comment threads go to u2 and u3.
    expect(rows).toEqual([
      { root_comment_id: "comment1", assignee_ref: "u2" },
      { root_comment_id: "comment2", assignee_ref: "u3" },
    ]);
    // Everyone is at the cap now, comment threads included: the next conversation waits.
    await workers[1]?.assignNew(ACCOUNT, dm(second as number), PLATFORM, CHANNEL);
    expect(await load()).toEqual({ u1: 1, nobody: 1 });
    const { rows: audit } = await db.query<{ target: string }>(
      "SELECT target FROM audit_log WHERE action = 'conversation_assigned' AND target LIKE 'comment:%' ORDER BY target",
    );
    expect(audit.map((a) => a.target)).toEqual(["comment:comment1", "comment:comment2"]);
  });

  it("the first reply takes a comment thread; someone else replying is told whose it is", async () => {
    await settle({ mode: "manual" });
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO comment_threads (account_id, media_id, root_comment_id, chat_platform)
       VALUES ($1, 'media1', 'comment9', $2) RETURNING id`,
      [ACCOUNT, PLATFORM],
    );
    const thread = {
      kind: "comment" as const,
      id: Number(rows[0]?.id),
      accountId: ACCOUNT,
      rootCommentId: "comment9",
      settings: threadSettings({}),
    };
    const ana = { platform: PLATFORM, id: "u1", name: "Ana" };
    const bea = { platform: PLATFORM, id: "u2", name: "Bea" };
    expect(await workers[0]?.replied(thread, ana)).toEqual({ kind: "took" });
    expect(await workers[1]?.replied(thread, bea)).toEqual({ kind: "owned_by", owner: "Ana" });
    expect(await workers[0]?.replied(thread, ana)).toEqual({ kind: "unchanged" });
    const { rows: owner } = await db.query<{
      assignee: string;
      assignee_ref: string;
      assigned_at: Date | null;
    }>("SELECT assignee, assignee_ref, assigned_at FROM comment_threads WHERE id = $1", [thread.id]);
    expect(owner[0]).toMatchObject({ assignee: "Ana", assignee_ref: "u1" });
    expect(owner[0]?.assigned_at).not.toBeNull();
  });
});
