// ✅ and 👀 as Slack delivers them (the rest of a root's controls runs on every platform:
// test/contract/conversation-root.test.ts): a reaction on a reply is read to find it is no root,
// and someone whose ✅ did nothing is told so, privately.

import { afterAll, beforeAll, expect, it } from "vitest";
import { ACCOUNT, AGENT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../../helpers/bridge.ts";
import { auditTrail, conversationState } from "../../helpers/conversation-state.ts";
import { waitFor } from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

let h: BridgeHarness;

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

const ephemeralsTo = (user: string) =>
  h.slack.callsOf("chat.postEphemeral").filter((c) => c.args.user === user);

it("reads the message a ✅ is on, and leaves a customer's mirrored reply alone", async () => {
  const customer = "1000000000000502";
  await postWebhook(h.url(), dmText(ACCOUNT, customer, `m_${customer}`, "hello", Date.now()));
  const root = await h.rootOf(customer);
  const [mirrored] = await h.replies(root, 1);
  const reads = () => h.slack.callsOf("reactions.get").filter((c) => c.args.timestamp === mirrored?.ts);
  // The customer's mirrored message is the bot's too, but a reply: nothing happens.
  await h.react(mirrored?.ts as string, "white_check_mark");
  await waitFor(async () => (reads().length > 0 ? true : undefined), 10_000, "the reacted message read");
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect((await conversationState(h.service.db, customer))?.status).toBe("open");
  expect(await auditTrail(h.service.db, `customer:${customer}`)).toEqual([]);
  expect(ephemeralsTo(AGENT.id).filter((c) => c.args.thread_ts === mirrored?.ts)).toHaveLength(0);
});

it("tells only the person who reacted when nothing was done", async () => {
  // A top-level message of the bot that is no conversation's root (an alert, say).
  const res = await fetch(`${h.slack.apiUrl}chat.postMessage`, {
    method: "POST",
    headers: { authorization: `Bearer ${h.slack.token}`, "content-type": "application/json" },
    body: JSON.stringify({ channel: CHANNEL, text: "⚠️ an alert for the account's owners" }),
  });
  const { ts } = (await res.json()) as { ts: string };
  await h.react(ts, "white_check_mark");
  const refusal = await waitFor(async () => ephemeralsTo(AGENT.id).find((c) => c.args.thread_ts === ts));
  expect(refusal.args.text).toMatch(/thread of a mirrored conversation/);
  expect(h.slack.thread(CHANNEL, ts)).toHaveLength(1);
});
