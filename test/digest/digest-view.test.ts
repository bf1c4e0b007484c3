// The digest's wording, shared by Slack and Discord: what it says, what it leaves out, and how
// long lists are cut.

import { describe, expect, it } from "vitest";
import {
  type DigestMarkup,
  digestView,
  fitLines,
  formatDuration,
  LIST_MAX,
} from "../../src/digest/digest-view.ts";
import { previousPeriod, rollingPeriod } from "../../src/digest/period.ts";
import { busyDigest, DIGEST_NOW, emptyDigest } from "../helpers/digest.ts";

/** Markup that shows what each hook was given. */
const MARKUP: DigestMarkup = {
  text: (t) => t,
  bold: (m) => `**${m}**`,
  code: (t) => `\`${t}\``,
  person: (key) => (key.startsWith("slack:") ? `@<${key.slice(6)}>` : undefined),
  thread: (c, label) => (c.thread ? `[${label}](thread ${c.thread.ref.thread})` : undefined),
  date: (at) => `<${at.toISOString()}>`,
};

describe("durations", () => {
  it("read in the largest sensible units", () => {
    expect(
      [45_000, 10 * 60_000, 60 * 60_000, 125 * 60_000, 24 * 3_600_000, 50 * 3_600_000].map(formatDuration),
    ).toEqual(["45 s", "10 min", "1 h", "2 h 5 min", "24 h", "2 d 2 h"]);
  });
});

describe("the figures and sections of a busy day", () => {
  const view = digestView(busyDigest(), MARKUP);

  it("heads with the account and period, and warns about the token", () => {
    expect(view.title).toBe("📊 @brand · Tue 24 Nov 2026");
    expect(view.about).toBe("Daily digest · Europe/Berlin");
    expect(view.warning).toBe(
      "🔑 **The Instagram token of @brand expires** <2026-11-28T00:00:00.000Z>. Reconnect it before then, or replies " +
        "will be held: an operator runs `threadbridge accounts add --ig-user-id 17841400000000081 …` with a new token.",
    );
    expect(view.summary).toBe(
      "Digest for @brand, Tue 24 Nov 2026: 23 new conversations, 4 waiting, 3 past the SLA",
    );
    expect(view.nothing).toBeUndefined();
  });

  it("gives the main figures, first responses within opening hours", () => {
    expect(view.figures).toEqual([
      { name: "New conversations", value: "23" },
      { name: "Closed", value: "17" },
      { name: "Waiting for an answer now", value: "4" },
      { name: "New comment threads", value: "6" },
      {
        name: "First response (within opening hours)",
        value: "median 11 min · 90% within 48 min\n31 answered · 3 not answered yet",
      },
      { name: "Waiting past the 1 h SLA", value: "3" },
    ]);
  });

  it("lists overdue conversations with their threads, and counts those not listed", () => {
    const overdue = view.sections[0];
    expect(overdue?.title).toBe("⏰ Waiting past the 1 h SLA (counted in opening hours)");
    expect(overdue?.lines).toEqual([
      "• [@late_bob](thread 1732400001.000100) waiting 6 h · assigned to @<U0AGENT1>",
      "• customer c42 waiting 1 h 35 min · nobody assigned",
    ]);
    expect(overdue?.unlisted).toBe(1);
  });

  it("names people by their stored name (pinging nobody), by mention only when no name is stored", () => {
    const byTitle = Object.fromEntries(view.sections.map((s) => [s.title, s.lines]));
    expect(byTitle["💬 Replies by agent"]).toEqual([
      "• Ana — 19 replies",
      "• Bo — 11 replies",
      "• Instagram app — 2 replies",
    ]);
    expect(byTitle["🛡️ Moderation"]).toEqual([
      "• @<U0AGENT2> — 3 hidden, comments turned off on 1 post",
      "• @<U0AGENT1> — 1 deleted",
    ]);
    expect(byTitle["🔐 Privacy"]).toEqual([
      "• 2 customers opted out of automated messages",
      "• 1 customer opted in to automated messages",
      "• 1 data export (/ig export)",
      "• 1 customer erased (/ig forget)",
      "• 1 data deletion request from Meta",
    ]);
    expect(byTitle["🐢 Held back by Instagram's rate limits"]).toEqual(["• text replies — 7 times"]);
  });

  it("counts the timers that fired, in words", () => {
    const timed = digestView(
      busyDigest({
        timersFired: [
          { key: "nudge_window", count: 3 },
          { key: "followup", count: 1 },
        ],
      }),
      MARKUP,
    );
    const byTitle = Object.fromEntries(timed.sections.map((s) => [s.title, s.lines]));
    expect(byTitle["⏰ Timers that fired"]).toEqual([
      "• nudges before the 24-hour window closed — 3 times",
      "• follow-ups sent (!followup) — 1 time",
    ]);
  });

  it("leaves out sections with nothing to say", () => {
    const quiet = digestView(
      busyDigest({
        autoRepliesByRule: [],
        moderationByModerator: [],
        deliveryFailures: [],
        rateLimitDeferrals: [],
        consent: { granted: 0, revoked: 0 },
        dataRequests: { exports: 0, erasures: 0, deletionRequested: 0, deletionCompleted: 0 },
        sla: { minutes: 60, overdue: [], total: 0 },
        tokenExpiresAt: undefined,
      }),
      MARKUP,
    );
    expect(quiet.sections.map((s) => s.title)).toEqual(["💬 Replies by agent"]);
    expect(quiet.figures.at(-1)).toEqual({ name: "Waiting past the 1 h SLA", value: "none ✅" });
    expect(quiet.warning).toBeUndefined();
  });

  it("drops the SLA when it is turned off, and says so when nobody asked anything", () => {
    const off = digestView(
      busyDigest({
        sla: { minutes: 0, overdue: [], total: 0 },
        firstResponse: { answered: 0, unanswered: 0, businessHours: false },
      }),
      MARKUP,
    );
    expect(off.figures.map((f) => f.name)).not.toContain("Waiting past the 0 s SLA");
    expect(off.figures.some((f) => f.name.includes("SLA"))).toBe(false);
    expect(off.sections.some((s) => s.title.includes("SLA"))).toBe(false);
    expect(off.figures.find((f) => f.name === "First response")?.value).toBe("no customer questions");
  });
});

describe("a digest where nothing happened", () => {
  it("says so for yesterday, last week, a rolling span and an older day", () => {
    expect(digestView(emptyDigest(), MARKUP)).toMatchObject({
      nothing: "🌙 Nothing happened on @brand yesterday, and nobody is waiting for an answer.",
      figures: [],
      sections: [],
    });
    const week = previousPeriod("weekly", "Europe/Berlin", DIGEST_NOW);
    expect(digestView(emptyDigest({ period: week }), MARKUP).nothing).toContain("on @brand last week,");
    const rolling = rollingPeriod("7d", "Europe/Berlin", DIGEST_NOW);
    expect(digestView(emptyDigest({ period: rolling }), MARKUP)).toMatchObject({
      nothing: expect.stringContaining("on @brand in the last 7 days,"),
      about: "Digest · Europe/Berlin",
    });
    const later = new Date(DIGEST_NOW.getTime() + 2 * 86_400_000);
    expect(digestView(emptyDigest({ generatedAt: later }), MARKUP).nothing).toContain(
      "on @brand on Tue 24 Nov 2026,",
    );
  });

  it("still warns about the token", () => {
    const view = digestView(emptyDigest({ tokenExpiresAt: new Date("2026-11-28T00:00:00Z") }), MARKUP);
    expect(view.warning).toContain("expires");
  });
});

describe("fitting a list", () => {
  const lines = Array.from({ length: 30 }, (_, i) => `• line ${i}`);

  it("keeps a short list whole", () => {
    expect(fitLines(lines.slice(0, 3), 1000)).toEqual(lines.slice(0, 3));
    expect(fitLines(lines.slice(0, 3), 1000, 4)).toEqual([...lines.slice(0, 3), "… and 4 more"]);
  });

  it("shows at most LIST_MAX items and counts the rest with the unlisted", () => {
    const fitted = fitLines(lines, 10_000, 5);
    expect(fitted).toHaveLength(LIST_MAX + 1);
    expect(fitted.at(-1)).toBe("… and 25 more");
  });

  it("stays within the budget, the last line included", () => {
    for (const budget of [30, 45, 60, 100]) {
      const fitted = fitLines(lines, budget);
      expect(fitted.join("\n").length).toBeLessThanOrEqual(budget);
      const shown = fitted.length - 1;
      expect(fitted.at(-1)).toBe(`… and ${30 - shown} more`);
    }
  });
});
