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
    // Told once the reply is stored; on some platforms the note reaches the agent a moment later.
    await waitFor(
      async () => (h.toldPrivately(h.agent).join("\n").includes("Sent without a quote") ? true : undefined),
      10_000,
      "the note to the agent",
    );
  });

  it("marks the customer's messages seen when an agent takes the conversation, inside the window only", async () => {
    const customer = "1000000000000703";
    await postWebhook(h.url(), dmText(h.account, customer, "m_seen_1", "anyone there?", now()));
    const thread = await h.threadOf(customer);
    await h.posts(thread, 1);
    const root = h.messages(thread)[0]?.id ?? "";
    await h.press(thread, root, "ig_conversation_take");
    const seen = await waitFor(
      async () =>
        h
          .sends()
          .map((r) => r.body as { recipient: { id?: string }; sender_action?: string; message?: unknown })
          .find((b) => b.recipient.id === customer && b.sender_action === "mark_seen"),
      10_000,
      "mark_seen",
    );
    // Only recipient and sender_action (reference 2.5).
    expect(seen).toEqual({ recipient: { id: customer }, sender_action: "mark_seen" });

    // A conversation whose window closed shows the customer nothing.
    const late = "1000000000000704";
    await postWebhook(h.url(), dmText(h.account, late, "m_seen_2", "hello?", now() - 3 * 24 * 3_600_000));
    const lateThread = await h.threadOf(late);
    await h.posts(lateThread, 1);
    await h.press(lateThread, h.messages(lateThread)[0]?.id ?? "", "ig_conversation_take");
    const probe = await h.agentSays(lateThread, "// after the take");
    await h.posts(lateThread, 2);
    expect(probe).toBeTruthy();
    expect(h.sends().filter((r) => (r.body as { recipient: { id?: string } }).recipient.id === late)).toEqual(
      [],
    );
  });

  it("shows the customer a typing indicator while an agent types, where the platform tells", async ({
    skip,
  }) => {
    if (!h.agentTypes) skip(`${h.platform} does not tell the bridge that someone is typing`);
    const customer = "1000000000000705";
    await postWebhook(h.url(), dmText(h.account, customer, "m_typing_1", "hi", now()));
    const thread = await h.threadOf(customer);
    await h.posts(thread, 1);
    await h.agentTypes?.(thread);
    const typing = await waitFor(
      async () =>
        h
          .sends()
          .map((r) => r.body as { recipient: { id?: string }; sender_action?: string })
          .find((b) => b.recipient.id === customer && b.sender_action === "typing_on"),
      10_000,
      "typing_on",
    );
    expect(typing).toEqual({ recipient: { id: customer }, sender_action: "typing_on" });
  });

  it("marks the customer's messages seen when an agent opens the conversation, where the platform tells", async ({
    skip,
  }) => {
    if (!h.agentOpens) skip(`${h.platform} does not tell the bridge that someone opened a thread`);
    const customer = "1000000000000706";
    await postWebhook(h.url(), dmText(h.account, customer, "m_open_1", "hi", now()));
    const thread = await h.threadOf(customer);
    await h.posts(thread, 1);
    await h.agentOpens?.(thread);
    await waitFor(
      async () =>
        h
          .sends()
          .map((r) => r.body as { recipient: { id?: string }; sender_action?: string })
          .find((b) => b.recipient.id === customer && b.sender_action === "mark_seen"),
      10_000,
      "mark_seen",
    );
  });
});
