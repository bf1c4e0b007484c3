// `threadbridge doctor [--json]` and its checks (issue 19), against Postgres, Redis and the fakes
// of Instagram, Slack and Discord: everything set up right passes (exit 0); each way of getting it
// wrong gives its own ✗ line with the fix, and exit 1.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { loadConfig } from "../../src/config/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { type DoctorCheck, doctorExitCode, formatDoctor, runDoctor } from "../../src/health/doctor.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { SUBSCRIBED_FIELDS } from "../../src/instagram/business-login.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { Service } from "../../src/service.ts";
import {
  BOT_ROLE_PERMISSIONS,
  type DiscordServer,
  PERMISSION,
  startDiscordServer,
} from "../fakes/discord-server.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../fakes/graph-server.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { cli } from "../helpers/cli.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { testRedisUrl } from "../helpers/redis.ts";
import { startTestService, TEST_BACKEND, TEST_KEY, type TestEnv, testEnv } from "../helpers/service.ts";
import { slackEnv } from "../helpers/slack.ts";

const BRAND = "17841400000000501";
const SHOP = "17841400000000502";
const SLACK_CHANNEL = "C0SUPPORT";
const SLACK_DIGEST = "C0DIGEST";
/** @shop's digest goes to a text channel, its threads to a forum: each needs its own permissions. */
const DISCORD_CHANNEL = "100000000000000001";
const DISCORD_FORUM = "100000000000000002";
const log = createLogger("silent");

const accounts = new Map<
  string,
  { userId: string; username: string; subscribedFields: readonly string[]; subscriptionError?: number }
>([
  ["IGAA-brand-token", { userId: BRAND, username: "brand", subscribedFields: SUBSCRIBED_FIELDS }],
  ["IGAA-shop-token", { userId: SHOP, username: "shop", subscribedFields: SUBSCRIBED_FIELDS }],
]);

let slack: SlackServer;
let discord: DiscordServer;
let graph: GraphServer;
let t: TestEnv;
let service: Service;
/** What the doctor runs with: the running service as PUBLIC_URL. */
let env: Record<string, string>;

beforeAll(async () => {
  slack = await startSlackServer();
  slack.setChannel(SLACK_CHANNEL, { name: "support" });
  slack.setChannel(SLACK_DIGEST, { name: "digest" });
  discord = await startDiscordServer({
    channels: [
      { id: DISCORD_CHANNEL, name: "instagram", type: "text" },
      { id: DISCORD_FORUM, name: "instagram-forum", type: "forum" },
    ],
  });
  graph = await startGraphServer(instagramResponder({ accounts }));
  t = await testEnv(TEST_BACKEND, {
    ...slackEnv(slack),
    DISCORD_TOKEN: discord.token,
    DISCORD_APP_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    IG_GRAPH_URL: graph.url,
    REDIS_URL: testRedisUrl(),
  });
  service = await startTestService(t, { worker: false });
  env = { ...t.env, PUBLIC_URL: service.url as string };
  const cipher = TokenCipher.fromConfig(TEST_KEY);
  await addAccount(service.db, cipher, {
    igUserId: BRAND,
    username: "brand",
    token: "IGAA-brand-token",
    tokenExpiresAt: new Date(Date.now() + 40 * 86_400_000),
    chat: { platform: "slack", channel: SLACK_CHANNEL },
    digestChannel: SLACK_DIGEST,
  });
  await addAccount(service.db, cipher, {
    igUserId: SHOP,
    username: "shop",
    token: "IGAA-shop-token",
    // Within the week: a warning, not a failure.
    tokenExpiresAt: new Date(Date.now() + 3 * 86_400_000 - 60_000),
    chat: { platform: "discord", channel: DISCORD_FORUM },
    digestChannel: DISCORD_CHANNEL,
  });
});
afterAll(async () => {
  await service?.stop();
  await t?.cleanup();
  await Promise.all([slack?.close(), discord?.close(), graph?.close()]);
});

/** The doctor's checks, run here against the service's database, with `over` in the environment. */
async function doctor(over: Record<string, string> = {}): Promise<DoctorCheck[]> {
  return runDoctor({ config: loadConfig({ ...env, ...over }, platforms), log, db: service.db });
}

/** The one report line of the check named `name`. */
function line(checks: DoctorCheck[], name: string): string | undefined {
  return formatDoctor(checks)
    .split("\n")
    .find((l) => l.slice(2).startsWith(`${name}:`));
}

/** Only the check `name` fails, its line says `expected`, and `threadbridge doctor` would exit 1. */
function failsWith(checks: DoctorCheck[], name: string, expected: RegExp): void {
  expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual([name]);
  expect(line(checks, name)).toMatch(expected);
  expect(doctorExitCode(checks)).toBe(1);
}

describe("threadbridge doctor", () => {
  it("passes everything set up right: one ✓ (or ⚠) line per check, exit 0", async () => {
    const r = await cli(["doctor"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/^✓ database: reachable, migrations current \(\d+ applied\)$/),
      expect.stringMatching(/^✓ redis: reachable at 127\.0\.0\.1:\d+$/),
      "✓ account @brand: token: accepted by Instagram (@brand)",
      "✓ account @brand: webhooks: subscribed (8 fields)",
      expect.stringMatching(/^✓ account @brand: token expiry: expires on \d{4}-\d\d-\d\d, in 39 days$/),
      "✓ account @shop: token: accepted by Instagram (@shop)",
      "✓ account @shop: webhooks: subscribed (8 fields)",
      expect.stringMatching(
        /^⚠ account @shop: token expiry: expires on \d{4}-\d\d-\d\d, in 3 day\(s\) — The worker refreshes it daily/,
      ),
      expect.stringMatching(
        /^✓ account @brand: webhook traffic: none yet since it was connected \d+ min ago \(alarm after 6 h\)$/,
      ),
      expect.stringMatching(
        /^✓ account @shop: webhook traffic: none yet since it was connected \d+ min ago \(alarm after 6 h\)$/,
      ),
      `✓ webhook URL: ${service.url}/webhooks/instagram answers the verification handshake`,
      "✓ slack: token: bot @threadbridge in Fake",
      "✓ slack: scopes: all 14 scopes of the manifest granted",
      `✓ slack: channel ${SLACK_DIGEST} (@brand (digest)): the bot is in #digest`,
      `✓ slack: channel ${SLACK_CHANNEL} (@brand): the bot is in #support`,
      `✓ discord: token: bot threadbridge (${discord.botUserId})`,
      "✓ discord: message content intent: Message Content intent on",
      `✓ discord: channel ${DISCORD_CHANNEL} (@shop (digest)): every permission the bridge needs in #instagram`,
      `✓ discord: channel ${DISCORD_FORUM} (@shop): every permission the bridge needs in #instagram-forum (a forum)`,
    ]);
  });

  it("--json prints the checks as an array, and one failure makes the exit code 1", async () => {
    const r = await cli(["doctor", "--json"], { ...env, PUBLIC_URL: "http://127.0.0.1:2" });
    expect(r.code).toBe(1);
    const checks = JSON.parse(r.stdout) as DoctorCheck[];
    expect(checks.filter((c) => !c.ok)).toEqual([
      {
        check: "webhook URL",
        ok: false,
        detail: expect.stringMatching(
          /^http:\/\/127\.0\.0\.1:2\/webhooks\/instagram did not answer: .*ECONNREFUSED/,
        ),
        fix: expect.stringMatching(/^Make http:\/\/127\.0\.0\.1:2\/webhooks\/instagram reach this service/),
      },
    ]);
    expect(checks).toContainEqual({ check: "redis", ok: true, detail: expect.stringMatching(/^reachable/) });
  });
});

describe("each failure mode gives its ✗ line with the fix", () => {
  it("an Instagram token the Graph API refuses", async () => {
    accounts.delete("IGAA-brand-token");
    try {
      failsWith(
        await doctor(),
        "account @brand: token",
        /^✗ account @brand: token: refused by Instagram: the Instagram connection must be reconnected .* — Reconnect the account from the console/,
      );
    } finally {
      accounts.set("IGAA-brand-token", {
        userId: BRAND,
        username: "brand",
        subscribedFields: SUBSCRIBED_FIELDS,
      });
    }
  });

  it("a Graph API base that redirects (a proxy, or http:// for https://): said as that, not as a bad token", async () => {
    const redirector = await startGraphServer(() => ({
      status: 301,
      headers: { location: "https://graph.instagram.com/v25.0/me" },
    }));
    try {
      const checks = await doctor({ IG_GRAPH_URL: redirector.url });
      expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual([
        "account @brand: token",
        "account @shop: token",
      ]);
      expect(line(checks, "account @brand: token")).toMatch(
        /^✗ account @brand: token: not checked: Instagram's API answered with a redirect, which is not followed .* — Point IG_GRAPH_URL at Meta's Graph API/,
      );
      // Asked once per account: a redirect is not retried.
      expect(redirector.requests).toHaveLength(2);
    } finally {
      await redirector.close();
    }
  });

  it("an account whose webhook fields are not subscribed, or only some of them", async () => {
    accounts.set("IGAA-brand-token", { userId: BRAND, username: "brand", subscribedFields: [] });
    try {
      failsWith(
        await doctor(),
        "account @brand: webhooks",
        /^✗ account @brand: webhooks: not subscribed: Instagram sends nothing for this account — Reconnect the account from the console \(it subscribes the fields\), or POST .*\/me\/subscribed_apps\?subscribed_fields=messages,comments,/,
      );
      accounts.set("IGAA-brand-token", { userId: BRAND, username: "brand", subscribedFields: ["messages"] });
      failsWith(
        await doctor(),
        "account @brand: webhooks",
        /^✗ account @brand: webhooks: fields not subscribed: comments, message_reactions, messaging_postbacks, messaging_seen, messaging_referral, messaging_handover, standby — /,
      );
    } finally {
      accounts.set("IGAA-brand-token", {
        userId: BRAND,
        username: "brand",
        subscribedFields: SUBSCRIBED_FIELDS,
      });
    }
  });

  it("an Instagram token that belongs to another account", async () => {
    accounts.set("IGAA-brand-token", { userId: SHOP, username: "shop", subscribedFields: SUBSCRIBED_FIELDS });
    try {
      failsWith(
        await doctor(),
        "account @brand: token",
        new RegExp(
          `^✗ account @brand: token: the token belongs to @shop \\(${SHOP}\\), not to this account — Reconnect the account`,
        ),
      );
    } finally {
      accounts.set("IGAA-brand-token", {
        userId: BRAND,
        username: "brand",
        subscribedFields: SUBSCRIBED_FIELDS,
      });
    }
  });

  it("an account's webhook subscription that cannot be read", async () => {
    accounts.set("IGAA-brand-token", {
      userId: BRAND,
      username: "brand",
      subscribedFields: SUBSCRIBED_FIELDS,
      subscriptionError: 10,
    });
    try {
      failsWith(
        await doctor(),
        "account @brand: webhooks",
        /^✗ account @brand: webhooks: the subscription could not be read: the app lacks permission for this action .* — Grant the app the instagram_business_\* permissions \(App Review\) and reconnect the account\.$/,
      );
    } finally {
      accounts.set("IGAA-brand-token", {
        userId: BRAND,
        username: "brand",
        subscribedFields: SUBSCRIBED_FIELDS,
      });
    }
  });

  it("an account with no token stored", async () => {
    const { rows } = await service.db.query<{ token_ciphertext: string; token_key_id: string }>(
      "SELECT token_ciphertext, token_key_id FROM instagram_accounts WHERE id = $1",
      [BRAND],
    );
    await service.db.query("UPDATE instagram_accounts SET token_ciphertext = NULL WHERE id = $1", [BRAND]);
    try {
      failsWith(
        await doctor(),
        "account @brand: token",
        /^✗ account @brand: token: no token stored \(status \w+\) — Reconnect the account from the console/,
      );
    } finally {
      await service.db.query(
        "UPDATE instagram_accounts SET token_ciphertext = $2, token_key_id = $3 WHERE id = $1",
        [BRAND, rows[0]?.token_ciphertext, rows[0]?.token_key_id],
      );
    }
  });

  it("no Instagram account connected", async () => {
    await service.db.query("UPDATE instagram_accounts SET status = 'removed' WHERE id IN ($1, $2)", [
      BRAND,
      SHOP,
    ]);
    try {
      const checks = await doctor();
      expect(checks.filter((c) => !c.ok).map((c) => c.check)).toContain("accounts");
      expect(line(checks, "accounts")).toMatch(
        /^✗ accounts: no Instagram account is connected — Connect one from the console \(Business Login\) or with `threadbridge accounts add`\./,
      );
      expect(doctorExitCode(checks)).toBe(1);
    } finally {
      await service.db.query("UPDATE instagram_accounts SET status = 'active' WHERE id IN ($1, $2)", [
        BRAND,
        SHOP,
      ]);
    }
  });

  it("stored tokens the configured key cannot open", async () => {
    const checks = await doctor({ TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64") });
    expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual([
      "account @brand: token",
      "account @shop: token",
    ]);
    expect(line(checks, "account @brand: token")).toMatch(
      /^✗ account @brand: token: the stored token cannot be decrypted: .* — Set TOKEN_ENCRYPTION_KEY to include the key it was sealed with/,
    );
    expect(doctorExitCode(checks)).toBe(1);
  });

  it("a webhook URL that does not answer the handshake, or answers it with another verify token", async () => {
    failsWith(
      await doctor({ PUBLIC_URL: "http://127.0.0.1:2" }),
      "webhook URL",
      /^✗ webhook URL: .* did not answer: /,
    );
    failsWith(
      await doctor({ IG_VERIFY_TOKEN: "not-the-dashboard-token" }),
      "webhook URL",
      /^✗ webhook URL: http:\/\/localhost:\d+\/webhooks\/instagram answered 403 without the challenge — Make .* with IG_VERIFY_TOKEN as set in the App Dashboard\.$/,
    );
  });

  it("no verify token configured: the handshake cannot pass", async () => {
    failsWith(
      await doctor({ IG_VERIFY_TOKEN: "" }),
      "webhook URL",
      /^✗ webhook URL: IG_VERIFY_TOKEN is not set: the handshake is refused — Set IG_VERIFY_TOKEN/,
    );
  });

  it("accounts routed to a chat platform this deployment does not configure", async () => {
    failsWith(
      await doctor({ DISCORD_TOKEN: "", DISCORD_APP_ID: "" }),
      "discord: not configured",
      /^✗ discord: not configured: @shop \(digest\), @shop route to Discord, which is not configured: their events are stored, not mirrored — Set DISCORD_TOKEN and DISCORD_APP_ID, or route them elsewhere/,
    );
  });

  it("a refused Slack token (its channels are then not asked)", async () => {
    const checks = await doctor({ SLACK_BOT_TOKEN: "xoxb-not-the-one" });
    expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual([
      "slack: token",
      `slack: channel ${SLACK_DIGEST} (@brand (digest))`,
      `slack: channel ${SLACK_CHANNEL} (@brand)`,
    ]);
    expect(line(checks, "slack: token")).toMatch(
      /^✗ slack: token: invalid_auth: Slack refused SLACK_BOT_TOKEN — Set SLACK_BOT_TOKEN to the app's Bot User OAuth Token/,
    );
    expect(line(checks, `slack: channel ${SLACK_CHANNEL} (@brand)`)).toMatch(
      /not checked: the token is refused — Fix the token first \(the line above\)\.$/,
    );
    expect(doctorExitCode(checks)).toBe(1);
  });

  it("a Slack scope the manifest asks for and the token lacks", async () => {
    slack.revokeScopes(["usergroups:read"]);
    try {
      failsWith(
        await doctor(),
        "slack: scopes",
        /^✗ slack: scopes: missing_scope: usergroups:read not granted — Add the usergroups:read scope under OAuth & Permissions .* and reinstall the app to the workspace\.$/,
      );
    } finally {
      slack.grantScopes(["usergroups:read"]);
    }
  });

  it("a Slack channel the bot is not in: an account's channel, or its digest channel", async () => {
    slack.setChannel(SLACK_CHANNEL, { member: false });
    try {
      failsWith(
        await doctor(),
        `slack: channel ${SLACK_CHANNEL} (@brand)`,
        /^✗ slack: channel C0SUPPORT \(@brand\): not_in_channel: the bot is not in #support — Invite the bot to the channel: type \/invite @threadbridge in <#C0SUPPORT>\.$/,
      );
    } finally {
      slack.setChannel(SLACK_CHANNEL, { member: true });
    }
    slack.setChannel(SLACK_DIGEST, { member: false });
    try {
      failsWith(
        await doctor(),
        `slack: channel ${SLACK_DIGEST} (@brand (digest))`,
        /^✗ slack: channel C0DIGEST \(@brand \(digest\)\): not_in_channel: the bot is not in #digest — Invite the bot to the channel: type \/invite @threadbridge in <#C0DIGEST>\.$/,
      );
    } finally {
      slack.setChannel(SLACK_DIGEST, { member: true });
    }
  });

  it("a refused Discord token", async () => {
    const checks = await doctor({ DISCORD_TOKEN: "not-the-bot-token" });
    expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual([
      "discord: token",
      `discord: channel ${DISCORD_CHANNEL} (@shop (digest))`,
      `discord: channel ${DISCORD_FORUM} (@shop)`,
    ]);
    expect(line(checks, "discord: token")).toMatch(
      /^✗ discord: token: invalid_token: Discord refused DISCORD_TOKEN \(401\) — Set DISCORD_TOKEN to the bot's token/,
    );
    expect(doctorExitCode(checks)).toBe(1);
  });

  it("a Discord token of another application than DISCORD_APP_ID", async () => {
    failsWith(
      await doctor({ DISCORD_APP_ID: "123456789012345678" }),
      "discord: application",
      new RegExp(
        `^✗ discord: application: wrong_application: the token belongs to application ${discord.applicationId}, DISCORD_APP_ID is 123456789012345678 — Set DISCORD_APP_ID to ${discord.applicationId}`,
      ),
    );
  });

  it("the Message Content intent turned off", async () => {
    discord.setMessageContentIntent(false);
    try {
      failsWith(
        await doctor(),
        "discord: message content intent",
        /^✗ discord: message content intent: missing_intent: the Message Content intent is off — Turn on Message Content Intent \(Developer Portal/,
      );
    } finally {
      discord.setMessageContentIntent(true);
    }
  });

  it("a permission the bot lacks in a Discord text channel: threads, posting in them, the webhook", async () => {
    discord.setOverwrite(
      DISCORD_CHANNEL,
      "role",
      0n,
      PERMISSION.CreatePublicThreads |
        PERMISSION.SendMessagesInThreads |
        PERMISSION.ManageWebhooks |
        PERMISSION.AddReactions,
    );
    try {
      failsWith(
        await doctor(),
        `discord: channel ${DISCORD_CHANNEL} (@shop (digest))`,
        /: missing_permissions: Create Public Threads \(open a thread per conversation\), Send Messages In Threads \(post in the threads\), Manage Webhooks \(post customers' messages under their names\), Add Reactions \(delivery marks and customers' reactions\) in #instagram — Give the bot's role Create Public Threads, Send Messages In Threads, Manage Webhooks, Add Reactions in channel 100000000000000001/,
      );
    } finally {
      discord.setOverwrite(DISCORD_CHANNEL, "role", 0n, 0n);
    }
  });

  it("Manage Channels missing where a forum is routed (its status tags)", async () => {
    discord.setBotPermissions(BOT_ROLE_PERMISSIONS & ~PERMISSION.ManageChannels);
    try {
      // A text channel does without it; the forum does not.
      failsWith(
        await doctor(),
        `discord: channel ${DISCORD_FORUM} (@shop)`,
        /^✗ discord: channel 100000000000000002 \(@shop\): missing_permissions: Manage Channels \(create the forum's status tags\) in #instagram-forum — Give the bot's role Manage Channels in channel 100000000000000002/,
      );
    } finally {
      discord.setBotPermissions(BOT_ROLE_PERMISSIONS);
    }
  });

  it("an expired Instagram token", async () => {
    await service.db.query(
      "UPDATE instagram_accounts SET token_expires_at = now() - interval '2 days' WHERE id = $1",
      [BRAND],
    );
    try {
      failsWith(
        await doctor(),
        "account @brand: token expiry",
        /^✗ account @brand: token expiry: expired on \d{4}-\d\d-\d\d — Reconnect the account from the console/,
      );
    } finally {
      await service.db.query(
        "UPDATE instagram_accounts SET token_expires_at = now() + interval '40 days' WHERE id = $1",
        [BRAND],
      );
    }
  });

  it("a database that does not answer: one line, and the accounts and channels are not asked", async () => {
    const closed = { kind: "postgres", url: "postgres://postgres@127.0.0.1:1/nothing", poolSize: 1 } as const;
    const opened = await openDatabase(closed).then(
      (db) => db,
      (error: unknown) => ({ error }),
    );
    // The configuration names the database the doctor is handed (on the embedded test backend the
    // suite's own names none: the embedded mode).
    const config = loadConfig({ ...env, DATABASE_URL: closed.url }, platforms);
    const checks = await runDoctor({ config, log, db: opened });
    if (!("error" in opened)) await opened.close();
    expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(["database"]);
    expect(line(checks, "database")).toMatch(
      /^✗ database: Postgres is unreachable: .*ECONNREFUSED.* — Check DATABASE_URL and that Postgres is up/,
    );
    expect(checks.some((c) => c.check.startsWith("account "))).toBe(false);
    expect(doctorExitCode(checks)).toBe(1);
  });

  it("an embedded database that cannot be opened: its directory is the fix, not DATABASE_URL", async () => {
    const { DATABASE_URL: _url, ...embedded } = env;
    const config = loadConfig({ ...embedded, DATA_DIR: "/nonexistent/threadbridge-data" }, platforms);
    const checks = await runDoctor({
      config,
      log,
      db: { error: new Error("ENOENT: no such file or directory, mkdir '/nonexistent/threadbridge-data'") },
    });
    expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(["database"]);
    const said = line(checks, "database");
    expect(said).toMatch(
      /^✗ database: the embedded database is unreachable: ENOENT.* — Check that DATA_DIR \(\/nonexistent\/threadbridge-data\) exists and this process may read and write it/,
    );
    expect(said).not.toContain("Postgres is up");
    expect(doctorExitCode(checks)).toBe(1);
  });

  it("Redis that does not answer, and a database with migrations not applied", async () => {
    failsWith(
      await doctor({ REDIS_URL: "redis://127.0.0.1:1" }),
      "redis",
      /^✗ redis: unreachable at 127\.0\.0\.1:1: /,
    );
    const fresh = await createTestDatabase();
    const db = await openDatabase({ kind: "postgres", url: fresh.url, poolSize: 1 });
    try {
      const checks = await runDoctor({ config: loadConfig(env, platforms), log, db });
      expect(line(checks, "database")).toMatch(
        /^✗ database: reachable; \d+ migration\(s\) not applied \(20261124000000_core, .*\) — Run `threadbridge migrate`/,
      );
      // Nothing in it can be read yet: said so, once, rather than thrown.
      expect(line(checks, "accounts")).toMatch(/^✗ accounts: could not be read: .*instagram_accounts/);
    } finally {
      await db.close();
      await fresh.drop();
    }
  });

  it("a held destination, with its fix", async () => {
    await service.db.query(
      "INSERT INTO chat_destination_holds (platform, channel, reason, fix) VALUES ('slack', 'C0OLD', 'channel_not_found', 'Check the channel id C0OLD.')",
    );
    try {
      failsWith(
        await doctor(),
        "slack: held C0OLD",
        /^✗ slack: held C0OLD: mirror work held since .* \(channel_not_found\) — Check the channel id C0OLD\. The held work resumes by itself once the recheck passes\.$/,
      );
    } finally {
      await service.db.query("DELETE FROM chat_destination_holds");
    }
  });
});
