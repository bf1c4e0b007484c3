// The digest's figures of the agent's day (issue 21) on seeded rows: saved replies sent per saved
// reply, each agent's open assignments (conversations and comment threads) beside their replies,
// conversations per queue state (the SQL agrees with conversations/queue-state.ts on the same rows),
// conversations per customer label, and how the shared view and `threadbridge digest` say them.

import { beforeAll, describe, expect, it } from "vitest";
import { queueState } from "../../src/conversations/queue-state.ts";
import type { Database } from "../../src/db/database.ts";
import { computeDigest, type Digest } from "../../src/digest/digest.ts";
import { digestText } from "../../src/digest/digest-text.ts";
import { rollingPeriod } from "../../src/digest/period.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const A = "17841400000000091";
const NOW = new Date("2026-11-25T10:00:00Z");
const DAY = rollingPeriod("24h", "UTC", NOW);

const store = useBackendDatabase();
let db: Database;
let digest: Digest;

async function conversation(
  customer: string,
  o: {
    status?: string;
    customerAt?: string | null;
    businessAt?: string | null;
    assignee?: [string, string | null];
  },
): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO conversations (account_id, customer_id, status, last_customer_message_at, last_business_message_at,
                                assignee, assignee_ref, chat_platform, chat_channel, chat_thread)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'slack', 'C1', $8) RETURNING id`,
    [
      A,
      customer,
      o.status ?? "open",
      o.customerAt ?? null,
      o.businessAt ?? null,
      o.assignee?.[0] ?? null,
      o.assignee?.[1] ?? null,
      `1700.${customer}`,
    ],
  );
  return Number(rows[0]?.id);
}

let seq = 0;
async function reply(conversationId: number, at: string, agent: string, name: string, snippet?: string) {
  seq++;
  await db.query(
    `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id, text, details,
                           delivery_state, occurred_at)
     VALUES ($1, $2, 'outbound', 'agent', $3, $4, 'x', $5, 'sent', $6)`,
    [
      A,
      conversationId,
      agent,
      `mid_${seq}`,
      JSON.stringify({ agentName: name, ...(snippet ? { snippet } : {}) }),
      at,
    ],
  );
}

async function customerSays(conversationId: number, at: string) {
  seq++;
  await db.query(
    `INSERT INTO messages (account_id, conversation_id, direction, author_kind, ig_message_id, text, occurred_at)
     VALUES ($1, $2, 'inbound', 'customer', $3, 'hi', $4)`,
    [A, conversationId, `mid_${seq}`, at],
  );
}

beforeAll(async () => {
  ({ db } = store);
  await db.query("INSERT INTO instagram_accounts (id, username, status) VALUES ($1, 'brand', 'active')", [A]);
  // new; waiting on us (twice); waiting on the customer (twice: answered, and nobody wrote yet);
  // snoozed; closed (not counted).
  const fresh = await conversation("c1", { customerAt: "2026-11-25T09:00:00Z", assignee: ["Ana", "U1"] });
  const ours = await conversation("c2", {
    customerAt: "2026-11-25T09:00:00Z",
    businessAt: "2026-11-25T08:00:00Z",
    assignee: ["Ana", "U1"],
  });
  await conversation("c3", {
    customerAt: "2026-11-25T09:30:00Z",
    businessAt: "2026-11-25T09:00:00Z",
    assignee: ["Bob", null], // !assign @Bob: a name only
  });
  const theirs = await conversation("c4", {
    customerAt: "2026-11-25T08:00:00Z",
    businessAt: "2026-11-25T08:30:00Z",
    assignee: ["Cai", "U3"],
  });
  await conversation("c5", {});
  await conversation("c6", { status: "snoozed", customerAt: "2026-11-25T08:00:00Z" });
  await conversation("c7", { status: "closed", customerAt: "2026-11-25T08:00:00Z", assignee: ["Ana", "U1"] });
  // A comment thread Ana owns counts in her load; a closed one does not.
  await db.query(
    `INSERT INTO comment_threads (account_id, media_id, root_comment_id, status, assignee, assignee_ref, chat_platform)
     VALUES ($1, 'm1', 'k1', 'open', 'Ana', 'U1', 'slack'), ($1, 'm1', 'k2', 'closed', 'Cai', 'U3', 'slack')`,
    [A],
  );

  await reply(ours, "2026-11-25T08:00:00Z", "slack:U1", "Ana", "shipping");
  await reply(theirs, "2026-11-25T08:30:00Z", "slack:U3", "Cai", "shipping");
  await reply(theirs, "2026-11-25T08:40:00Z", "slack:U3", "Cai", "returns");
  await reply(theirs, "2026-11-25T08:45:00Z", "slack:U3", "Cai");
  await reply(theirs, "2026-11-23T08:45:00Z", "slack:U3", "Cai", "returns"); // before the period
  await reply(ours, "2026-11-25T08:50:00Z", "slack:U4", "Dee"); // replies, owns nothing

  // Labels: vip on two customers with a message in the period, wholesale on one without.
  await customerSays(fresh, "2026-11-25T09:00:00Z");
  await db.query(
    `INSERT INTO customer_labels (account_id, customer_id, label)
     VALUES ($1, 'c1', 'vip'), ($1, 'c2', 'vip'), ($1, 'c5', 'wholesale'), ($1, 'c2', 'wholesale')`,
    [A],
  );
  digest = await computeDigest(db, A, DAY, { slaMinutes: 0, now: NOW });
});

describe("the agent's day in the digest", () => {
  it("counts saved replies sent in the period, per saved reply", () => {
    expect(digest.savedReplies).toEqual([
      { key: "shipping", count: 2 },
      { key: "returns", count: 1 },
    ]);
  });

  it("gives each agent's open assignments, comment threads included, beside their replies", () => {
    expect(digest.assignments).toEqual([
      { key: "slack:U1", label: "Ana", open: 3, replies: 1 },
      { key: "slack:U3", label: "Cai", open: 1, replies: 3 },
      { key: "name:Bob", label: "Bob", open: 1, replies: 0 },
      { key: "slack:U4", label: "Dee", open: 0, replies: 1 },
    ]);
  });

  it("counts conversations per queue state as the root and /ig queue derive it", async () => {
    expect(digest.queueStates).toEqual([
      { key: "waiting_on_customer", count: 2 },
      { key: "waiting_on_us", count: 2 },
      { key: "new", count: 1 },
      { key: "snoozed", count: 1 },
    ]);
    // The same rows through the pure function.
    const { rows } = await db.query<{
      status: "open" | "closed" | "snoozed";
      last_customer_message_at: Date | null;
      last_business_message_at: Date | null;
    }>(
      "SELECT status, last_customer_message_at, last_business_message_at FROM conversations WHERE account_id = $1 AND status <> 'closed'",
      [A],
    );
    const byFunction: Record<string, number> = {};
    for (const r of rows) {
      const state = queueState({
        status: r.status,
        lastCustomerAt: r.last_customer_message_at,
        lastBusinessAt: r.last_business_message_at,
      });
      byFunction[state] = (byFunction[state] ?? 0) + 1;
    }
    expect(Object.fromEntries((digest.queueStates ?? []).map((c) => [c.key, c.count]))).toEqual(byFunction);
  });

  it("counts conversations active in the period per customer label", () => {
    expect(digest.labels).toEqual([
      { key: "vip", count: 2 },
      { key: "wholesale", count: 1 },
    ]);
  });

  it("says them in the shared view, as every platform and threadbridge digest show it", () => {
    const text = digestText(digest);
    expect(text).toContain(
      [
        "👥 Assignments (open now) and replies:",
        "  • Ana — 3 open conversations assigned, 1 reply sent",
        "  • Cai — 1 open conversation assigned, 3 replies sent",
        "  • Bob — 1 open conversation assigned, 0 replies sent",
      ].join("\n"),
    );
    expect(text).toContain(
      [
        "🚦 Conversations by queue state (now):",
        "  • waiting on the customer — 2 conversations",
        "  • waiting on us — 2 conversations",
        "  • new — 1 conversation",
        "  • snoozed — 1 conversation",
      ].join("\n"),
    );
    expect(text).toContain(
      [
        "🏷️ Conversations by customer label:",
        "  • vip — 2 conversations",
        "  • wholesale — 1 conversation",
      ].join("\n"),
    );
    expect(text).toContain(
      ["📎 Saved replies sent:", "  • shipping — 2 times", "  • returns — 1 time"].join("\n"),
    );
  });
});
