// `/ig export` as Slack delivers it (what the file holds, and who is refused, runs on every
// platform: test/contract/export.test.ts): Slack has no ephemeral upload, so the file goes to the
// app's direct message with the admin alone, and nowhere else; usage errors are the slash
// command's acknowledgement; a refused upload shares nothing and audits no export.

import { afterAll, beforeAll, expect, it } from "vitest";
import {
  ACCOUNT,
  ADMIN,
  AGENT,
  type BridgeHarness,
  CHANNEL,
  SECRET,
  startBridgeHarness,
} from "../../helpers/bridge.ts";
import { postSlackCommand } from "../../helpers/slack.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

let h: BridgeHarness;
const CUSTOMER = "1000000000000701"; // the fake Graph names them customer_0701

beforeAll(async () => {
  // The customer is named by the @username of their profile, which the mirror looks up without
  // waiting for the rate limit: a generous platform limit keeps a quick set-up from going without.
  h = await startBridgeHarness({ IG_RATE_LIMITS: "platform=1000/1" });
  await postWebhook(h.url(), dmText(ACCOUNT, CUSTOMER, "m_x_1", "my address is 7 Elm St", Date.now()));
  await h.replies(await h.rootOf(CUSTOMER), 1);
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

it("opens no direct message and uploads nothing for a non-admin", async () => {
  expect(await h.command("export @customer_0701", AGENT, "x0")).toMatch(/Only admins may export/);
  expect(h.slack.uploads).toHaveLength(0);
  expect(h.slack.callsOf("conversations.open")).toHaveLength(0);
});

it("sends an admin's file into the app's direct message with them only, and says so", async () => {
  const answer = await h.command("export @customer_0701", ADMIN, "x1");
  expect(answer).toMatch(/^Export of @customer_0701: 1 conversation/);
  expect(answer).toMatch(/is in your direct messages with the app/);
  expect(h.slack.responses.find((r) => r.id === "x1")?.body.response_type).toBe("ephemeral");

  // The DM is opened with the admin alone, and the file goes there and nowhere else.
  expect(h.slack.callsOf("conversations.open").map((c) => c.args.users)).toEqual([ADMIN.id]);
  expect(h.slack.uploads).toHaveLength(1);
  const upload = h.slack.uploads[0];
  expect(upload?.channel).toMatch(/^D/);
  expect(h.slack.directMessage(upload?.channel as string)).toEqual([ADMIN.id, h.slack.botUserId].sort());
  expect(upload).toMatchObject({ mimetype: "application/json", name: expect.stringMatching(/\.json$/) });
  expect(upload?.initialComment).toMatch(/^Export of @customer_0701/);
  // Nothing of it was posted where others can read it.
  const posted = h.slack.callsOf("chat.postMessage").map((c) => JSON.stringify(c.args));
  expect(posted.filter((p) => p.includes("Export of") || p.includes(CHANNEL) === false)).toEqual([]);
});

it("sends the next export into the same direct message", async () => {
  expect(await h.command(`export ${CUSTOMER}`, ADMIN, "x2")).toMatch(new RegExp(`^Export of ${CUSTOMER}:`));
  expect(h.slack.uploads).toHaveLength(2);
  expect(h.slack.uploads[1]?.channel).toBe(h.slack.uploads[0]?.channel);
});

it("answers a missing, extra or malformed customer with the usage, at once and without a file", async () => {
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
