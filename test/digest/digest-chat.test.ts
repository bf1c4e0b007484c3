// The digest reaching chat through the running service: `/ig digest` from an admin on Slack and on
// Discord (others refused and audited), and a queued digest job posting to the digest channel.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIGEST_QUEUE } from "../../src/queue/boss.ts";
import { ACCOUNT, ADMIN, AGENT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import {
  ADMIN as DISCORD_ADMIN,
  AGENT as DISCORD_AGENT,
  type DiscordHarness,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../helpers/discord-bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe("on Slack", () => {
  let h: BridgeHarness;
  beforeAll(async () => {
    h = await startBridgeHarness();
    await postWebhook(
      h.url(),
      dmText(ACCOUNT, "1000000000000851", "m_dg_1", "hello", Date.now() - 3_600_000),
    );
    await h.rootOf("1000000000000851");
  });
  afterAll(async () => {
    await h?.close();
  });

  it("posts the channel's digest for an admin, with its chart, and refuses others", async () => {
    expect(await h.command("digest", AGENT, "d0")).toMatch(/Only admins may post the digest/);
    expect(await h.command("digest 7d", ADMIN, "d2")).toBe("Digest of the last 7 days posted for @brand.");
    const upload = await waitFor(async () =>
      h.slack.uploads.find((u) => u.channel === CHANNEL && u.name.endsWith(".png")),
    );
    expect(upload.bytes.subarray(0, 4)).toEqual(PNG);
    expect(upload.altText).toMatch(/message/i);
    const { rows } = await h.service.db.query(
      "SELECT 1 FROM audit_log WHERE action = 'refused' AND target = 'digest'",
    );
    expect(rows).toHaveLength(1);
  });

  it("posts a queued digest to the account's digest channel", async () => {
    await h.service.db.query("UPDATE instagram_accounts SET digest_channel = 'C0DIGEST' WHERE id = $1", [
      ACCOUNT,
    ]);
    await h.service.boss.send(DIGEST_QUEUE, { account: ACCOUNT, kind: "24h" });
    const upload = await waitFor(async () => h.slack.uploads.find((u) => u.channel === "C0DIGEST"));
    expect(upload.bytes.subarray(0, 4)).toEqual(PNG);
    expect(h.slack.callsOf("chat.postMessage").some((c) => c.args.channel === "C0DIGEST")).toBe(true);
  });
});

describe("on Discord", () => {
  let h: DiscordHarness;
  beforeAll(async () => {
    h = await startDiscordHarness();
    await postWebhook(
      h.url(),
      dmText(TEXT_ACCOUNT, "1000000000000852", "m_dg_2", "hello", Date.now() - 3_600_000),
    );
    await h.threadOf(TEXT_ACCOUNT, "1000000000000852");
  });
  afterAll(async () => {
    await h?.close();
  });

  const digest = async (userId: string, span?: string) => {
    const call = await h.discord.slashCommand(
      TEXT_CHANNEL,
      "ig",
      [{ name: "digest", type: 1, options: span ? [{ name: "span", type: 3, value: span }] : [] }],
      userId,
    );
    return JSON.stringify(await call.waitForResponses(2));
  };

  it("posts the channel's digest as an embed with the chart attached, for admins only", async () => {
    expect(await digest(DISCORD_AGENT.id)).toMatch(/Only admins may post the digest/);
    expect(await digest(DISCORD_ADMIN.id, "24h")).toMatch(/Digest of the last 24 hours posted for @brand/);
    const posted = await waitFor(async () =>
      h.discord
        .messages(TEXT_CHANNEL)
        .find((m) => m.embeds.some((e) => JSON.stringify(e).includes("📊 @brand"))),
    );
    expect(posted.attachments[0]?.data.subarray(0, 4)).toEqual(PNG);
    expect(JSON.stringify(posted.embeds[0])).toContain(`attachment://${posted.attachments[0]?.filename}`);
  });
});
