// Conversation timers on every platform (issue 21): a nudge in the thread before the 24-hour
// window closes on an unanswered customer, mentioning the assignee once there is one; `!followup`
// sends the agent's reply later through the normal outbound path, survives a restart and goes
// once, and is refused when it would fall outside the window; `!close 3s` closes later unless the
// customer writes first; auto-close after the customer's silence. Short durations stand in for
// hours; the assertions wait for what happens, never for a time.

import { expect, it } from "vitest";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import { now, saying, threadSays } from "./scenario.ts";

const HOUR = 3_600_000;

forEachPlatform("conversation timers", (h) => {
  const timers = (settings: Record<string, unknown>) =>
    h.service.db.query("UPDATE instagram_accounts SET settings = settings || $2::jsonb WHERE id = $1", [
      h.account,
      JSON.stringify({ timers: settings }),
    ]);

  async function customerWrites(customer: string, text: string, at = now()) {
    await postWebhook(h.url(), dmText(h.account, customer, `m_${customer}_${at}_${text.length}`, text, at));
    return h.threadOf(customer);
  }

  const statusOf = async (customer: string) =>
    (
      await h.service.db.query<{ status: string }>(
        "SELECT status FROM conversations WHERE account_id = $1 AND customer_id = $2",
        [h.account, customer],
      )
    ).rows[0]?.status;

  const fired = async (customer: string, timer: string) =>
    Number(
      (
        await h.service.db.query<{ n: string }>(
          `SELECT count(*) AS n FROM audit_log WHERE account_id = $1 AND action = 'timer_fired'
             AND target = $2 AND details->>'timer' = $3`,
          [h.account, `customer:${customer}`, timer],
        )
      ).rows[0]?.n ?? 0,
    );

  /** A conversation's `!close` or `!followup` timers still pending or running. */
  const pendingTimers = async (customer: string, kind: "close" | "followup") =>
    Number(
      (
        await h.service.db.query<{ n: string }>(
          `SELECT count(*) AS n FROM pgboss.job j JOIN conversations c
              ON j.singleton_key = 'close:' || c.id OR j.singleton_key LIKE 'followup:' || c.id || ':%'
            WHERE j.name = 'timer' AND j.state IN ('created', 'retry', 'active') AND j.singleton_key LIKE $3 || ':%'
              AND c.account_id = $1 AND c.customer_id = $2`,
          [h.account, customer, kind],
        )
      ).rows[0]?.n ?? 0,
    );

  /** What the bridge told `person` alone: privately where the platform can, else in the thread
   * addressed to them. */
  const toldOnly = (thread: string, words: string) =>
    h.toldPrivately(h.agent).find((t) => t.includes(words)) ??
    saying(h, thread, words).find((m) => m.fromBridge)?.text;

  const sentTexts = () =>
    h.sends().map((r) => (r.body as { message?: { text?: string } } | undefined)?.message?.text ?? "");

  it("nudges before the window closes on an unanswered customer, then mentions whoever took it", async () => {
    const customer = "1000000000003101";
    // Written 23h10m ago: the window closes in 50 minutes, inside the default 2 hours.
    const thread = await customerWrites(customer, "is anyone there?", now() - 23 * HOUR - 10 * 60_000);
    const first = await threadSays(h, thread, "the 24-hour window closes in");
    expect(first.text).toMatch(/waited 23h \d+m unanswered: the 24-hour window closes in \d+m/);
    // Audited once it is posted: the mark that keeps it to once, and what the digest counts.
    await waitFor(
      async () => ((await fired(customer, "nudge_window")) === 1 ? true : undefined),
      10_000,
      "audited",
    );

    await h.agentSays(thread, "!take");
    await threadSays(h, thread, `${h.agent.name} took this conversation`);
    // Another message, still unanswered: its own nudge, now for its assignee by mention.
    await customerWrites(customer, "hello??", now() - 23 * HOUR);
    const second = await waitFor(
      async () =>
        saying(h, thread, "the 24-hour window closes in").find((m) => m.text.includes("assigned to")),
      10_000,
      "the assignee's nudge",
    );
    expect(second.text).toContain(`(assigned to ${h.agent.name})`);
    expect(second.text).toContain(h.agent.id);
    await waitFor(
      async () => ((await fired(customer, "nudge_window")) === 2 ? true : undefined),
      10_000,
      "audited",
    );
    expect(saying(h, thread, "the 24-hour window closes in")).toHaveLength(2);
  });

  it("sends a follow-up later as the agent's reply, across a restart, once; refuses one past the window", async () => {
    const customer = "1000000000003201";
    const thread = await customerWrites(customer, "I'll check my order number");
    await h.posts(thread, 1);

    await h.agentSays(thread, "!followup 8d Any news on that order?");
    const refused = await waitFor(
      async () => toldOnly(thread, "outside the messaging window"),
      10_000,
      "the refusal",
    );
    expect(refused).toMatch(/A follow-up in 8d 0h would fall outside the messaging window/);
    expect(await pendingTimers(customer, "followup")).toBe(0);

    await h.agentSays(thread, "!followup 4s Any news on that order?");
    await threadSays(h, thread, "follow-up goes out in");
    // Pending across a restart: it lives in the queue, not in the process.
    await h.restart();
    await waitFor(
      async () => (sentTexts().includes("Any news on that order?") ? true : undefined),
      20_000,
      "the follow-up sent",
    );
    await waitFor(
      async () => ((await pendingTimers(customer, "followup")) === 0 ? true : undefined),
      10_000,
      "done",
    );
    expect(sentTexts().filter((t) => t === "Any news on that order?")).toHaveLength(1);
    expect(await fired(customer, "followup")).toBe(1);
    // Marked sent once Instagram's answer is stored, a moment after the call reached it.
    const rows = await waitFor(
      async () => {
        const { rows } = await h.service.db.query<{
          author_kind: string;
          delivery_state: string;
          details: unknown;
        }>(
          `SELECT m.author_kind, m.delivery_state, m.details FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE c.account_id = $1 AND c.customer_id = $2 AND m.text = 'Any news on that order?'`,
          [h.account, customer],
        );
        return rows.some((r) => r.delivery_state === "pending") ? undefined : rows;
      },
      10_000,
      "the follow-up marked sent",
    );
    expect(rows).toEqual([
      expect.objectContaining({
        author_kind: "agent",
        delivery_state: "sent",
        details: expect.objectContaining({ agentName: h.agent.name }),
      }),
    ]);
  });

  it("closes later as asked, unless the customer writes first", async () => {
    const kept = "1000000000003301";
    const keptThread = await customerWrites(kept, "question one");
    await h.posts(keptThread, 1);
    await h.agentSays(keptThread, "!close 5s");
    await threadSays(h, keptThread, "set this conversation to close in");
    await customerWrites(kept, "wait, one more thing");
    await h.posts(keptThread, 2);

    const closed = "1000000000003302";
    const thread = await customerWrites(closed, "thanks, that's all");
    await h.posts(thread, 1);
    await h.agentSays(thread, "!close 2s");
    await threadSays(h, thread, "As asked:");
    expect(await statusOf(closed)).toBe("closed");
    await waitFor(
      async () => ((await fired(closed, "close_later")) === 1 ? true : undefined),
      10_000,
      "audited",
    );

    // The first one's timer has run by now and found the customer had written.
    await waitFor(
      async () => ((await pendingTimers(kept, "close")) === 0 ? true : undefined),
      15_000,
      "kept's timer ran",
    );
    expect(await statusOf(kept)).toBe("open");
    expect(await fired(kept, "close_later")).toBe(0);
  });

  it("closes a conversation by itself after the customer's silence, once answered", async () => {
    await timers({ autoCloseAfterSeconds: 2 });
    const customer = "1000000000003401";
    const thread = await customerWrites(customer, "ok thanks");
    await h.posts(thread, 1);
    await h.agentSays(thread, "You're welcome!");
    await threadSays(h, thread, "without a word from the customer");
    expect(await statusOf(customer)).toBe("closed");
    await waitFor(
      async () => ((await fired(customer, "auto_close")) === 1 ? true : undefined),
      10_000,
      "audited",
    );
    await timers({ autoCloseAfterSeconds: 0 });
  });
});

forEachPlatform(
  "conversation timers with the Human Agent feature",
  (h) => {
    it("nudges before the 7-day human-agent limit, once the 24-hour window has passed", async () => {
      const customer = "1000000000003501";
      // Written 6 days 13 hours ago: only a person may answer, for 11 more hours (inside the
      // default 12).
      const at = now() - 6 * 24 * HOUR - 13 * HOUR;
      await postWebhook(h.url(), dmText(h.account, customer, `m_${customer}`, "still there?", at));
      const thread = await h.threadOf(customer);
      const nudge = await threadSays(h, thread, "before the 7-day limit");
      expect(nudge.text).toMatch(/waited 6d 13h unanswered: only 1[01]h \d+m left before the 7-day limit/);
      // The 24-hour window had passed before the message was even recorded: no nudge for it.
      expect(saying(h, thread, "the 24-hour window closes in")).toHaveLength(0);
    });
  },
  { env: { IG_HUMAN_AGENT: "true" } },
);
