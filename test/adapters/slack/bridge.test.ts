// What only Slack does end to end (the rest runs on every platform: test/contract/bridge.test.ts):
// mrkdwn in an agent's reply, Slack's retries of an event, the "Send to Instagram" message
// shortcut, and signatures on /slack/events.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT,
  AGENT,
  type BridgeHarness,
  CHANNEL,
  SECRET,
  startBridgeHarness,
} from "../../helpers/bridge.ts";
import { postSlackEvent, postSlackInteraction } from "../../helpers/slack.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

let h: BridgeHarness;
const now = () => Date.now();
const textOf = (r: { body: unknown }) => (r.body as { message: { text?: string } }).message.text;

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

describe("Slack → Instagram", () => {
  it("sends an agent's mrkdwn as what Instagram shows: a link's URL kept", async () => {
    const customer = "1000000000000004";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_r_1", "price?", now()));
    const root = await h.rootOf(customer);
    await h.replies(root, 1);
    const before = h.sends().length;
    const { ts } = await h.agentSays(root, "It is *25 €*, <https://shop.example|here>");
    await h.settled(ts, "sent");
    const sent = h.sends().slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toMatchObject({
      recipient: { id: customer },
      messaging_type: "RESPONSE",
      message: { text: expect.stringContaining("https://shop.example") },
    });
  });

  it("takes a Slack retry of the same message once", async () => {
    const customer = "1000000000000005";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_dup_1", "hello", now()));
    const root = await h.rootOf(customer);
    const before = h.sends().length;
    const { ts, event } = await h.agentSays(root, "only once please");
    await postSlackEvent(h.url(), SECRET, event, { retryNum: 1 });
    await postSlackEvent(h.url(), SECRET, event, { retryNum: 2 });
    await h.settled(ts, "sent");
    await new Promise((r) => setTimeout(r, 300));
    expect(
      h
        .sends()
        .slice(before)
        .filter((r) => JSON.stringify(r.body).includes("only once please")),
    ).toHaveLength(1);
  });

  it("sends a message of an internal-by-default thread that stayed internal from the message shortcut", async () => {
    await h.service.db.query(
      `UPDATE instagram_accounts SET settings = settings || '{"internalByDefault": true}'::jsonb WHERE id = $1`,
      [ACCOUNT],
    );
    try {
      const customer = "1000000000000011";
      await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_int_1", "hello", now()));
      const root = await h.rootOf(customer);
      const before = h.sends().length;
      const discussion = await h.agentSays(root, "she wants the blue one, right?");
      const reply = await h.agentSays(root, ">> Hi! The blue one is in stock.");
      await h.settled(reply.ts, "sent");
      expect(await h.stateOf(discussion.ts)).toBeUndefined();
      const texts = () => h.sends().slice(before).map(textOf);
      expect(texts()).toEqual(["Hi! The blue one is in stock."]);
      const res = await postSlackInteraction(h.url(), SECRET, {
        type: "message_action",
        callback_id: "ig_send",
        trigger_id: "555.trigger",
        message_ts: discussion.ts,
        response_url: h.slack.responseUrl("shortcut"),
        message: {
          type: "message",
          user: AGENT.id,
          text: "she wants the blue one, right?",
          ts: discussion.ts,
          thread_ts: root,
        },
        user: { id: AGENT.id, name: AGENT.name },
        channel: { id: CHANNEL, name: "ig-inbox" },
        team: { id: "T0FAKE", domain: "fake" },
        token: "legacy",
        action_ts: "5.5",
      });
      expect(res.status).toBe(200);
      await h.settled(discussion.ts, "sent");
      expect(texts()).toEqual(["Hi! The blue one is in stock.", "she wants the blue one, right?"]);
    } finally {
      await h.service.db.query("UPDATE instagram_accounts SET settings = '{}'::jsonb WHERE id = $1", [
        ACCOUNT,
      ]);
    }
  });

  it("refuses requests with a bad Slack signature", async () => {
    const res = await postSlackEvent(
      h.url(),
      SECRET,
      { type: "message", channel: CHANNEL, user: AGENT.id, text: "x", ts: "1.1", thread_ts: "1.0" },
      { signature: "v0=deadbeef" },
    );
    expect(res.status).toBe(401);
  });

  it("answers 200 to an agent's message whose thread_ts holds a NUL, and sends nothing", async () => {
    // Found by `npm run fuzz`: Postgres refuses U+0000 in text, so the thread's lookup failed and
    // Slack was answered 500 (and retried). The lookup now finds no thread (db/pg-json.ts).
    const customer = "1000000000000009";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_r_nul", "hello", now()));
    const root = await h.rootOf(customer);
    const before = h.sends().length;
    const ts = h.slack.seedMessage(CHANNEL, { user: AGENT.id, text: "hi", thread_ts: root });
    for (const thread of ["\u0000", `${root}\u0000`]) {
      const res = await postSlackEvent(h.url(), SECRET, {
        type: "message",
        channel: CHANNEL,
        channel_type: "channel",
        user: AGENT.id,
        text: "hi",
        ts,
        thread_ts: thread,
      });
      expect(res.status).toBe(200);
    }
    // The same message in its real thread still goes out: the process is not wedged.
    const { ts: sent } = await h.agentSays(root, "still here");
    await h.settled(sent, "sent");
    expect(
      h
        .sends()
        .slice(before)
        .map((c) => (c.body as { message: { text?: string } }).message.text),
    ).toEqual(["still here"]);
  });
});
