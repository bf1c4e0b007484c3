// Who owns a conversation and where it stands, on every platform (issue 21): new conversations
// assigned in turn among the account's pool (a group the platform resolves), skipping whoever said
// `/ig away` until `/ig back`, the turn kept across a restart; the first agent to reply takes an
// unassigned conversation and anyone else replying is told, only them, whose it is, their reply
// sent all the same; the queue state on the root; `/ig queue` for the asker alone, oldest first;
// a comment thread owned like a conversation and listed in the queue with them.

import { expect, it } from "vitest";
import { waitFor } from "../helpers/service.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import type { ChatPerson } from "./harness.ts";
import { now } from "./scenario.ts";

forEachPlatform("ownership and the queue", (h) => {
  const ownership = (settings: Record<string, unknown>) =>
    h.service.db.query("UPDATE instagram_accounts SET settings = settings || $2::jsonb WHERE id = $1", [
      h.account,
      JSON.stringify({ ownership: settings }),
    ]);

  const assigneeOf = async (customer: string) => {
    const { rows } = await h.service.db.query<{ assignee: string | null; assignee_ref: string | null }>(
      "SELECT assignee, assignee_ref FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [h.account, customer],
    );
    return rows[0];
  };

  /** A customer writes; resolves with their thread once its root and the message are there. */
  async function customerWrites(customer: string, text = "hello", mid = `m_${customer}_${now()}`) {
    await postWebhook(h.url(), dmText(h.account, customer, mid, text, now()));
    const thread = await h.threadOf(customer);
    await h.posts(thread, 1);
    return thread;
  }

  const rootShows = (thread: string, words: string) =>
    // A hang guard, not a speed check: on a loaded machine a root edit (and a forum tag change) can
    // take seconds behind the mirror work queued before it.
    waitFor(async () => (h.root(thread)?.shows.includes(words) ? true : undefined), 30_000, words);

  const sentTexts = () =>
    h.sends().map((r) => (r.body as { message?: { text?: string } } | undefined)?.message?.text ?? "");

  const whoOf = (person: ChatPerson) => ({ assignee: person.name, assignee_ref: person.id });

  /** A customer as a queue line names them: by name once their profile is read, by @username when
   * only that is known yet, by their id until then (`id`: the id's last four digits). */
  const shows = (id: string) => new RegExp(`(?:Customer |@customer_|\\b100000000000)${id}\\b`);

  it("assigns new conversations in turn among the pool, skips who is away until back, keeps the turn across a restart", async (ctx) => {
    if (h.pool === undefined) return ctx.skip("the platform has no groups to draw a pool from");
    await ownership({ mode: "round-robin", pool: h.pool });
    const first = "1000000000002101";
    const second = "1000000000002102";
    const t1 = await customerWrites(first);
    const t2 = await customerWrites(second);
    const a1 = await assigneeOf(first);
    const a2 = await assigneeOf(second);
    // Both people of the pool, one each: which comes first is the order of their ids.
    const people = [h.agent, h.admin];
    expect([a1, a2]).toEqual(
      expect.arrayContaining([whoOf(h.agent), whoOf(h.admin)].map((w) => expect.objectContaining(w))),
    );
    await rootShows(t1, `assigned to ${a1?.assignee}`);
    await rootShows(t2, `assigned to ${a2?.assignee}`);

    // The turn is in the database: after a restart it goes on where it was.
    await h.restart();
    const third = "1000000000002103";
    await customerWrites(third);
    expect(await assigneeOf(third)).toEqual(a1);

    // Whoever said /ig away is skipped, however the turn falls, until they are back.
    const away = people.find((p) => p.id === a2?.assignee_ref) as ChatPerson;
    const other = people.find((p) => p !== away) as ChatPerson;
    expect((await h.command("away", {}, { as: away })).text).toMatch(/You are away/);
    await customerWrites("1000000000002104");
    await customerWrites("1000000000002105");
    expect(await assigneeOf("1000000000002104")).toEqual(whoOf(other));
    expect(await assigneeOf("1000000000002105")).toEqual(whoOf(other));
    expect((await h.command("back", {}, { as: away })).text).toMatch(/Welcome back/);
    await customerWrites("1000000000002106");
    expect(await assigneeOf("1000000000002106")).toEqual(whoOf(away));

    // /ig queue mine: the asker's own, oldest first, each with its state and the time left.
    const owners: Record<string, string | null | undefined> = {
      "2101": a1?.assignee_ref,
      "2102": a2?.assignee_ref,
      "2103": a1?.assignee_ref,
      "2104": other.id,
      "2105": other.id,
    };
    const mine = (await h.command("queue", { which: "mine" }, { as: other })).text;
    const lines = mine.split("\n").filter((l) => /^\d+\. /.test(l));
    expect(lines.map((l) => shows("(\\d{4})").exec(l)?.[1])).toEqual(
      Object.keys(owners).filter((c) => owners[c] === other.id),
    );
    for (const line of lines) expect(line).toMatch(/ · new · (\d+h )?\d+m left$/);
    // Someone else's queue is not theirs.
    const theirs = (await h.command("queue", { which: "mine" }, { as: away })).text;
    expect(theirs).toMatch(shows("2106"));
    expect(theirs).not.toMatch(shows("2104"));
    await ownership({ mode: "off" });
  });

  it("gives an unassigned conversation to the first agent who replies; someone else's reply goes and they alone are told whose it is", async () => {
    await ownership({ mode: "manual" });
    const customer = "1000000000002201";
    const thread = await customerWrites(customer);
    expect((await assigneeOf(customer))?.assignee).toBeNull();
    await rootShows(thread, "New");

    await h.agentSays(thread, "Hi! Let me check.");
    await waitFor(async () => (await assigneeOf(customer))?.assignee ?? undefined, 10_000, "taken");
    expect(await assigneeOf(customer)).toEqual(whoOf(h.agent));
    await rootShows(thread, `assigned to ${h.agent.name}`);
    // Once delivered, the customer is the one to answer.
    await rootShows(thread, "Waiting on the customer");

    const toldAdmin = h.toldPrivately(h.admin).length;
    const toldAgent = h.toldPrivately(h.agent).length;
    await h.agentSays(thread, "Adding a detail.", { as: h.admin });
    await waitFor(async () => (sentTexts().includes("Adding a detail.") ? true : undefined), 10_000, "sent");
    const told = await waitFor(
      async () =>
        h
          .toldPrivately(h.admin)
          .slice(toldAdmin)
          .find((t) => t.includes("owns this conversation")),
      10_000,
      "told who owns it",
    );
    expect(told).toContain(`Your reply goes to the customer. ${h.agent.name} owns this conversation.`);
    expect(await assigneeOf(customer)).toEqual(whoOf(h.agent));
    // The thread at large and the owner hear nothing of it.
    expect(h.messages(thread).some((m) => m.fromBridge && m.text.includes("owns this conversation"))).toBe(
      false,
    );
    expect(
      h
        .toldPrivately(h.agent)
        .slice(toldAgent)
        .some((t) => t.includes("owns this conversation")),
    ).toBe(false);

    // A saved reply is a reply like any other.
    await h.service.db.query(
      "INSERT INTO snippets (account_id, name, text) VALUES ($1, 'thanks', 'Thank you!')",
      [h.account],
    );
    const toldBefore = h.toldPrivately(h.admin).filter((t) => t.includes("owns this conversation")).length;
    await h.agentSays(thread, "!!thanks", { as: h.admin });
    await waitFor(
      async () => (sentTexts().includes("Thank you!") ? true : undefined),
      10_000,
      "saved reply sent",
    );
    await waitFor(
      async () =>
        h.toldPrivately(h.admin).filter((t) => t.includes("owns this conversation")).length > toldBefore
          ? true
          : undefined,
      10_000,
      "told again",
    );

    // The owner's own replies are nobody's business either.
    await h.agentSays(thread, "All sorted.");
    await waitFor(async () => (sentTexts().includes("All sorted.") ? true : undefined), 10_000, "sent");
    expect(
      h
        .toldPrivately(h.agent)
        .slice(toldAgent)
        .some((t) => t.includes("owns this conversation")),
    ).toBe(false);

    // The customer writes again: waiting on us.
    await postWebhook(h.url(), dmText(h.account, customer, `m_${customer}_again`, "thanks, one more", now()));
    await rootShows(thread, "Waiting on us");
    await ownership({ mode: "off" });
  });

  it("answers /ig queue to the asker: unassigned and all, oldest first", async () => {
    await customerWrites("1000000000002301");
    const unassigned = (await h.command("queue", { which: "unassigned" })).text;
    expect(unassigned).toMatch(/^Conversations unassigned, oldest first:/);
    // By name once the profile is read, by @username or id until then (as in the first scenario).
    expect(unassigned).toMatch(shows("2301"));
    expect(unassigned).not.toMatch(shows("2101"));
    const all = (await h.command("queue", { which: "all" })).text;
    const order = all
      .split("\n")
      .map((l) => shows("(\\d{4})").exec(l)?.[1])
      .filter((c): c is string => c !== undefined);
    // 2101 and 2106 wrote first, in the pool scenario (not run where the platform has no groups),
    // then 2201, then 2301.
    const before = h.pool === undefined ? ["2201"] : ["2101", "2106", "2201"];
    const positions = [...before, "2301"].map((c) => order.indexOf(c));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(all).toMatch(new RegExp(`${shows("2201").source} · waiting on us · ${h.agent.name} · `));
    expect(all).toMatch(new RegExp(`${shows("2301").source} · new · unassigned · `));
    // A channel that mirrors no account has no queue.
    expect((await h.command("queue", { which: "mine" }, { in: h.otherChannel })).text).toMatch(
      /mirrors no Instagram account/,
    );
  });

  it("owns a comment thread like a conversation: the first reply takes it, someone else is told", async () => {
    await ownership({ mode: "manual" });
    const root = "17950000000002401";
    await postWebhook(
      h.url(),
      commentWebhook(h.account, {
        id: root,
        text: "Is this in stock?",
        from: { id: "1000000000002401", username: "stock_q" },
      }),
    );
    const thread = await h.commentThreadOf(root);
    const ownerOf = async () =>
      (
        await h.service.db.query<{ assignee: string | null; assignee_ref: string | null }>(
          "SELECT assignee, assignee_ref FROM comment_threads WHERE account_id = $1 AND root_comment_id = $2",
          [h.account, root],
        )
      ).rows[0];
    expect((await ownerOf())?.assignee).toBeNull();
    // In the queue beside the conversations, with the private reply's clock.
    expect((await h.command("queue", { which: "unassigned" })).text).toMatch(
      /\d+\. @stock_q \(comment\) · new · unassigned · 6d 23h left for a private reply/,
    );

    await h.agentSays(thread, "Yes, all sizes!");
    await waitFor(async () => (await ownerOf())?.assignee ?? undefined, 10_000, "taken");
    expect(await ownerOf()).toEqual(whoOf(h.agent));
    await rootShows(thread, `assigned to ${h.agent.name}`);
    const mine = (await h.command("queue", { which: "mine" })).text;
    expect(mine).toMatch(/\d+\. @stock_q \(comment\) · /);
    expect((await h.command("queue", { which: "unassigned" })).text).not.toContain("@stock_q");

    const toldAdmin = h.toldPrivately(h.admin).length;
    await h.agentSays(thread, "And free shipping this week.", { as: h.admin });
    const told = await waitFor(
      async () =>
        h
          .toldPrivately(h.admin)
          .slice(toldAdmin)
          .find((t) => t.includes("owns this conversation")),
      10_000,
      "told who owns it",
    );
    expect(told).toContain(`${h.agent.name} owns this conversation.`);
    expect(await ownerOf()).toEqual(whoOf(h.agent));
    await ownership({ mode: "off" });
  });
});
