// Conversation Routing on every platform (issue 22): when another app takes the conversation, the
// root names it and offers Take control, the change is said in the thread, a standby message is
// mirrored with its mark, an agent's reply is held (never sent over the other app), and pressing
// Take control calls Instagram's take_thread_control and lets the reply go. The Slack-only test
// (test/conversations/thread-control.test.ts) covers passes back and late handovers.

import { expect, it } from "vitest";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import { now } from "./scenario.ts";

const OUR_APP = "1111111111111111";
const MANYCHAT = "2222222222222222";

forEachPlatform(
  "thread control",
  (h) => {
    function item(key: "messaging" | "standby", customer: string, at: number, body: Record<string, unknown>) {
      return {
        object: "instagram",
        entry: [
          {
            id: h.account,
            time: at,
            [key]: [{ sender: { id: customer }, recipient: { id: h.account }, timestamp: at, ...body }],
          },
        ],
      };
    }

    it("shows who holds the conversation, holds replies, and takes control from the root", async () => {
      const customer = "1000000000000981";
      const t0 = now() - 60_000;
      await postWebhook(h.url(), dmText(h.account, customer, "m_tc_1", "hello", t0));
      const thread = await h.threadOf(customer);
      await h.posts(thread, 1);
      await postWebhook(
        h.url(),
        item("messaging", customer, t0 + 1000, {
          take_thread_control: { previous_owner_app_id: OUR_APP, new_owner_app_id: MANYCHAT },
        }),
      );
      await waitFor(
        async () => (h.root(thread)?.shows.includes("ManyChat holds this conversation") ? true : undefined),
        10_000,
        "the root naming ManyChat",
      );
      expect(h.root(thread)?.actions).toContain("ig_conversation_take_control");
      await h.posts(thread, 2);
      expect(h.messages(thread).some((m) => m.shows.includes("ManyChat took control"))).toBe(true);

      await postWebhook(
        h.url(),
        item("standby", customer, t0 + 2000, { message: { mid: "m_tc_2", text: "still there?" } }),
      );
      const posts = await h.posts(thread, 3);
      expect(posts.at(-1)?.shows).toContain("received on standby");

      const reply = await h.agentSays(thread, "One moment please");
      expect((await h.settled(reply, "held")).delivery_error).toContain("ManyChat holds this conversation");
      expect(h.sends()).toHaveLength(0);

      await h.press(thread, h.root(thread)?.id ?? "", "ig_conversation_take_control");
      const take = await waitFor(async () =>
        h.graph.requests.find((r) => r.method === "POST" && r.path.endsWith("/me/take_thread_control")),
      );
      expect(take.body).toMatchObject({ recipient: { id: customer } });
      await waitFor(
        async () => ((await h.stateOf(reply))?.delivery_state === "sent" ? true : undefined),
        45_000,
        "the reply sent once control was taken",
      );
      expect(h.sends()).toHaveLength(1);
    }, 90_000);
  },
  { env: { IG_APP_ID: OUR_APP, IG_APP_NAMES: `${MANYCHAT}=ManyChat` } },
);
