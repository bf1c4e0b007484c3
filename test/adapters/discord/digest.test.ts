// postDigest against the fake Discord: one message whose embed shows the chart it carries as an
// attachment, in a text channel or as a forum post of its own; mentions that ping nobody.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Digest, DigestChart } from "../../../src/chat/chat-port.ts";
import { renderDigestChart } from "../../../src/digest/chart.ts";
import { busyDigest, crowdedDigest, emptyDigest } from "../../helpers/digest.ts";
import { type DiscordHarness, FORUM, OTHER, startDiscordHarness, TEXT } from "./harness.ts";

let h: DiscordHarness;

beforeAll(async () => {
  h = await startDiscordHarness();
});
afterAll(async () => {
  await h?.close();
});

async function chartOf(digest: Digest): Promise<DigestChart> {
  const chart = await renderDigestChart(digest);
  if (!chart) throw new Error("no chart");
  return chart;
}

const latest = (channel: string) => h.discord.messages(channel).at(-1);

describe("posting the digest", () => {
  it("sends the embed with the chart attached and shown in it, pinging nobody", async () => {
    const digest = busyDigest({}, "discord");
    const chart = await chartOf(digest);
    await h.bridge.adapter.postDigest(TEXT, digest, chart);

    const message = latest(TEXT);
    expect(message?.author.id).toBe(h.discord.botUserId);
    const [embed] = message?.embeds ?? [];
    expect(embed).toMatchObject({
      title: "📊 @brand · Tue 24 Nov 2026",
      image: { url: `attachment://${chart.name}` },
      footer: { text: "Daily digest · Europe/Berlin" },
    });
    expect(JSON.stringify(embed)).toContain(
      "<#300000000000000041> waiting 6 h · assigned to <@500000000000000001>",
    );
    expect(message?.attachments).toEqual([
      expect.objectContaining({ filename: chart.name, contentType: "image/png", description: chart.alt }),
    ]);
    expect(message?.attachments[0]?.data.equals(chart.png)).toBe(true);

    const call = h.discord.callsOf("POST", new RegExp(`^/channels/${TEXT}/messages$`)).at(-1);
    expect(call?.headers["content-type"]).toMatch(/^multipart\/form-data/);
    expect(call?.files.map((f) => [f.field, f.filename])).toEqual([["files[0]", chart.name]]);
    expect(call?.body).toMatchObject({ allowed_mentions: { parse: [] } });
  });

  it("opens a forum post of its own in a forum channel", async () => {
    const digest = busyDigest({}, "discord");
    const chart = await chartOf(digest);
    const before = h.discord.threads(FORUM).length;
    await h.bridge.adapter.postDigest(FORUM, digest, chart);

    const posts = h.discord.threads(FORUM);
    expect(posts).toHaveLength(before + 1);
    const post = posts.at(-1);
    expect(post?.name).toBe("📊 @brand · Tue 24 Nov 2026");
    const [starter] = h.discord.messages(post?.id ?? "");
    expect(starter?.id).toBe(post?.id);
    expect(starter?.embeds[0]).toMatchObject({ image: { url: `attachment://${chart.name}` } });
    expect(starter?.attachments.map((a) => [a.filename, a.description])).toEqual([[chart.name, chart.alt]]);
  });

  it("sends an empty digest as a plain embed, with no file", async () => {
    const digest = emptyDigest();
    await h.bridge.adapter.postDigest(OTHER, digest, await renderDigestChart(digest));
    const message = latest(OTHER);
    expect(message?.embeds[0]).toMatchObject({
      description: "🌙 Nothing happened on @brand yesterday, and nobody is waiting for an answer.",
    });
    expect(message?.embeds[0]?.image).toBeUndefined();
    expect(message?.attachments).toEqual([]);
    const call = h.discord.callsOf("POST", new RegExp(`^/channels/${OTHER}/messages$`)).at(-1);
    expect(call?.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("is accepted by Discord's embed validation with lists far longer than it shows", async () => {
    await expect(h.bridge.adapter.postDigest(TEXT, crowdedDigest("discord"))).resolves.toBeUndefined();
    expect(JSON.stringify(latest(TEXT)?.embeds)).toContain("… and 70 more");
  });
});
