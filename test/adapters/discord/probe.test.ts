import { Client, REST } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscordAdapter } from "../../../adapters/discord/adapter.ts";
import { discord } from "../../../adapters/discord/index.ts";
import { discordUnusable } from "../../../adapters/discord/unusable.ts";
import { classifying, DestinationUnusable, WHOLE_PLATFORM } from "../../../src/chat/health.ts";
import { createLogger } from "../../../src/log/logger.ts";
import {
  BOT_ROLE_PERMISSIONS,
  type DiscordServer,
  PERMISSION,
  startDiscordServer,
} from "../../fakes/discord-server.ts";
import { fakeDiscordClientOptions } from "../../helpers/discord.ts";

// The Discord probe and the adapter's classification of answers no retry can fix, against the fake
// Discord (real @discordjs/rest calls).

const TEXT = "100000000000000001";
const FORUM = "100000000000000002";
const log = createLogger("silent");
let server: DiscordServer;

const probeWith = (token: string, appId = server.applicationId) =>
  // biome-ignore lint/style/noNonNullAssertion: Discord declares a probe
  discord.probe!({ token, appId, apiUrl: server.apiUrl }, { log });

beforeAll(async () => {
  server = await startDiscordServer({
    channels: [
      { id: TEXT, name: "instagram", type: "text" },
      { id: FORUM, name: "instagram-forum", type: "forum" },
    ],
  });
});
afterAll(async () => {
  await server?.close();
});

describe("discord probe: auth", () => {
  it("passes the bot's token and the Message Content intent", async () => {
    expect(await probeWith(server.token).auth()).toEqual([
      { name: "token", ok: true, detail: `bot threadbridge (${server.botUserId})` },
      { name: "message content intent", ok: true, detail: "Message Content intent on" },
    ]);
  });

  it("fails a refused token with the place to reset it", async () => {
    const checks = await probeWith("not-the-bot-token").auth();
    expect(checks).toEqual([
      {
        name: "token",
        ok: false,
        detail: "invalid_token: Discord refused DISCORD_TOKEN (401)",
        fix: expect.stringMatching(/Reset Token/),
      },
    ]);
  });

  it("fails when the Message Content intent is off, and when DISCORD_APP_ID names another app", async () => {
    server.setMessageContentIntent(false);
    try {
      const checks = await probeWith(server.token, "123456789012345678").auth();
      expect(checks.map((c) => [c.name, c.ok])).toEqual([
        ["token", true],
        ["application", false],
        ["message content intent", false],
      ]);
      expect(checks[1]?.fix).toMatch(`Set DISCORD_APP_ID to ${server.applicationId}`);
      expect(checks[2]?.fix).toMatch(/Privileged Gateway Intents/);
      // What that costs: the gateway refuses the bot's connection (4014), as Discord does.
      const client = new Client(fakeDiscordClientOptions(server));
      await expect(client.login(server.token)).rejects.toThrow(/disallowed intents/);
      await client.destroy();
    } finally {
      server.setMessageContentIntent(true);
    }
  });
});

describe("discord probe: destination permissions", () => {
  it("passes a text channel and a forum with the permissions docs/discord.md asks for", async () => {
    const probe = probeWith(server.token);
    expect(await probe.destination(TEXT)).toMatchObject({ ok: true });
    expect(await probe.destination(FORUM)).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/a forum/),
    });
  });

  it("names each missing permission: a channel overwrite denying the bot, a role without Manage Channels", async () => {
    server.setOverwrite(TEXT, "member", 0n, PERMISSION.ManageWebhooks | PERMISSION.SendMessagesInThreads);
    server.setBotPermissions(BOT_ROLE_PERMISSIONS & ~PERMISSION.ManageChannels);
    try {
      const probe = probeWith(server.token);
      const text = await probe.destination(TEXT);
      expect(text.ok).toBe(false);
      expect(text.detail).toMatch(
        /^missing_permissions: Send Messages In Threads \(post in the threads\), Manage Webhooks/,
      );
      expect(text.fix).toMatch(/Send Messages In Threads, Manage Webhooks in channel 100000000000000001/);
      // Manage Channels matters in a forum only (its status tags).
      const forum = await probe.destination(FORUM);
      expect(forum).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/Manage Channels \(create the forum's status tags\)/),
      });
    } finally {
      server.setOverwrite(TEXT, "member", 0n, 0n);
      server.setBotPermissions(BOT_ROLE_PERMISSIONS);
    }
  });

  it("an @everyone overwrite hiding the channel is Missing Access; an unknown id is Unknown Channel", async () => {
    server.setOverwrite(TEXT, "everyone", 0n, PERMISSION.ViewChannel);
    try {
      const hidden = await probeWith(server.token).destination(TEXT);
      expect(hidden).toMatchObject({ ok: false, detail: expect.stringMatching(/^missing_access/) });
    } finally {
      server.setOverwrite(TEXT, "everyone", 0n, 0n);
    }
    // The bot's own role may allow what @everyone is denied.
    server.setOverwrite(TEXT, "everyone", 0n, PERMISSION.ViewChannel);
    server.setOverwrite(TEXT, "role", PERMISSION.ViewChannel, 0n);
    try {
      expect(await probeWith(server.token).destination(TEXT)).toMatchObject({ ok: true });
    } finally {
      server.setOverwrite(TEXT, "everyone", 0n, 0n);
      server.setOverwrite(TEXT, "role", 0n, 0n);
    }
    expect(await probeWith(server.token).destination("100000000000000999")).toMatchObject({
      ok: false,
      detail: "unknown_channel: no channel 100000000000000999",
    });
  });
});

describe("discord adapter: answers no retry can fix", () => {
  const adapterWith = (token: string) =>
    classifying(
      new DiscordAdapter({
        rest: new REST({ version: "10", retries: 0, api: server.apiUrl }).setToken(token),
        appId: server.applicationId,
        log,
        fetch,
        fileOrigins: [],
      }),
      discordUnusable,
    );
  const header = {
    kind: "dm" as const,
    account: { id: "1", username: "brand" },
    customer: { id: "900", name: "Jo", username: "jo" },
    window: { kind: "none" as const },
    status: "open" as const,
    consent: "unknown" as const,
    links: [],
  };

  it("Missing Permissions on the webhook holds that channel", async () => {
    const adapter = adapterWith(server.token);
    const thread = await adapter.openThread(TEXT, header);
    server.setOverwrite(TEXT, "member", 0n, PERMISSION.ManageWebhooks);
    try {
      const err = await adapter
        .post(thread, { author: { kind: "customer", name: "Jo" }, text: "hi", attachments: [], context: [] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DestinationUnusable);
      expect(err).toMatchObject({ platform: "discord", channel: TEXT, reason: "missing_permissions" });
    } finally {
      server.setOverwrite(TEXT, "member", 0n, 0n);
    }
  });

  it("Missing Access (the bot cannot see the channel) holds that channel, with View Channel as the fix", async () => {
    server.setOverwrite(TEXT, "member", 0n, PERMISSION.ViewChannel);
    try {
      const err = await adapterWith(server.token)
        .alert(TEXT, "hi")
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DestinationUnusable);
      expect(err).toMatchObject({ platform: "discord", channel: TEXT, reason: "missing_access" });
      expect((err as DestinationUnusable).fix).toMatch(/^Give the bot's role View Channel in channel/);
    } finally {
      server.setOverwrite(TEXT, "member", 0n, 0n);
    }
  });

  it("a refused token holds the whole platform; a deleted thread's Unknown Channel is left alone", async () => {
    const refused = await adapterWith("not-the-bot-token")
      .alert(TEXT, "hi")
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ channel: WHOLE_PLATFORM, reason: "invalid_token" });
    const gone = await adapterWith(server.token)
      .notice({ channel: TEXT, thread: "100000000000000777" }, "hi")
      .catch((e: unknown) => e);
    expect(gone).not.toBeInstanceOf(DestinationUnusable);
    const missing = await adapterWith(server.token)
      .alert("100000000000000888", "hi")
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ channel: "100000000000000888", reason: "unknown_channel" });
  });
});
