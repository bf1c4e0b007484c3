// What a thread's root says about its customer, on every platform (issue 21): where the
// conversation came from (an ad here; every entry point in test/mirror/entry-*.test.ts), the
// customer's labels and notes, and their other threads with the account (their comment threads,
// their DM conversation): how many, when, and a link to each chat thread. A DM root lists the
// comment that came first; a later comment's root lists the DM conversation with its notes.

import { expect, it } from "vitest";
import { waitFor } from "../helpers/service.ts";
import { commentWebhook, postWebhook } from "../helpers/webhook.ts";
import { adMessage } from "../mirror/entry-fixtures.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import { now } from "./scenario.ts";

forEachPlatform("customer context on the root", (h) => {
  const rootShows = (thread: string, words: string) =>
    // A hang guard, not a speed check: a root edit can wait behind the mirror's queued work.
    waitFor(async () => (h.root(thread)?.shows.includes(words) ? true : undefined), 30_000, words);

  /** Whether the root links `thread` (Slack's permalink writes its ts without the dot). */
  const links = (root: string, thread: string) =>
    h.root(root)?.shows.includes(thread.replace(".", "")) ?? false;

  it("shows the entry point, labels, notes and the customer's other threads, linked", async () => {
    const customer = "1000000000004101";
    await postWebhook(
      h.url(),
      commentWebhook(h.account, {
        id: "17950000000004101",
        text: "How much is shipping?",
        from: { id: customer, username: "customer_4101" },
      }),
    );
    const comment = await h.commentThreadOf("17950000000004101");

    await postWebhook(h.url(), adMessage(h.account, customer, "m_ctx_4101", now()));
    const dm = await h.threadOf(customer);
    await h.posts(dm, 1);
    const root = h.root(dm)?.shows ?? "";
    expect(root).toContain("Opened from an ad");
    expect(root).toContain("Summer sale: 30% off");
    expect(root).toContain("🗂️ 1 other thread with this customer: comment");
    expect(links(dm, comment)).toBe(true);

    await h.agentSays(dm, "!label vip");
    await h.agentSays(dm, "!note Prefers email over DM");
    await rootShows(dm, "🏷️ vip");
    await rootShows(dm, "📝 Prefers email over DM");

    // A new comment thread of the same customer: their labels, notes and DM conversation.
    await postWebhook(
      h.url(),
      commentWebhook(h.account, {
        id: "17950000000004102",
        text: "Also, do you ship to Porto?",
        from: { id: customer, username: "customer_4101" },
      }),
    );
    const second = await h.commentThreadOf("17950000000004102");
    const secondRoot = h.root(second)?.shows ?? "";
    expect(secondRoot).toContain("🏷️ vip");
    expect(secondRoot).toContain("📝 Prefers email over DM");
    expect(secondRoot).toMatch(/🗂️ 2 other threads with this customer: DM conversation .*comment/);
    expect(links(second, dm)).toBe(true);
    expect(links(second, comment)).toBe(true);
  });
});
