// `accounts add` and `accounts route` check the destination they are given: a platform that is
// not configured and a channel id of the wrong form are refused; a channel the bot cannot work in
// yet is accepted with a warning from the platform's probe (the operator may be inviting it now).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DiscordServer, PERMISSION, startDiscordServer } from "../fakes/discord-server.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { cli } from "../helpers/cli.ts";
import { TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";
import { slackEnv } from "../helpers/slack.ts";

const TOKEN = "IGAA-destination-0123456789";
const DISCORD_CHANNEL = "100000000000000001";
const add = (id: string, ...destination: string[]) => [
  "accounts",
  "add",
  "--ig-user-id",
  id,
  "--username",
  "brand",
  "--token",
  TOKEN,
  ...destination,
];

let slack: SlackServer;
let discord: DiscordServer;
let withSlack: TestEnv;
let withDiscord: TestEnv;

beforeAll(async () => {
  slack = await startSlackServer();
  discord = await startDiscordServer();
  slack.setChannel("C0INSIDE", { name: "support" });
  slack.setChannel("C0OUTSIDE", { name: "general", member: false });
  withSlack = await testEnv(TEST_BACKEND, slackEnv(slack));
  withDiscord = await testEnv(TEST_BACKEND, {
    DISCORD_TOKEN: discord.token,
    DISCORD_APP_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
  });
});
afterAll(async () => {
  await withSlack?.cleanup();
  await withDiscord?.cleanup();
  await slack?.close();
  await discord?.close();
});

describe("accounts add and route: the destination", () => {
  it("refuses a platform that is not configured, naming what turns it on, and stores nothing", async () => {
    const r = await cli(add("17841400000000301", "--slack-channel", "C0INSIDE"), withDiscord.env);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(
      "threadbridge: --slack-channel: Slack is not configured here, so nothing would reach that channel: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET first\n",
    );
    const list = await cli(["accounts", "list"], withDiscord.env);
    expect(list.stdout).not.toContain("17841400000000301");
    const route = await cli(
      ["accounts", "route", "17841400000000301", "--chat", "slack", "--channel", "C0INSIDE"],
      withDiscord.env,
    );
    expect(route.code).toBe(64);
    expect(route.stderr).toMatch(/--channel: Slack is not configured here/);
  });

  it("refuses a channel name where an id belongs, with the example", async () => {
    const r = await cli(add("17841400000000302", "--slack-channel", "#general"), withSlack.env);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(
      "threadbridge: --slack-channel: “#general” is not a Slack channel id (expected C0123ABCD).\n",
    );
  });

  it("accepts a channel the bot is in without a word, and one it is not in with the invite", async () => {
    const inside = await cli(add("17841400000000303", "--slack-channel", "C0INSIDE"), withSlack.env);
    expect(inside).toEqual({
      code: 0,
      stdout: "added brand (17841400000000303) → slack:C0INSIDE\n",
      stderr: "",
    });
    const outside = await cli(
      [
        "accounts",
        "route",
        "17841400000000303",
        "--slack-channel",
        "C0OUTSIDE",
        "--digest-channel",
        "C0INSIDE",
      ],
      withSlack.env,
    );
    expect(outside.code).toBe(0);
    expect(outside.stdout).toBe("routed 17841400000000303 → slack:C0OUTSIDE\n");
    expect(outside.stderr).toBe(
      "threadbridge: warning: Slack channel C0OUTSIDE: not_in_channel: the bot is not in #general. Invite the bot to the channel: type /invite @threadbridge in <#C0OUTSIDE>.\n",
    );
  });

  it("warns about each Discord permission the bot lacks in the channel", async () => {
    discord.setOverwrite(DISCORD_CHANNEL, "member", 0n, PERMISSION.ManageWebhooks);
    try {
      const r = await cli(add("17841400000000304", "--discord-channel", DISCORD_CHANNEL), withDiscord.env);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(
        /^threadbridge: warning: Discord channel 100000000000000001: missing_permissions: Manage Webhooks \(post customers' messages under their names\) in #instagram\. Give the bot's role Manage Webhooks/,
      );
    } finally {
      discord.setOverwrite(DISCORD_CHANNEL, "member", 0n, 0n);
    }
    const fine = await cli(
      ["accounts", "route", "17841400000000304", "--discord-channel", DISCORD_CHANNEL],
      withDiscord.env,
    );
    expect(fine).toMatchObject({ code: 0, stderr: "" });
  });
});
