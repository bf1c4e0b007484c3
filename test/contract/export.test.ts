// `/ig export` on Slack: an admin gets every row stored about one customer as a JSON file in a
// direct message with the app (nobody else sees it), nothing about anyone else, no token; others
// are refused and audited; the audit keeps counts, never content.

import { afterAll, beforeAll, expect, it } from "vitest";
import type { CustomerExport } from "../../src/privacy/export.ts";
import {
  ACCOUNT,
  ADMIN,
  AGENT,
  type BridgeHarness,
  CHANNEL,
  SECRET,
  startBridgeHarness,
} from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { postSlackCommand } from "../helpers/slack.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
const CUSTOMER = "1000000000000701"; // the fake Graph names them customer_0701
const OTHER = "1000000000000702";
const now = () => Date.now();

const comment = (id: string, from: string, parent?: string) =>
  commentWebhook(ACCOUNT, {
    id,
    text: `comment ${id}`,
    from: { id: from, username: `customer_${from.slice(-4)}` },
    ...(parent ? { parentId: parent } : {}),
  });

beforeAll(async () => {
  h = await startBridgeHarness();
  await postWebhook(h.url(), dmText(ACCOUNT, CUSTOMER, "m_x_1", "my address is 7 Elm St", now()));
  await postWebhook(h.url(), dmText(ACCOUNT, CUSTOMER, "m_x_2", "STOP", now() + 10));
  await postWebhook(h.url(), dmText(ACCOUNT, OTHER, "m_y_1", "my code is 9 Oak Rd", now() + 20));
  const root = await h.rootOf(CUSTOMER);
  // The agent answers the STOP once it is recorded, so the audit holds them in that order.
  await waitFor(async () => {
    const { rows } = await h.service.db.query<{ consent: string }>(
      "SELECT consent FROM conversations WHERE customer_id = $1",
      [CUSTOMER],
    );
    return rows[0]?.consent === "revoked" ? true : undefined;
  });
  const reply = await h.agentSays(root, ">> Noted, we will stop.");
  await h.settled(reply.ts, "sent");
  // Their own comment (the other customer answers under it), and their answer under the other's.
  await postWebhook(h.url(), comment("17850000000000701", CUSTOMER));
  await postWebhook(h.url(), comment("17850000000000702", OTHER));
  await postWebhook(h.url(), comment("17850000000000703", CUSTOMER, "17850000000000702"));
  await postWebhook(h.url(), comment("17850000000000704", OTHER, "17850000000000701"));
  await waitFor(async () => {
    const { rows } = await h.service.db.query<{ n: number }>(
      `SELECT (SELECT count(*)::int FROM inbound_events WHERE status <> 'processed')
            + (4 - (SELECT count(*)::int FROM messages WHERE ig_message_id LIKE '178500000000007%')) AS n`,
    );
    return rows[0]?.n === 0 ? true : undefined;
  });
  for (const who of [CUSTOMER, OTHER])
    await h.service.db.query(
      "INSERT INTO rule_firings (rule_id, account_id, customer_id, event_id) VALUES ('welcome', $1, $2, NULL)",
      [ACCOUNT, who],
    );
});

afterAll(async () => {
  await h?.close();
});

/** A `/ig` line the adapter answers in the acknowledgement itself (usage errors). */
async function answeredAtOnce(text: string): Promise<{ response_type?: string; text?: string }> {
  const res = await postSlackCommand(h.url(), SECRET, {
    command: "/ig",
    text,
    user_id: ADMIN.id,
    user_name: ADMIN.name,
    channel_id: CHANNEL,
    response_url: h.slack.responseUrl(`at-once-${text}`),
  });
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as { response_type?: string; text?: string };
}

/** The file of the `n`-th upload, parsed. */
function uploaded(n: number): { export: CustomerExport; raw: string; channel: string | undefined } {
  const file = h.slack.uploads[n];
  if (!file) throw new Error(`no upload #${n}`);
  const raw = file.bytes.toString("utf8");
  return { export: JSON.parse(raw) as CustomerExport, raw, channel: file.channel };
}

it("refuses a non-admin, audited, and sends nothing", async () => {
  const answer = await h.command("export @customer_0701", AGENT, "x0");
  expect(answer).toMatch(/Only admins may export a customer's data/);
  expect(h.slack.uploads).toHaveLength(0);
  expect(h.slack.callsOf("conversations.open")).toHaveLength(0);
  const { rows } = await h.service.db.query<{ actor_id: string; details: { action: string } }>(
    "SELECT actor_id, details FROM audit_log WHERE action = 'refused'",
  );
  expect(rows).toEqual([{ actor_id: `slack:${AGENT.id}`, details: { action: "export" } }]);
});

it("sends an admin every row about the customer, by DM with them only, and nothing about anyone else", async () => {
  const answer = await h.command("export @customer_0701", ADMIN, "x1");
  expect(answer).toMatch(
    /^Export of @customer_0701: 1 conversation\(s\) with 3 message\(s\), 1 comment thread/,
  );
  expect(answer).toMatch(/is in your direct messages with the app/);
  expect(h.slack.responses.find((r) => r.id === "x1")?.body.response_type).toBe("ephemeral");

  // The DM is opened with the admin alone, and the file goes there and nowhere else.
  expect(h.slack.callsOf("conversations.open").map((c) => c.args.users)).toEqual([ADMIN.id]);
  expect(h.slack.uploads).toHaveLength(1);
  const { export: data, raw, channel } = uploaded(0);
  expect(channel).toMatch(/^D/);
  expect(h.slack.directMessage(channel as string)).toEqual([ADMIN.id, h.slack.botUserId].sort());
  expect(h.slack.uploads[0]).toMatchObject({
    mimetype: "application/json",
    name: expect.stringMatching(/\.json$/),
  });
  expect(h.slack.uploads[0]?.initialComment).toMatch(/^Export of @customer_0701/);
  // Nothing of it was posted where others can read it.
  const posted = h.slack.callsOf("chat.postMessage").map((c) => JSON.stringify(c.args));
  expect(posted.filter((p) => p.includes("Export of") || p.includes(CHANNEL) === false)).toEqual([]);

  expect(data.header).toEqual({
    format: "threadbridge.customer-export",
    version: 1,
    generatedAt: expect.any(String),
    account: { id: ACCOUNT, username: "brand" },
    customerId: CUSTOMER,
  });
  expect(data.conversations).toEqual([
    expect.objectContaining({
      customer_id: CUSTOMER,
      consent: "revoked",
      status: "open",
      assignee: null,
      profile: expect.objectContaining({ username: "customer_0701" }),
    }),
  ]);
  expect(data.conversationMessages.map((m) => [m.direction, m.text])).toEqual([
    ["inbound", "my address is 7 Elm St"],
    ["inbound", "STOP"],
    ["outbound", "Noted, we will stop."],
  ]);
  expect(data.commentThreads.map((t) => t.root_comment_id)).toEqual(["17850000000000701"]);
  // Their comment, not the other customer's answer under it.
  expect(data.commentThreadMessages.map((m) => m.ig_message_id)).toEqual(["17850000000000701"]);
  expect(data.commentsElsewhere.map((m) => m.ig_message_id)).toEqual(["17850000000000703"]);
  expect(data.webhookEvents.length).toBeGreaterThanOrEqual(4);
  expect(raw).toContain("17850000000000703");
  expect(data.ruleFirings).toEqual([expect.objectContaining({ rule_id: "welcome", customer_id: CUSTOMER })]);
  // The customer's STOP, and the agent's reply to them.
  expect(data.auditEntries.map((a) => [a.action, a.target])).toEqual([
    ["consent_changed", `customer:${CUSTOMER}`],
    ["reply_sent", `customer:${CUSTOMER}`],
  ]);

  // Nothing about the other customer, and no token in any form.
  const { rows } = await h.service.db.query<{ token_ciphertext: string }>(
    "SELECT token_ciphertext FROM instagram_accounts WHERE id = $1",
    [ACCOUNT],
  );
  for (const secret of [OTHER, "customer_0702", "9 Oak Rd", "17850000000000704", "IGAA-e2e-token"])
    expect(raw).not.toContain(secret);
  expect(raw).not.toContain(rows[0]?.token_ciphertext);
  expect(raw).not.toMatch(/token/i);
});

it("exports by id too, into the same DM, and audits each export with counts only", async () => {
  const answer = await h.command(`export ${CUSTOMER}`, ADMIN, "x2");
  expect(answer).toMatch(new RegExp(`^Export of ${CUSTOMER}: 1 conversation`));
  expect(h.slack.uploads).toHaveLength(2);
  const first = uploaded(0);
  const second = uploaded(1);
  expect(second.channel).toBe(first.channel);
  expect(second.export.header.customerId).toBe(CUSTOMER);
  // The second export also holds the audit entry of the first.
  expect(second.export.auditEntries.map((a) => a.action)).toEqual([
    "consent_changed",
    "reply_sent",
    "data_exported",
  ]);

  const { rows } = await h.service.db.query<{ actor_id: string; target: string; details: object }>(
    "SELECT actor_id, target, details FROM audit_log WHERE action = 'data_exported' ORDER BY id",
  );
  expect(rows).toHaveLength(2);
  for (const row of rows) {
    expect(row).toMatchObject({
      actor_id: `slack:${ADMIN.id}`,
      target: `customer:${CUSTOMER}`,
      details: {
        format: "threadbridge.customer-export",
        counts: expect.objectContaining({ conversations: 1, conversationMessages: 3, commentsElsewhere: 1 }),
      },
    });
    const details = JSON.stringify(row.details);
    for (const content of ["Elm St", "Noted", "STOP", "comment 1785"]) expect(details).not.toContain(content);
  }
});

it("answers an unknown customer and bad arguments clearly, without a file", async () => {
  expect(await h.command("export @nobody_here", ADMIN, "x3")).toBe(
    "No customer @nobody_here in this channel's accounts: nothing to export.",
  );
  expect(await answeredAtOnce("export")).toEqual({
    response_type: "ephemeral",
    text: "`export` takes one customer: an @username or an id\nusage: `/ig export @username|id`",
  });
  expect((await answeredAtOnce("export @customer_0701 @customer_0702")).text).toMatch(
    /^`export` takes one customer; got `@customer_0701 @customer_0702`/,
  );
  expect((await answeredAtOnce("export customer/0701")).text).toMatch(
    /^`customer\/0701` is not an Instagram user \(an @username or an id\)/,
  );
  expect(h.slack.uploads).toHaveLength(2);
});

it("says so when Slack refuses the upload, shares nothing and audits no export", async () => {
  const exports = async () =>
    (
      await h.service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE action = 'data_exported'",
      )
    ).rows[0]?.n;
  const before = await exports();
  h.slack.revokeScopes(["files:write"]);
  const answer = await h.command("export @customer_0701", ADMIN, "x7");
  expect(answer).toMatch(/But sending you the file failed \(missing_scope\): nothing was shared/);
  expect(answer).toMatch(/files:write/);
  expect(h.slack.uploads).toHaveLength(2);
  expect(await exports()).toBe(before);
});
