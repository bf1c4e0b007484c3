// Who is waiting for the team (digest/waiting.ts), each way a conversation can end: the query
// settles most open conversations with one probe of their newest message that counts (the
// customer's or a human answer) and probes only the rest for the wait's start. Every case is
// checked by hand and against the definition in the form it had before (two probes for each
// open conversation), so the shortcut can change no answer.

import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { humanAnswer, waitingConversations } from "../../src/digest/waiting.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const A = "17841400000000081";
const B = "17841400000000082";
const NOW = new Date("2026-11-25T10:00:00Z");
const DAY = 86_400_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

type Kind = "customer" | "agent" | "business" | "rule";
type State = "sent" | "failed" | "pending";

const store = useBackendDatabase();
let db: Database;
let seq = 0;

async function conversation(
  customer: string,
  messages: [string, Kind, State?][],
  options: { account?: string; status?: string } = {},
): Promise<void> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO conversations (account_id, customer_id, status, last_customer_message_at)
     VALUES ($1, $2, $3, $4) RETURNING id`,
    [options.account ?? A, customer, options.status ?? "open", NOW.toISOString()],
  );
  for (const [at, kind, state] of messages) {
    seq++;
    await db.query(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id,
                             delivery_state, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        options.account ?? A,
        rows[0]?.id,
        kind === "customer" ? "inbound" : "outbound",
        kind,
        kind === "agent" ? "slack:U1" : null,
        `mid_${seq}`,
        kind === "customer" || kind === "business" ? null : (state ?? "sent"),
        at,
      ],
    );
  }
}

/** The definition as the query stood before the shortcut: both probes for every open conversation. */
async function reference(account: string): Promise<{ customer: string; since: string }[]> {
  const { rows } = await db.query<{ customer_id: string; since: Date }>(
    `SELECT c.customer_id, w.since
       FROM conversations c
       CROSS JOIN LATERAL (
         SELECT max(m.occurred_at) AS at FROM messages m
          WHERE m.conversation_id = c.id AND m.occurred_at >= $2 AND ${humanAnswer("m")}
       ) a
       CROSS JOIN LATERAL (
         SELECT min(m.occurred_at) AS since FROM messages m
          WHERE m.conversation_id = c.id AND m.direction = 'inbound'
            AND m.occurred_at >= $2 AND m.occurred_at > COALESCE(a.at, '-infinity')
       ) w
      WHERE c.account_id = $1 AND c.status = 'open' AND c.last_customer_message_at >= $2
        AND w.since IS NOT NULL`,
    [account, ago(8 * DAY)],
  );
  return rows
    .map((r) => ({ customer: r.customer_id, since: new Date(r.since).toISOString() }))
    .sort((a, b) => a.since.localeCompare(b.since) || a.customer.localeCompare(b.customer));
}

beforeAll(async () => {
  ({ db } = store);
  await db.query(
    "INSERT INTO instagram_accounts (id, username, status) VALUES ($1, 'a', 'active'), ($2, 'b', 'active')",
    [A, B],
  );
  const h = 3_600_000;
  // Waiting: the customer wrote and nobody answered.
  await conversation("unanswered", [[ago(5 * h), "customer"]]);
  // Not waiting: answered by an agent, or by the business from the Instagram app.
  await conversation("answered", [
    [ago(6 * h), "customer"],
    [ago(5 * h), "agent"],
  ]);
  await conversation("app_answered", [
    [ago(6 * h), "customer"],
    [ago(5 * h), "business"],
  ]);
  // A reply not yet delivered is an answer; a failed one is not.
  await conversation("pending_answer", [
    [ago(6 * h), "customer"],
    [ago(5 * h), "agent", "pending"],
  ]);
  await conversation("failed_answer", [
    [ago(6 * h), "customer"],
    [ago(5 * h), "agent", "failed"],
  ]);
  // Waiting since the first message after the last answer, not the newest.
  await conversation("again", [
    [ago(9 * h), "customer"],
    [ago(8 * h), "agent"],
    [ago(7 * h), "customer"],
    [ago(6 * h), "customer"],
  ]);
  // An auto-reply after the customer is no answer (and is passed over to find the newest one that
  // counts); one after the team's answer leaves the conversation answered.
  await conversation("auto_replied", [
    [ago(4 * h), "customer"],
    [ago(3 * h), "rule"],
  ]);
  await conversation("answered_then_auto", [
    [ago(4 * h), "customer"],
    [ago(3 * h), "agent"],
    [ago(2 * h), "rule"],
  ]);
  await conversation("failed_then_auto", [
    [ago(4 * h), "customer"],
    [ago(3 * h), "agent"],
    [ago(2 * h), "customer"],
    [ago(90 * 60_000), "agent", "failed"],
    [ago(h), "rule"],
  ]);
  // The customer wrote at the same instant as the answer: not after it, so not waiting.
  await conversation("tie", [
    [ago(4 * h), "customer"],
    [ago(2 * h), "agent"],
    [ago(2 * h), "customer"],
  ]);
  await conversation("tie_then_more", [
    [ago(2 * h), "agent"],
    [ago(2 * h), "customer"],
    [ago(h), "customer"],
  ]);
  // Only the last eight days count: older messages neither wait nor answer.
  await conversation("old", [[ago(9 * DAY), "customer"]]);
  await conversation("old_answer", [
    [ago(9 * DAY), "customer"],
    [ago(9 * DAY - h), "agent"],
    [ago(2 * DAY), "customer"],
  ]);
  await conversation("answered_long_ago", [
    [ago(9 * DAY), "agent"],
    [ago(3 * DAY), "customer"],
    [ago(3 * DAY - h), "customer"],
  ]);
  // The team wrote first and the customer has not answered: nothing waits.
  await conversation("team_only", [[ago(h), "agent"]]);
  // Not open, or another account's.
  await conversation("closed", [[ago(h), "customer"]], { status: "closed" });
  await conversation("elsewhere", [[ago(h), "customer"]], { account: B });
});

describe("waiting conversations", () => {
  it("are those whose customer wrote after the last human answer, from the first such message", async () => {
    const waiting = await waitingConversations(db, A, NOW);
    const got = waiting.map((w) => ({ customer: w.customerId, since: w.since.toISOString() }));
    const h = 3_600_000;
    expect(got).toEqual([
      { customer: "answered_long_ago", since: ago(3 * DAY) },
      { customer: "old_answer", since: ago(2 * DAY) },
      { customer: "again", since: ago(7 * h) },
      { customer: "failed_answer", since: ago(6 * h) },
      { customer: "unanswered", since: ago(5 * h) },
      { customer: "auto_replied", since: ago(4 * h) },
      { customer: "failed_then_auto", since: ago(2 * h) },
      { customer: "tie_then_more", since: ago(h) },
    ]);
  });

  it("agree with the two-probe definition, for each account", async () => {
    for (const account of [A, B]) {
      const waiting = await waitingConversations(db, account, NOW);
      expect(
        waiting
          .map((w) => ({ customer: w.customerId, since: w.since.toISOString() }))
          .sort((a, b) => a.since.localeCompare(b.since) || a.customer.localeCompare(b.customer)),
      ).toEqual(await reference(account));
    }
  });
});
