// The chat platforms as the configuration sees them: each descriptor's variables, credentials,
// ADMIN_USERS / SLA_ON_DUTY prefixes and start-up line come from the list handed to loadConfig,
// so a platform that exists only here is configured like the built ones.

import { describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { chatKey, parseChatKey, parseRefs } from "../../src/chat/ids.ts";
import { definePlatform } from "../../src/chat/platform.ts";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { describeConfiguration } from "../../src/startup-summary.ts";
import { platforms as withRooms } from "../helpers/cli-platforms.ts";

const DEFAULTED = {
  webhookSecret: false,
  verifyToken: false,
  tokenEncryptionKey: false,
  consoleSessionSecret: false,
};
const SLACK = { SLACK_BOT_TOKEN: "xoxb-1-2-3", SLACK_SIGNING_SECRET: "signing-secret" };
const DISCORD = { DISCORD_TOKEN: "discord-token-0123", DISCORD_APP_ID: "123456789012345678" };

describe("chat platforms in the configuration", () => {
  it("turns on the platforms whose credentials are set, with their settings, in list order", () => {
    const c = loadConfig({ ...DISCORD, ...SLACK, SLACK_POSTS_PER_SECOND: "2" }, platforms);
    expect(c.platforms.map((p) => [p.descriptor.name, p.settings])).toEqual([
      [
        "slack",
        {
          botToken: "xoxb-1-2-3",
          signingSecret: "signing-secret",
          apiUrl: "https://slack.com/api/",
          postsPerSecond: 2,
          homeRefreshSeconds: 60,
        },
      ],
      ["discord", { token: "discord-token-0123", appId: "123456789012345678", apiUrl: undefined }],
    ]);
    expect(loadConfig(DISCORD, platforms).platforms.map((p) => p.descriptor.name)).toEqual(["discord"]);
  });

  it("names what is missing from a half-configured platform, one line", () => {
    expect(() => loadConfig({ DISCORD_APP_ID: "1234" }, platforms)).toThrow(
      new ConfigError("DISCORD_TOKEN: required when the other Discord credential is set"),
    );
    // A platform's malformed variable is one line among the core's.
    try {
      loadConfig({ PORT: "eighty", DISCORD_APP_ID: "app" }, platforms);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message.split("\n").sort()).toEqual([
        "DISCORD_APP_ID: expected the numeric Discord application id",
        expect.stringMatching(/^PORT: /),
      ]);
    }
  });

  it("reads ADMIN_USERS and SLA_ON_DUTY by each platform's prefixes", () => {
    const c = loadConfig(
      { ADMIN_USERS: " slack:U1 , discord-role:7,roomchat:ann", SLA_ON_DUTY: "slack-group:S9" },
      withRooms,
    );
    expect(c.admins).toEqual([
      { platform: "slack", kind: "user", id: "U1" },
      { platform: "discord", kind: "group", id: "7" },
      { platform: "roomchat", kind: "user", id: "ann" },
    ]);
    expect(c.sla.onDuty).toEqual([{ platform: "slack", kind: "group", id: "S9" }]);
    // The examples come from the descriptors; a prefix nobody claims, or a person in SLA_ON_DUTY,
    // is refused with them.
    expect(() => loadConfig({ ADMIN_USERS: "roomchat:ann" }, platforms)).toThrow(
      "ADMIN_USERS: expected a comma-separated list such as slack:U0123ABCD,slack-group:S0123ABCD,discord:80351110224678912,discord-role:80351110224678000",
    );
    expect(() => loadConfig({ SLA_ON_DUTY: "slack:U1" }, withRooms)).toThrow(
      "SLA_ON_DUTY: expected a comma-separated list such as slack-group:S0123ABCD,discord-role:80351110224678000",
    );
    expect(parseRefs("roomchat-group:x", withRooms, ["user", "group"]).ok).toBe(false);
  });

  it("writes one start-up line per platform from its descriptor", () => {
    const c = loadConfig(
      { ...DISCORD, LEADER_INTERVAL_SECONDS: "7", PUBLIC_URL: "https://b.example" },
      withRooms,
    );
    const lines = describeConfiguration(c, DEFAULTED);
    expect(lines.filter((l) => /^(slack|discord|roomchat): /.test(l))).toEqual([
      "slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on)",
      "discord: on (REST discord.com; the gateway runs in one worker, elected every 7 s)",
      "roomchat: on (in memory)",
    ]);
    expect(describeConfiguration(loadConfig(SLACK, platforms), DEFAULTED)).toContain(
      "slack: on (API https://slack.com/api/, 1 post/s per channel; events at http://localhost:3000/slack/events)",
    );
  });

  it("refuses a list it could not tell apart", () => {
    const [first] = platforms;
    if (!first) throw new Error("no platforms");
    const again = definePlatform({ ...first, name: "slack2", env: {}, credentials: [] });
    expect(() => loadConfig({}, [first, first])).toThrow(/chat platform slack is listed twice/);
    expect(() => loadConfig({}, [first, again])).toThrow(/both claim the prefix slack:/);
    expect(() => loadConfig({}, [{ ...first, name: "Slack!" }])).toThrow(/chat platform name "Slack!"/);
  });
});

describe("platform:id keys", () => {
  it("builds and parses them; the id may hold colons, a key without a platform is not one", () => {
    expect(chatKey("slack", "U1")).toBe("slack:U1");
    expect(parseChatKey("discord:80351110224678912")).toEqual({
      platform: "discord",
      id: "80351110224678912",
    });
    expect(parseChatKey("roomchat:a:b")).toEqual({ platform: "roomchat", id: "a:b" });
    for (const notOne of ["greeting", ":U1", "slack:"]) expect(parseChatKey(notOne)).toBeUndefined();
  });
});
