// Richer replies on every platform (issue 22): an agent answers one mirrored customer message with
// the platform's own gesture (Slack's quote shortcut, a Discord reply, the memory and web inboxes'
// quote) and the reply reaches the Send API as a reply to that message's mid (the Message Replies
// API), marked sent in the thread; answering something that is not on Instagram sends the reply
// unquoted and tells the agent alone.

import { expect, it } from "vitest";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import { now } from "./scenario.ts";

interface SendBody {
  recipient: { id?: string };
  reply_to?: { mid: string };
  message?: { text?: string };
}

forEachPlatform("richer replies", (h) => {
  const sent = (text: string) =>
    h
      .sends()
      .map((r) => r.body as SendBody)
      .filter((b) => b.message?.text === text);

  it("quotes a customer's message: the Send API gets reply_to with its mid", async ({ skip }) => {
    if (h.cannotQuote) skip(h.cannotQuote);
    const customer = "1000000000000701";
    const t0 = now();
    await postWebhook(h.url(), dmText(h.account, customer, "m_q_1", "Is the blue one in stock?", t0));
    await postWebhook(h.url(), dmText(h.account, customer, "m_q_2", "And the red one?", t0 + 1));
    const thread = await h.threadOf(customer);
    const [blue] = await h.posts(thread, 2);

    const reply = await h.agentSays(thread, "Yes, the blue one is", { quoting: blue?.id ?? "" });
    await h.settled(reply, "sent");
    // The mark follows the stored state.
    await waitFor(async () => (h.marked(thread, reply, "sent") ? true : undefined), 10_000, "the sent mark");
    expect(sent("Yes, the blue one is")).toEqual([
      expect.objectContaining({ recipient: { id: customer }, reply_to: { mid: "m_q_1" } }),
    ]);
  });

  it("sends an answer to something not on Instagram unquoted, and says so to the agent alone", async ({
    skip,
  }) => {
    if (h.cannotQuote) skip(h.cannotQuote);
    const customer = "1000000000000702";
    await postWebhook(h.url(), dmText(h.account, customer, "m_q_3", "hello", now()));
    const thread = await h.threadOf(customer);
    await h.posts(thread, 1);
    const note = await h.agentSays(thread, "// checking stock");
    const reply = await h.agentSays(thread, "We have it", { quoting: note });
    await h.settled(reply, "sent");
    const [body] = sent("We have it");
    expect(body?.reply_to).toBeUndefined();
    expect(h.toldPrivately(h.agent).join("\n")).toContain("Sent without a quote");
  });
});
