// Conversation actions typed in the thread: close, reopen, assign, snooze (woken by a durable
// job), and a customer's message reopening a closed conversation; each audited, the root in step.

import { afterAll, beforeAll, expect, it } from "vitest";
import { ACCOUNT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
const now = () => Date.now();

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

const stateOf = async (customer: string) =>
  (
    await h.service.db.query<{ status: string; assignee: string | null }>(
      "SELECT status, assignee FROM conversations WHERE customer_id = $1",
      [customer],
    )
  ).rows[0];

it("closes, reopens on the customer's next message, assigns and snoozes from text commands", async () => {
  const customer = "1000000000000301";
  await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_a_1", "hello", now()));
  const root = await h.rootOf(customer);
  const said = (text: string) =>
    waitFor(async () =>
      h.slack.thread(CHANNEL, root).some((m) => m.text?.includes(text)) ? true : undefined,
    );

  await h.agentSays(root, "!close");
  await said("closed this conversation");
  expect((await stateOf(customer))?.status).toBe("closed");
  await waitFor(async () =>
    JSON.stringify(h.slack.message(CHANNEL, root)?.blocks).match(/closed/i) ? true : undefined,
  );

  await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_a_2", "one more thing", now() + 10));
  await waitFor(async () => ((await stateOf(customer))?.status === "open" ? true : undefined));

  await h.agentSays(root, "!assign me");
  await said("assigned this conversation to");
  expect((await stateOf(customer))?.assignee).toBeTruthy();

  await h.agentSays(root, "!snooze forever");
  await said("`forever` is not a duration: 30m, 4h, 1d");
  await h.agentSays(root, "!snooze 2s");
  await said("snoozed this conversation");
  expect((await stateOf(customer))?.status).toBe("snoozed");
  await waitFor(
    async () => ((await stateOf(customer))?.status === "open" ? true : undefined),
    15_000,
    "the wake-up",
  );
  await said("Snooze over");

  const { rows } = await h.service.db.query<{ action: string }>(
    "SELECT action FROM audit_log WHERE target = $1 ORDER BY id",
    [`customer:${customer}`],
  );
  expect(rows.map((r) => r.action)).toEqual([
    "conversation_closed",
    "conversation_assigned",
    "conversation_snoozed",
  ]);
});
