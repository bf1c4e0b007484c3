// Windows by entry point (platform-changes-2026.md): an ad-opened conversation keeps its standard
// window up to 7 days; every other entry point keeps 24 h; HUMAN_AGENT still reaches 7 days after
// the customer's last message. And how the entry is read from the first customer event.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { entryOf } from "../../src/instagram/entry-points.ts";
import type { DmMessage, DmReferral } from "../../src/instagram/events.ts";
import { parseWebhook } from "../../src/instagram/webhook.ts";
import { ENTRY_POINTS, sendPermission, windowState } from "../../src/instagram/windows.ts";

const H = 3_600_000;
const D = 24 * H;
const t0 = new Date("2026-11-02T10:00:00Z");
const at = (ms: number) => new Date(t0.getTime() + ms);

describe("windowState by entry point", () => {
  it("keeps an ad-opened conversation in its standard window for 7 days from the ad message", () => {
    const entry = { point: "ad" as const, at: t0 };
    const day3 = windowState(t0, at(3 * D), false, entry);
    expect(day3).toEqual({ kind: "open", until: at(7 * D), entry: "ad" });
    expect(sendPermission(day3, "human")).toEqual({ ok: true, messagingType: "RESPONSE" });
    // Automation too: it is the standard window, not the human-agent tag.
    expect(sendPermission(day3, "automation")).toEqual({ ok: true, messagingType: "RESPONSE" });
    expect(windowState(t0, at(7 * D - 1), false, entry).kind).toBe("open");
    expect(windowState(t0, at(7 * D), false, entry)).toEqual({ kind: "closed", since: at(7 * D) });
  });

  it("gives a later message its own 24 h when that reaches past the ad's 7 days", () => {
    const entry = { point: "ad" as const, at: t0 };
    const last = at(6.5 * D);
    expect(windowState(last, at(7 * D + H), false, entry)).toEqual({ kind: "open", until: at(7.5 * D) });
  });

  it("leaves every other entry point at 24 h, then the human-agent window when the app has it", () => {
    for (const point of ENTRY_POINTS.filter((p) => p !== "ad")) {
      const entry = { point, at: t0 };
      expect(windowState(t0, at(23 * H), false, entry), point).toEqual({ kind: "open", until: at(D) });
      expect(windowState(t0, at(3 * D), false, entry).kind, point).toBe("closed");
      expect(windowState(t0, at(3 * D), true, entry), point).toEqual({
        kind: "human_agent",
        until: at(7 * D),
      });
    }
    // Unknown entry (conversations from before): 24 h as always.
    expect(windowState(t0, at(3 * D), false, null).kind).toBe("closed");
  });
});

const CUS = "1234567890123456";
const base = { accountId: "17841400000000001", customerId: CUS, occurredAt: t0.getTime() };
const message = (over: Partial<DmMessage>): DmMessage => ({
  type: "dm.message",
  ...base,
  mid: "m1",
  attachments: [],
  ...over,
});

function fixtureEvent(name: string) {
  const raw = readFileSync(new URL(`../fixtures/webhooks/${name}.json`, import.meta.url), "utf8");
  const result = parseWebhook(JSON.parse(raw));
  if (!result.ok) throw new Error(result.reason);
  return result.records[0]?.event as DmMessage | DmReferral;
}

describe("entryOf: how the first customer event opened the conversation", () => {
  it("reads an ad referral with its id, title and media (Meta's documented shape)", () => {
    expect(entryOf(fixtureEvent("dm-ad-referral"))).toEqual({
      point: "ad",
      details: {
        adId: "120200000000000001",
        adTitle: "Summer sale: 30% off",
        photoUrl: "https://scontent.xx.fbcdn.net/v/t45.1600-4/fake_photo.jpg",
        videoUrl: "https://video.xx.fbcdn.net/v/t42.1790-2/fake_video.mp4",
        ref: "summer_sale",
        source: "ADS",
      },
    });
  });

  it("reads an ig.me link by its ref, whether the source is SHORTLINK or the link itself", () => {
    expect(entryOf(fixtureEvent("dm-referral"))).toEqual({
      point: "link",
      details: { ref: "spring_promo", source: "https://ig.me/m/yourbrand?ref=spring_promo" },
    });
    expect(
      entryOf(message({ referral: { ref: "bio_link", source: "SHORTLINK", type: "OPEN_THREAD" } })),
    ).toEqual({ point: "link", details: { ref: "bio_link", source: "SHORTLINK" } });
  });

  it("reads story replies, story mentions, shared posts and plain messages", () => {
    expect(entryOf(fixtureEvent("dm-story-reply")).point).toBe("story_reply");
    expect(entryOf(fixtureEvent("dm-story-mention"))).toMatchObject({
      point: "story_mention",
      details: { storyUrl: expect.stringContaining("asset_id=18000000000000003") },
    });
    expect(entryOf(fixtureEvent("dm-share-ig-post"))).toMatchObject({
      point: "post",
      details: { mediaId: "18139494541428835", caption: "Caption text" },
    });
    expect(entryOf(fixtureEvent("dm-text"))).toEqual({ point: "message", details: {} });
  });
});
