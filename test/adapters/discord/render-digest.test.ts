// The digest as a Discord embed: what managers see, no pings, and the embed limits kept however
// long the lists.

import type { APIEmbed } from "discord.js";
import { describe, expect, it } from "vitest";
import { renderDigest } from "../../../adapters/discord/render-digest.ts";
import { LIST_MAX } from "../../../src/digest/digest-view.ts";
import { busyDigest, crowdedDigest, emptyDigest } from "../../helpers/digest.ts";

const CHART = { png: Buffer.from("png"), name: "digest-brand-2026-11-24.png", alt: "Messages per hour…" };

function embedOf(rendered: ReturnType<typeof renderDigest>): APIEmbed {
  const embed = rendered.message.embeds?.[0];
  if (!embed) throw new Error("no embed");
  return embed;
}

function field(embed: APIEmbed, start: string): string {
  const found = embed.fields?.find((f) => f.name.startsWith(start));
  if (!found) throw new Error(`no field ${start}`);
  return found.value;
}

describe("a busy day", () => {
  const rendered = renderDigest(busyDigest({}, "discord"), CHART);
  const embed = embedOf(rendered);

  it("titles the embed with the account and period, the period's kind in the footer", () => {
    expect(embed.title).toBe("📊 @brand · Tue 24 Nov 2026");
    expect(embed.footer?.text).toBe("Daily digest · Europe/Berlin");
    expect(embed.timestamp).toBe("2026-11-25T07:00:00.000Z");
    expect(rendered.postName).toBe("📊 @brand · Tue 24 Nov 2026");
    // Something needs attention (overdue conversations, the token): orange rather than green.
    expect(embed.color).toBe(0xf28e2b);
  });

  it("warns about the token in the description", () => {
    expect(embed.description).toMatch(
      /^🔑 \*\*The Instagram token of @brand expires\*\* <t:1795824000:f>\. Reconnect/,
    );
  });

  it("shows the main figures inline and each list as a full-width field", () => {
    const inline = embed.fields?.filter((f) => f.inline).map((f) => [f.name, f.value]);
    expect(inline).toEqual([
      ["New conversations", "23"],
      ["Closed", "17"],
      ["Waiting for an answer now", "4"],
      ["New comment threads", "6"],
      [
        "First response (within opening hours)",
        "median 11 min · 90% within 48 min\n31 answered · 3 not answered yet",
      ],
      ["Waiting past the 1 h SLA", "3"],
    ]);
    expect(embed.fields?.filter((f) => !f.inline).map((f) => f.name)).toEqual([
      "⏰ Waiting past the 1 h SLA (counted in opening hours)",
      "💬 Replies by agent",
      "🤖 Auto-replies by rule",
      "🛡️ Moderation",
      "🔐 Privacy",
      "⚠️ Replies that could not be delivered",
      "🐢 Held back by Instagram's rate limits",
    ]);
  });

  it("links overdue conversations to their threads, names agents, and pings nobody", () => {
    expect(field(embed, "⏰").split("\n")).toEqual([
      "• <#300000000000000041> waiting 6 h · assigned to <@500000000000000001>",
      "• customer c42 waiting 1 h 35 min · nobody assigned",
      "… and 1 more",
    ]);
    expect(field(embed, "💬")).toBe("• Ana — 19 replies\n• Bo — 11 replies\n• Instagram app — 2 replies");
    expect(rendered.message.allowed_mentions).toEqual({ parse: [] });
    expect(field(embed, "🤖")).toContain("• After hours \\<auto\\> \\*bold\\* — 4 auto-replies");
  });

  it("shows the chart inside the embed, with its alt text on the attachment", () => {
    expect(embed.image).toEqual({ url: "attachment://digest-brand-2026-11-24.png" });
    expect(rendered.message.attachments).toEqual([
      { id: "0", filename: "digest-brand-2026-11-24.png", description: "Messages per hour…" },
    ]);
  });

  it("mentions nobody from another platform: Slack agents go by their names", () => {
    const fromSlack = embedOf(renderDigest(busyDigest()));
    expect(field(fromSlack, "💬")).toBe("• Ana — 19 replies\n• Bo — 11 replies\n• Instagram app — 2 replies");
    expect(field(fromSlack, "⏰")).toContain("• @late\\_bob waiting 6 h · assigned to Ana");
  });
});

describe("a day where nothing happened", () => {
  it("says so in the description, grey, with no fields and no image", () => {
    const rendered = renderDigest(emptyDigest());
    const embed = embedOf(rendered);
    expect(embed.description).toBe(
      "🌙 Nothing happened on @brand yesterday, and nobody is waiting for an answer.",
    );
    expect(embed.fields).toEqual([]);
    expect(embed.color).toBe(0x95a5a6);
    expect(embed.image).toBeUndefined();
    expect(rendered.message.attachments).toBeUndefined();
  });
});

describe("Discord's embed limits", () => {
  it("hold with eighty agents, forty rules, thirty moderators and twenty-five failure reasons", () => {
    const embed = embedOf(renderDigest(crowdedDigest("discord"), CHART));
    const fields = embed.fields ?? [];
    expect(fields.length).toBeLessThanOrEqual(25);
    for (const f of fields) {
      expect(f.name.length).toBeLessThanOrEqual(256);
      expect(f.value.length).toBeGreaterThan(0);
      expect(f.value.length).toBeLessThanOrEqual(1024);
    }
    const total =
      (embed.title?.length ?? 0) +
      (embed.description?.length ?? 0) +
      (embed.footer?.text.length ?? 0) +
      fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(6000);
    const replies = field(embed, "💬").split("\n");
    expect(replies).toHaveLength(LIST_MAX + 1);
    expect(replies.at(-1)).toBe("… and 70 more");
    expect(field(embed, "⏰").split("\n").at(-1)).toBe("… and 47 more");
    // Long reasons: fewer than ten fit in a field's 1,024 characters, and the rest are counted.
    const failures = field(embed, "⚠️").split("\n");
    expect(failures.length).toBeLessThan(LIST_MAX);
    expect(failures.at(-1)).toBe(`… and ${25 - (failures.length - 1)} more`);
  });
});
