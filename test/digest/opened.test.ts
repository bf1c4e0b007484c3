// The digest's new conversations and questions where the two meet: the questions pass also decides
// which conversations the period opened (a first customer message in the period and none ever
// before it), from what its scan saw and one probe before the scan. Each way a conversation can
// look new or not is here once, and the count is checked by hand and against the definition as
// its own query (the form the digest used before).

import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { computeDigest, type Digest } from "../../src/digest/digest.ts";
import { previousPeriod } from "../../src/digest/period.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const A = "17841400000000091";
const B = "17841400000000092";
const NOW = new Date("2026-11-25T10:00:00Z");
/** Tue 24 Nov in Berlin; the questions pass reads from eight days before it (15 Nov, 23:00 UTC). */
const PERIOD = previousPeriod("daily", "Europe/Berlin", NOW);

const store = useBackendDatabase();
let db: Database;
let digest: Digest;

let seq = 0;
async function conversation(account: string, customer: string, messages: [string, Kind, "failed"?][]) {
  const { rows } = await db.query<{ id: string }>(
    "INSERT INTO conversations (account_id, customer_id, last_customer_message_at) VALUES ($1, $2, $3) RETURNING id",
    [account, customer, NOW.toISOString()],
  );
  for (const [at, kind, state] of messages) {
    seq++;
    await db.query(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id,
                             delivery_state, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        account,
        rows[0]?.id,
        kind === "customer" ? "inbound" : "outbound",
        kind,
        kind === "agent" ? "slack:U1" : null,
        `mid_${seq}`,
        kind === "customer" ? null : (state ?? "sent"),
        at,
      ],
    );
  }
}
type Kind = "customer" | "agent" | "rule";

beforeAll(async () => {
  ({ db } = store);
  await db.query(
    "INSERT INTO instagram_accounts (id, username, status) VALUES ($1, 'a', 'active'), ($2, 'b', 'active')",
    [A, B],
  );
  // New: the first message ever, in the period (nothing before it to find).
  await conversation(A, "first", [["2026-11-24T10:00:00Z", "customer"]]);
  // Not new: the customer wrote three days before (within the scan).
  await conversation(A, "recent", [
    ["2026-11-21T10:00:00Z", "customer"],
    ["2026-11-24T10:00:00Z", "customer"],
  ]);
  // Not new: the customer wrote weeks before (before the scan: the probe finds it).
  await conversation(A, "returning", [
    ["2026-11-01T10:00:00Z", "customer"],
    ["2026-11-01T10:05:00Z", "agent"],
    ["2026-11-24T11:00:00Z", "customer"],
  ]);
  // New: the team wrote first (the scan's oldest message is an answer, not a question), answered.
  await conversation(A, "team_first", [
    ["2026-11-22T10:00:00Z", "agent"],
    ["2026-11-24T12:00:00Z", "customer"],
    ["2026-11-24T12:10:00Z", "agent"],
  ]);
  // New once: two first messages at the same instant.
  await conversation(A, "twice", [
    ["2026-11-24T13:00:00Z", "customer"],
    ["2026-11-24T13:00:00Z", "customer"],
  ]);
  // New: only an auto-reply and a failed reply came before (neither is in the scan).
  await conversation(A, "auto_first", [
    ["2026-11-23T10:00:00Z", "rule"],
    ["2026-11-24T14:00:00Z", "customer"],
  ]);
  await conversation(A, "failed_first", [
    ["2026-11-20T10:00:00Z", "agent", "failed"],
    ["2026-11-24T16:00:00Z", "customer"],
  ]);
  // Not new: the customer wrote before and the period only has our answer.
  await conversation(A, "answered_only", [
    ["2026-11-22T10:00:00Z", "customer"],
    ["2026-11-24T10:00:00Z", "agent"],
  ]);
  // Not new: the customer wrote three hours before the scan starts.
  await conversation(A, "edge", [
    ["2026-11-15T20:00:00Z", "customer"],
    ["2026-11-24T15:00:00Z", "customer"],
  ]);
  // Another account's new conversation.
  await conversation(B, "elsewhere", [["2026-11-24T10:00:00Z", "customer"]]);
  digest = await computeDigest(db, A, PERIOD, { slaMinutes: 60, now: NOW });
});

describe("new conversations found by the questions pass", () => {
  it("counts each conversation whose first customer message ever is in the period, once", async () => {
    expect(digest.conversations.opened).toBe(5); // first, team_first, twice, auto_first, failed_first
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(DISTINCT m.conversation_id) AS n FROM messages m
        WHERE m.account_id = $1 AND m.direction = 'inbound' AND m.conversation_id IS NOT NULL
          AND m.occurred_at >= $2 AND m.occurred_at < $3
          AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.conversation_id = m.conversation_id
                            AND e.direction = 'inbound' AND e.occurred_at < $2)`,
      [A, PERIOD.from.toISOString(), PERIOD.to.toISOString()],
    );
    expect(Number(rows[0]?.n)).toBe(digest.conversations.opened);
  });

  it("counts as questions only customer messages, not the team's first message it read for that", () => {
    // first, returning, team_first (answered in 10 min), twice (one wait), auto_first,
    // failed_first, edge; recent's message continues an unanswered wait.
    expect(digest.firstResponse).toEqual({
      answered: 1,
      unanswered: 6,
      p50Ms: 10 * 60_000,
      p90Ms: 10 * 60_000,
      businessHours: false,
    });
  });
});
