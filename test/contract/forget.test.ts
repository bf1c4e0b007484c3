// `/ig forget`: after it, no table holds anything about the user but the hashed tombstone and the
// audit entry, and the fake Slack shows their mirrored messages deleted.

import { createHmac } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { tombstoneKey } from "../../src/privacy/forget.ts";
import { ACCOUNT, ADMIN, AGENT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { APP_SECRET, waitFor } from "../helpers/service.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
const CUSTOMER = "1000000000000601";
const now = () => Date.now();

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

const comment = (id: string, from: string, username: string, parent?: string) =>
  commentWebhook(ACCOUNT, {
    id,
    text: `comment ${id}`,
    from: { id: from, username },
    ...(parent ? { parentId: parent } : {}),
  });

it("erases every row about the user, deletes their mirrors, and keeps only the tombstone and the audit", async () => {
  await postWebhook(h.url(), dmText(ACCOUNT, CUSTOMER, "m_f_1", "my address is 1 Main St", now()));
  await postWebhook(h.url(), dmText(ACCOUNT, CUSTOMER, "m_f_2", "STOP", now() + 10));
  const root = await h.rootOf(CUSTOMER);
  const reply = await h.agentSays(root, ">> Noted, we'll stop.");
  await h.settled(reply.ts, "sent");
  // Their own comment thread, and their reply under someone else's comment.
  await postWebhook(h.url(), comment("17850000000000601", CUSTOMER, "customer_0601"));
  await postWebhook(h.url(), comment("17850000000000602", "1000000000000699", "someone_else"));
  await postWebhook(h.url(), comment("17850000000000603", CUSTOMER, "customer_0601", "17850000000000602"));
  const ownThread = await h.commentRootOf("17850000000000601");
  const otherThread = await h.commentRootOf("17850000000000602");
  await h.replies(otherThread, 1);
  await waitFor(async () => {
    const { rows } = await h.service.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM inbound_events WHERE status <> 'processed'",
    );
    return rows[0]?.n === 0 ? true : undefined;
  });

  expect(await h.command(`forget @customer_0601`, AGENT, "f0")).toMatch(/Only admins/);
  const answer = await h.command(`forget @customer_0601`, ADMIN, "f1");
  expect(answer).toMatch(
    /Erased @customer_0601: 1 conversation\(s\), 1 comment thread\(s\), \d+ message\(s\)/,
  );

  const db = h.service.db;
  const count = async (sql: string) => (await db.query<{ n: number }>(sql, [CUSTOMER])).rows[0]?.n ?? -1;
  expect(await count("SELECT count(*)::int AS n FROM conversations WHERE customer_id = $1")).toBe(0);
  expect(await count("SELECT count(*)::int AS n FROM comment_threads WHERE author_id = $1")).toBe(0);
  expect(
    await count("SELECT count(*)::int AS n FROM messages WHERE author_id = $1 OR text LIKE '%1 Main St%'"),
  ).toBe(0);
  expect(
    await count(
      "SELECT count(*)::int AS n FROM inbound_events WHERE event::text LIKE '%' || $1 || '%' OR raw::text LIKE '%' || $1 || '%'",
    ),
  ).toBe(0);
  expect(await count("SELECT count(*)::int AS n FROM rule_firings WHERE customer_id = $1")).toBe(0);
  expect(
    await count(
      "SELECT count(*)::int AS n FROM audit_log WHERE target LIKE '%' || $1 || '%' OR actor_id = $1 OR details::text LIKE '%' || $1 || '%'",
    ),
  ).toBe(0);
  // The agent's reply was audited with a preview; the preview went with the erasure.
  const { rows: replies } = await db.query<{ details: { preview?: string } }>(
    "SELECT details FROM audit_log WHERE action = 'reply_sent'",
  );
  expect(replies).toHaveLength(1);
  expect(replies[0]?.details.preview).toBeUndefined();
  const { rows: tomb } = await db.query<{ key: string }>("SELECT key FROM erasures");
  expect(tomb).toEqual([{ key: tombstoneKey(ACCOUNT, CUSTOMER) }]);
  const { rows: audit } = await db.query<{ action: string }>(
    "SELECT action FROM audit_log WHERE action = 'data_erased'",
  );
  expect(audit).toHaveLength(1);

  // The mirrors are gone from Slack; someone else's comment thread stays, without their reply.
  expect(h.slack.message(CHANNEL, root)).toBeUndefined();
  // Everything the bridge posted in their thread went too (mirrors, notices); only the agent's own
  // reply stays, which a bot token may not delete.
  expect(h.slack.thread(CHANNEL, root).map((m) => m.user)).toEqual([AGENT.id]);
  expect(h.slack.message(CHANNEL, ownThread)).toBeUndefined();
  expect(h.slack.message(CHANNEL, otherThread)).toBeDefined();
  expect(
    h.slack.thread(CHANNEL, otherThread).some((m) => m.text?.includes("comment 17850000000000603")),
  ).toBe(false);
  expect(await h.command("forget @customer_0601", ADMIN, "f2")).toMatch(
    /Nothing stored about @customer_0601/,
  );
});

it("deletes the account's threads in Slack when Meta asks for the account's data to be deleted", async () => {
  const other = "1000000000000602";
  await postWebhook(h.url(), dmText(ACCOUNT, other, "m_f_9", "still here", now()));
  const root = await h.rootOf(other);
  const payload = Buffer.from(
    JSON.stringify({ algorithm: "HMAC-SHA256", issued_at: Math.floor(Date.now() / 1000), user_id: ACCOUNT }),
  ).toString("base64url");
  const sig = createHmac("sha256", APP_SECRET).update(payload).digest("base64url");
  const res = await fetch(`${h.url()}/instagram/data-deletion`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ signed_request: `${sig}.${payload}` }).toString(),
  });
  expect(res.status).toBe(200);
  // The request completes after the chat copies are gone: its counts say what went.
  const counts = await waitFor(async () => {
    const { rows } = await h.service.db.query<{ counts: { chatThreads: number; chatFailures: number } }>(
      "SELECT counts FROM data_requests WHERE status = 'completed'",
    );
    return rows[0]?.counts;
  });
  // This thread and the other customer's comment thread that the first test left standing.
  expect(counts).toMatchObject({ chatThreads: 2, chatFailures: 0 });
  expect(h.slack.message(CHANNEL, root)).toBeUndefined();
  expect(h.slack.thread(CHANNEL, root).filter((m) => m.bot_id)).toEqual([]);
});
