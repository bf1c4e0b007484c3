// Conversation Routing (issue 22): another app (ManyChat here) takes the conversation; the root
// says who holds it and offers Take control; a message delivered on standby is still mirrored,
// marked; an agent's reply is held with the reason shown, never sent over the other app; Take
// control calls Instagram's take_thread_control and the held reply goes out. A conversation
// passed back by the other app sends again by itself.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCOUNT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const OUR_APP = "1111111111111111";
const MANYCHAT = "2222222222222222";
const CUSTOMER = "1000000000000951";
const OTHER = "1000000000000952";
let h: BridgeHarness;

const shown = (m: { text?: string; blocks?: unknown[] } | undefined) =>
  `${m?.text ?? ""} ${JSON.stringify(m?.blocks ?? [])}`;

/** A messaging item under `messaging` or `standby`, Meta's envelope around it. */
function item(key: "messaging" | "standby", customer: string, at: number, body: Record<string, unknown>) {
  return {
    object: "instagram",
    entry: [
      {
        id: ACCOUNT,
        time: at,
        [key]: [{ sender: { id: customer }, recipient: { id: ACCOUNT }, timestamp: at, ...body }],
      },
    ],
  };
}

async function deliver(body: object): Promise<void> {
  expect((await postWebhook(h.url(), body)).status).toBe(200);
  await waitFor(async () => {
    const { rows } = await h.service.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM inbound_events WHERE status <> 'processed'",
    );
    return rows[0]?.n === 0 ? true : undefined;
  });
}

const rootText = (root: string) => shown(h.slack.message(CHANNEL, root));
const threadText = (root: string) =>
  h.slack
    .thread(CHANNEL, root)
    .slice(1)
    .map((m) => shown(m))
    .join("\n");

beforeAll(async () => {
  h = await startBridgeHarness({ IG_APP_ID: OUR_APP, IG_APP_NAMES: `${MANYCHAT}=ManyChat` });
});
afterAll(async () => {
  await h?.close();
});

describe("another app holds the conversation", () => {
  it("shows the holder, mirrors standby messages, holds replies until an agent takes control", async () => {
    const t0 = Date.now() - 60_000;
    await deliver(dmText(ACCOUNT, CUSTOMER, "m_ctl_1", "Hi there", t0));
    const root = await h.rootOf(CUSTOMER);

    // ManyChat takes the thread (delivered to us, the app losing it).
    await deliver(
      item("messaging", CUSTOMER, t0 + 1000, {
        take_thread_control: { previous_owner_app_id: OUR_APP, new_owner_app_id: MANYCHAT, metadata: "flow" },
      }),
    );
    await waitFor(async () =>
      rootText(root).includes("ManyChat holds this conversation") ? true : undefined,
    );
    expect(rootText(root)).toContain("ig_conversation_take_control");
    expect(threadText(root)).toContain("ManyChat took control of this conversation");

    // While ManyChat holds it, the customer's message arrives on standby: mirrored, marked.
    await deliver(item("standby", CUSTOMER, t0 + 2000, { message: { mid: "m_ctl_2", text: "Any news?" } }));
    await waitFor(async () => (threadText(root).includes("Any news?") ? true : undefined));
    expect(threadText(root)).toContain("received on standby");

    // An agent's reply waits, with the reason in the thread; nothing reaches the Send API.
    const sendsBefore = h.sends().length;
    const { ts } = await h.agentSays(root, "Let me check for you");
    const held = await h.settled(ts, "held");
    expect(held.delivery_error).toContain("ManyChat holds this conversation");
    await waitFor(async () => (threadText(root).includes("Replies are held") ? true : undefined));
    expect(h.sends().length).toBe(sendsBefore);

    // Take control: Instagram is asked, the root drops the line, the held reply goes out.
    await h.act(root, "ig_conversation_take_control");
    const take = await waitFor(async () =>
      h.graph.requests.find((r) => r.method === "POST" && r.path.endsWith("/me/take_thread_control")),
    );
    expect(take.body).toMatchObject({ recipient: { id: CUSTOMER } });
    await waitFor(
      async () => ((await h.stateOf(ts))?.delivery_state === "sent" ? true : undefined),
      45_000,
      "the held reply sent after taking control",
    );
    expect(h.sends().at(-1)?.body).toMatchObject({
      recipient: { id: CUSTOMER },
      message: { text: expect.stringContaining("Let me check for you") },
    });
    await waitFor(async () => (rootText(root).includes("holds this conversation") ? undefined : true));
    const { rows } = await h.service.db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE action LIKE 'thread_control_%'",
    );
    expect(rows.map((r) => r.action)).toEqual(["thread_control_take"]);
  }, 90_000);

  it("sends again once the other app passes the conversation back", async () => {
    const t0 = Date.now() - 60_000;
    // Only standby deliveries: another app holds it, unnamed.
    await deliver(item("standby", OTHER, t0, { message: { mid: "m_ctl_3", text: "Hello?" } }));
    const root = await h.rootOf(OTHER);
    await waitFor(async () =>
      rootText(root).includes("Another app holds this conversation") ? true : undefined,
    );
    const { ts } = await h.agentSays(root, "Welcome back");
    await h.settled(ts, "held");
    // `!control request` asks the holder through Instagram; the root says it was asked.
    await h.agentSays(root, "!control request");
    const asked = await waitFor(async () =>
      h.graph.requests.find((r) => r.method === "POST" && r.path.endsWith("/me/request_thread_control")),
    );
    expect(asked.body).toMatchObject({ recipient: { id: OTHER } });
    await waitFor(async () => (rootText(root).includes("Control was requested") ? true : undefined));

    await deliver(
      item("messaging", OTHER, t0 + 5000, {
        pass_thread_control: { previous_owner_app_id: MANYCHAT, new_owner_app_id: OUR_APP },
      }),
    );
    await waitFor(async () => (threadText(root).includes("came back to threadbridge") ? true : undefined));
    await waitFor(
      async () => ((await h.stateOf(ts))?.delivery_state === "sent" ? true : undefined),
      45_000,
      "the held reply sent after the pass",
    );
    // A handover delivered late (older than the pass) does not take the conversation away again.
    await deliver(
      item("messaging", OTHER, t0 + 1000, {
        take_thread_control: { previous_owner_app_id: OUR_APP, new_owner_app_id: MANYCHAT },
      }),
    );
    const { rows } = await h.service.db.query<{ controlled_by: string | null }>(
      "SELECT controlled_by FROM conversations WHERE customer_id = $1",
      [OTHER],
    );
    expect(rows[0]?.controlled_by).toBeNull();
  }, 90_000);
});
