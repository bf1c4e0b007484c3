// The digest as Block Kit: what managers see, and Slack's limits kept however long the lists.

import type { types } from "@slack/bolt";
import { describe, expect, it } from "vitest";
import { renderDigest } from "../../../adapters/slack/render-digest.ts";
import { LIST_MAX } from "../../../src/digest/digest-view.ts";
import { busyDigest, crowdedDigest, emptyDigest } from "../../helpers/digest.ts";

const PERMALINK =
  "https://fake.slack.com/archives/C0MIRROR/p1732400001000100?thread_ts=1732400001.000100&cid=C0MIRROR";

type Block = types.KnownBlock & {
  text?: { type: string; text: string };
  fields?: { text: string }[];
  elements?: { text?: string }[];
};

function blocksOf(rendered: { blocks: types.KnownBlock[] }): Block[] {
  return rendered.blocks as Block[];
}

function sectionText(blocks: Block[], title: string): string {
  const found = blocks.find((b) => b.type === "section" && b.text?.text.startsWith(`*${title}`));
  if (!found?.text) throw new Error(`no section ${title}`);
  return found.text.text;
}

describe("a busy day", () => {
  const rendered = renderDigest(busyDigest(), new Map([[41, PERMALINK]]));
  const blocks = blocksOf(rendered);

  it("heads with the account and period, the token warning right under it", () => {
    expect(blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "📊 @brand · Tue 24 Nov 2026", emoji: true },
    });
    expect(blocks[1]?.elements?.[0]?.text).toBe("Daily digest · Europe/Berlin");
    expect(blocks[2]?.text?.text).toMatch(
      /^🔑 \*The Instagram token of @brand expires\* <!date\^1795824000\^\{date_short_pretty\} \{time\}\|2026-11-28 00:00 UTC>\. Reconnect it/,
    );
  });

  it("shows the main figures as fields, first responses within opening hours", () => {
    const fields = blocks.find((b) => b.fields)?.fields?.map((f) => f.text);
    expect(fields).toEqual([
      "*New conversations*\n23",
      "*Closed*\n17",
      "*Waiting for an answer now*\n4",
      "*New comment threads*\n6",
      "*First response (within opening hours)*\nmedian 11 min · 90% within 48 min\n31 answered · 3 not answered yet",
      "*Waiting past the 1 h SLA*\n3",
    ]);
  });

  it("links overdue conversations to their threads and mentions their assignees", () => {
    const overdue = sectionText(blocks, "⏰ Waiting past the 1 h SLA");
    const link = PERMALINK.replace(/&/g, "&amp;");
    expect(overdue.split("\n")).toEqual([
      "*⏰ Waiting past the 1 h SLA (counted in opening hours)*",
      `• <${link}|@late_bob> waiting 6 h · assigned to <@U0AGENT1>`,
      "• customer c42 waiting 1 h 35 min · nobody assigned",
      "… and 1 more",
    ]);
  });

  it("names agents (no daily pings), mentions moderators stored without a name, and escapes what people typed", () => {
    expect(sectionText(blocks, "💬 Replies by agent")).toBe(
      "*💬 Replies by agent*\n• Ana — 19 replies\n• Bo — 11 replies\n• Instagram app — 2 replies",
    );
    expect(sectionText(blocks, "🛡️ Moderation")).toContain(
      "• <@U0AGENT2> — 3 hidden, comments turned off on 1 post",
    );
    expect(sectionText(blocks, "🤖 Auto-replies by rule")).toContain(
      "• After hours &lt;auto&gt; *bold* — 4 auto-replies",
    );
    expect(sectionText(blocks, "⚠️ Replies that could not be delivered")).toContain(
      "• the customer's messaging window is closed — 2 replies",
    );
  });

  it("keeps the notification text to the headline, without mentions", () => {
    expect(rendered.text).toBe(
      "Digest for @brand, Tue 24 Nov 2026: 23 new conversations, 4 waiting, 3 past the SLA",
    );
  });

  it("names an overdue conversation without a link when its thread has no permalink", () => {
    const plain = blocksOf(renderDigest(busyDigest()));
    expect(sectionText(plain, "⏰")).toContain("• @late_bob waiting 6 h");
  });
});

describe("a day where nothing happened", () => {
  it("says so in one friendly line, with no figures", () => {
    const blocks = blocksOf(renderDigest(emptyDigest()));
    expect(blocks.map((b) => b.type)).toEqual(["header", "context", "section"]);
    expect(blocks[2]?.text?.text).toBe(
      "🌙 Nothing happened on @brand yesterday, and nobody is waiting for an answer.",
    );
  });

  it("keeps the token warning", () => {
    const blocks = blocksOf(renderDigest(emptyDigest({ tokenExpiresAt: new Date("2026-11-28T00:00:00Z") })));
    expect(blocks.map((b) => b.text?.text?.slice(0, 2))).toEqual(["📊", undefined, "🔑", "🌙"]);
  });
});

describe("Slack's limits", () => {
  it("hold with eighty agents, forty rules, thirty moderators and twenty-five failure reasons", () => {
    const permalinks = new Map(Array.from({ length: 10 }, (_, i) => [100 + i, `${PERMALINK}&n=${i}`]));
    const blocks = blocksOf(renderDigest(crowdedDigest("slack"), permalinks));
    expect(blocks.length).toBeLessThanOrEqual(50);
    for (const b of blocks) {
      if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(b.type === "header" ? 150 : 3000);
      if (b.fields) {
        expect(b.fields.length).toBeLessThanOrEqual(10);
        for (const f of b.fields) expect(f.text.length).toBeLessThanOrEqual(2000);
      }
    }
    const replies = sectionText(blocks, "💬").split("\n");
    expect(replies).toHaveLength(1 + LIST_MAX + 1);
    expect(replies.at(-1)).toBe("… and 70 more");
    // Ten overdue conversations listed of 57.
    expect(sectionText(blocks, "⏰").split("\n").at(-1)).toBe("… and 47 more");
    expect(sectionText(blocks, "⚠️").split("\n").at(-1)).toBe("… and 15 more");
  });
});
