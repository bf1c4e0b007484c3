// Windows by entry point, in Discord (issue 22): the ad-opened conversation's root carries the
// referral card and its 7-day window, and an agent's reply on day 3 goes out as a standard
// RESPONSE.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMessage } from "../fakes/discord-server.ts";
import { type DiscordHarness, startDiscordHarness, TEXT_ACCOUNT } from "../helpers/discord-bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { postWebhook } from "../helpers/webhook.ts";
import { adMessage, linkOpened } from "./entry-fixtures.ts";

const DAY = 86_400_000;
const AD_CUSTOMER = "1000000000000911";
const LINK_CUSTOMER = "1000000000000912";
let h: DiscordHarness;

const shown = (m: FakeMessage | undefined) =>
  `${m?.content ?? ""} ${JSON.stringify(m?.embeds ?? [])}`.replace(/\\\\?([_*~`|>#-])/g, "$1");

beforeAll(async () => {
  h = await startDiscordHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("windows by entry point, in Discord", () => {
  it("shows the ad's card and window on the root, and replies on day 3 as a standard message", async () => {
    expect(
      (await postWebhook(h.url(), adMessage(TEXT_ACCOUNT, AD_CUSTOMER, "m_ad_911", Date.now() - 3 * DAY)))
        .status,
    ).toBe(200);
    const thread = await h.threadOf(TEXT_ACCOUNT, AD_CUSTOMER);
    const root = await waitFor(async () => {
      const text = shown(h.discord.messages(thread)[0]);
      return text.includes("Opened from an ad") ? text : undefined;
    });
    expect(root).toContain("Summer sale: 30% off");
    expect(root).toContain("ad 120200000000000001");
    expect(root).toContain("https://scontent.xx.fbcdn.net/v/t45.1600-4/fake_photo.jpg");
    expect(root).toContain("opened from an ad: the standard window lasts up to 7 days");

    const reply = await h.agentSays(thread, "Yes, size M is in stock!");
    await h.settled(reply.id, "sent");
    const send = h.sends().at(-1);
    expect(send?.body).toMatchObject({ recipient: { id: AD_CUSTOMER }, messaging_type: "RESPONSE" });
    expect(send?.body).not.toHaveProperty("tag");
  });

  it("shows an ig.me link's card with its ref", async () => {
    for (const body of linkOpened(TEXT_ACCOUNT, LINK_CUSTOMER, "m_link_912", Date.now() - 3 * DAY))
      expect((await postWebhook(h.url(), body)).status).toBe(200);
    const thread = await h.threadOf(TEXT_ACCOUNT, LINK_CUSTOMER);
    const root = await waitFor(async () => {
      const text = shown(h.discord.messages(thread)[0]);
      // Once the first message after the link is mirrored: the window is then known.
      return text.includes("Window closed") ? text : undefined;
    });
    expect(root).toContain("Opened from an ig.me link");
    expect(root).toContain("ref spring_promo");
  });
});
