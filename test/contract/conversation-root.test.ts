// A thread's root as the place to close, reopen, take and snooze its conversation, on every
// platform: the root's buttons and snooze menu, and ✅/👀 on the root. Each change is stored and
// audited, said once in the thread by the core (the person who acted is told nothing else), and
// re-renders the root; the same emoji elsewhere, or put there by the bridge, does nothing.
// Platform details (Discord's component limits and forum tags, `/ig close` in a Discord thread,
// Slack's word to someone whose ✅ did nothing): test/adapters/<name>/conversation-root.test.ts.

import { expect, it } from "vitest";
import { auditTrail, conversationState } from "../helpers/conversation-state.ts";
import { waitFor } from "../helpers/service.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import type { ChatHarness } from "./harness.ts";
import { now } from "./scenario.ts";

/** What the bridge said in the thread that holds `words`. */
const notices = (h: ChatHarness, thread: string, words: string) =>
  h.messages(thread).filter((m) => m.fromBridge && m.text.includes(words));

forEachPlatform("a thread's root", (h) => {
  const conversation = (customer: string) => conversationState(h.service.db, customer);
  const auditOf = (customer: string) => auditTrail(h.service.db, `customer:${customer}`);

  /** A customer's thread, once its root and first mirrored message are there. */
  async function openThread(customer: string): Promise<string> {
    await postWebhook(h.url(), dmText(h.account, customer, `m_${customer}`, "hello", now()));
    const thread = await h.threadOf(customer);
    await h.posts(thread, 1);
    return thread;
  }

  /** Waits until the thread shows `words` in a notice, then checks it was said once only. */
  async function saidOnce(thread: string, words: string): Promise<void> {
    await waitFor(async () => (notices(h, thread, words).length > 0 ? true : undefined), 10_000, words);
    expect(notices(h, thread, words)).toHaveLength(1);
  }

  const actions = (thread: string) => h.root(thread)?.actions ?? [];
  const rootOffers = (thread: string, action: string) =>
    waitFor(async () => (actions(thread).includes(action) ? true : undefined), 10_000, action);
  const rootShows = (thread: string, words: string) =>
    waitFor(async () => (h.root(thread)?.shows.includes(words) ? true : undefined), 10_000, words);

  it("closes, reopens, takes and snoozes from the root's buttons and menu, each said once and shown on the root", async () => {
    const customer = "1000000000000501";
    const thread = await openThread(customer);
    const root = h.root(thread)?.id ?? "";
    expect(actions(thread)).toEqual([
      "ig_conversation_close",
      "ig_conversation_take",
      "ig_conversation_snooze",
    ]);
    const toldAgent = h.toldPrivately(h.agent).length;

    await h.press(thread, root, "ig_conversation_close");
    await saidOnce(thread, `${h.agent.name} closed this conversation`);
    expect((await conversation(customer))?.status).toBe("closed");
    await rootOffers(thread, "ig_conversation_reopen");
    expect(actions(thread)).not.toContain("ig_conversation_close");
    expect(h.root(thread)?.shows).toContain("Status: closed");

    await h.press(thread, root, "ig_conversation_reopen");
    await saidOnce(thread, `${h.agent.name} reopened this conversation`);
    expect((await conversation(customer))?.status).toBe("open");
    await rootOffers(thread, "ig_conversation_close");

    await h.press(thread, root, "ig_conversation_take", { as: h.admin });
    await saidOnce(thread, `${h.admin.name} took this conversation`);
    expect((await conversation(customer))?.assignee).toBe(h.admin.name);
    await rootShows(thread, `assigned to ${h.admin.name}`);

    const asked = now();
    await h.press(thread, root, "ig_conversation_snooze", { pick: "240" });
    await saidOnce(thread, `${h.agent.name} snoozed this conversation until`);
    const snoozed = await conversation(customer);
    expect(snoozed?.status).toBe("snoozed");
    const until = new Date(snoozed?.snoozed_until ?? 0).getTime();
    expect(until).toBeGreaterThanOrEqual(asked + 240 * 60_000 - 1_000);
    expect(until).toBeLessThan(now() + 240 * 60_000 + 1_000);
    // A snoozed conversation can be picked up before it wakes.
    await rootOffers(thread, "ig_conversation_reopen");

    expect(h.toldPrivately(h.agent)).toHaveLength(toldAgent);
    expect(h.toldPrivately(h.admin)).toEqual([]);
    expect(await auditOf(customer)).toEqual([
      ["conversation_closed", h.key(h.agent)],
      ["conversation_open", h.key(h.agent)],
      ["conversation_assigned", h.key(h.admin)],
      ["conversation_snoozed", h.key(h.agent)],
    ]);
  });

  it("closes with ✅ and takes with 👀 on the root, and ignores them elsewhere and from the bridge", async () => {
    const customer = "1000000000000502";
    const thread = await openThread(customer);
    const root = h.root(thread)?.id ?? "";
    const [mirrored] = await h.posts(thread, 1);
    const toldAgent = h.toldPrivately(h.agent).length;

    // The bridge's own ✅ on the root (a delivery mark, say) is not an agent's decision.
    await h.react(thread, root, "✅", "bridge");
    // The customer's mirrored message is the bridge's too, but not the root: nothing happens.
    await h.react(thread, mirrored?.id ?? "", "✅");
    // Not one of the root's emoji.
    await h.react(thread, root, "🎉");

    await h.react(thread, root, "✔️");
    await saidOnce(thread, `${h.agent.name} closed this conversation`);
    expect((await conversation(customer))?.status).toBe("closed");
    await rootOffers(thread, "ig_conversation_reopen");

    await h.react(thread, root, "👀", h.admin);
    await saidOnce(thread, `${h.admin.name} took this conversation`);
    expect((await conversation(customer))?.assignee).toBe(h.admin.name);

    // Whatever the ignored reactions were going to do has long been done.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(notices(h, thread, "closed this conversation")).toHaveLength(1);
    expect(await auditOf(customer)).toEqual([
      ["conversation_closed", h.key(h.agent)],
      ["conversation_assigned", h.key(h.admin)],
    ]);
    expect(h.toldPrivately(h.agent)).toHaveLength(toldAgent);
  });

  it("closes and takes a comment thread from its root, next to the moderation buttons", async () => {
    const comment = "17850000000000501";
    await postWebhook(
      h.url(),
      commentWebhook(h.account, {
        id: comment,
        text: "love it",
        from: { id: "1234567890120501", username: "fan" },
      }),
    );
    const thread = await h.commentThreadOf(comment);
    await rootOffers(thread, "ig_conversation_close");
    expect(actions(thread)).toContain("ig_comment_hide");
    const root = h.root(thread)?.id ?? "";

    await h.press(thread, root, "ig_conversation_close");
    await saidOnce(thread, `${h.agent.name} closed this conversation`);
    await rootOffers(thread, "ig_conversation_reopen");
    await h.react(thread, root, "👀");
    await saidOnce(thread, `${h.agent.name} took this conversation`);
    await rootShows(thread, `Status: closed · assigned to ${h.agent.name}`);
    const { rows } = await h.service.db.query<{ status: string; assignee: string | null }>(
      "SELECT status, assignee FROM comment_threads WHERE root_comment_id = $1",
      [comment],
    );
    expect(rows[0]).toEqual({ status: "closed", assignee: h.agent.name });
    expect(await auditTrail(h.service.db, `comment:${comment}`)).toEqual([
      ["conversation_closed", h.key(h.agent)],
      ["conversation_assigned", h.key(h.agent)],
    ]);
  });
});
