// Windows by entry point, in Slack (issue 22): a conversation opened from a click-to-Instagram-
// Direct ad keeps its standard window up to 7 days, so an agent's reply on day 3 goes out as a
// standard RESPONSE (no HUMAN_AGENT tag, the app has no such feature here); a conversation opened
// from an ig.me link keeps 24 h. The root shows the referral card and the window; the digest
// counts conversations per ad.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCOUNT, ADMIN, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { postWebhook } from "../helpers/webhook.ts";
import { adMessage, linkOpened } from "./entry-fixtures.ts";

const DAY = 86_400_000;
const AD_CUSTOMER = "1000000000000901";
const LINK_CUSTOMER = "1000000000000902";
let h: BridgeHarness;

const shown = (m: { text?: string; blocks?: unknown[] } | undefined) =>
  `${m?.text ?? ""} ${JSON.stringify(m?.blocks ?? [])}`;

async function deliver(body: object): Promise<void> {
  const res = await postWebhook(h.url(), body);
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  h = await startBridgeHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("windows by entry point", () => {
  it("keeps an ad-opened conversation open on day 3: the reply goes out as a standard message", async () => {
    await deliver(adMessage(ACCOUNT, AD_CUSTOMER, "m_ad_901", Date.now() - 3 * DAY));
    const root = await h.rootOf(AD_CUSTOMER);
    const { rows } = await h.service.db.query<{
      entry_point: string;
      entry_referral: Record<string, string>;
    }>("SELECT entry_point, entry_referral FROM conversations WHERE customer_id = $1", [AD_CUSTOMER]);
    expect(rows[0]).toMatchObject({
      entry_point: "ad",
      entry_referral: { adId: "120200000000000001", adTitle: "Summer sale: 30% off", source: "ADS" },
    });

    // The root: the referral card (the ad's title, id and picture) and the window it gives.
    const header = await waitFor(async () => {
      const text = shown(h.slack.message(CHANNEL, root));
      return text.includes("Opened from an ad") ? text : undefined;
    });
    expect(header).toContain("Summer sale: 30% off");
    expect(header).toContain("ad 120200000000000001");
    expect(header).toContain("https://scontent.xx.fbcdn.net/v/t45.1600-4/fake_photo.jpg");
    expect(header).toContain("Reply window open until");
    expect(header).toContain("opened from an ad: the standard window lasts up to 7 days");

    const { ts } = await h.agentSays(root, "Yes, size M is in stock!");
    expect(await h.settled(ts, "sent")).toMatchObject({ delivery_state: "sent" });
    const send = h.sends().at(-1);
    expect(send?.body).toMatchObject({
      recipient: { id: AD_CUSTOMER },
      messaging_type: "RESPONSE",
      message: { text: "Yes, size M is in stock!" },
    });
    expect(send?.body).not.toHaveProperty("tag");
  });

  it("leaves a conversation opened from an ig.me link at 24 h: day 3 is too late", async () => {
    for (const body of linkOpened(ACCOUNT, LINK_CUSTOMER, "m_link_902", Date.now() - 3 * DAY)) {
      await deliver(body);
      await waitFor(async () => {
        const { rows } = await h.service.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM inbound_events WHERE status <> 'processed'",
        );
        return rows[0]?.n === 0 ? true : undefined;
      });
    }
    const root = await h.rootOf(LINK_CUSTOMER);
    const header = await waitFor(async () => {
      const text = shown(h.slack.message(CHANNEL, root));
      return text.includes("Opened from an ig.me link") ? text : undefined;
    });
    expect(header).toContain("ref spring_promo");
    expect(header).toContain("Window closed");
    const sends = h.sends().length;
    const { ts } = await h.agentSays(root, "Sorry for the wait");
    expect((await h.settled(ts, "failed")).delivery_error).toMatch(/window has closed/);
    expect(h.sends()).toHaveLength(sends);
  });

  it("counts conversations per ad in the digest", async () => {
    await deliver(adMessage(ACCOUNT, "1000000000000903", "m_ad_903", Date.now() - 2 * 3_600_000));
    await deliver(
      adMessage(ACCOUNT, "1000000000000904", "m_ad_904", Date.now() - 3_600_000, {
        id: "120200000000000002",
        title: "Winter boots",
      }),
    );
    await h.rootOf("1000000000000904");
    await h.rootOf("1000000000000903");
    expect(await h.command("digest 7d", ADMIN, "dg")).toBe("Digest of the last 7 days posted for @brand.");
    const digest = await waitFor(async () =>
      h.slack
        .callsOf("chat.postMessage")
        .map((c) => JSON.stringify(c.args))
        .find((args) => args.includes("Conversations opened from ads")),
    );
    expect(digest).toContain("“Summer sale: 30% off” (ad 120200000000000001) — 2 conversations");
    expect(digest).toContain("“Winter boots” (ad 120200000000000002) — 1 conversation");
  });
});
