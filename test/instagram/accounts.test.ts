import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultKeyId, TokenCipher } from "../../src/instagram/token-cipher.ts";
import { type DiscordServer, startDiscordServer } from "../fakes/discord-server.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { cli } from "../helpers/cli.ts";
import { CLI_PLATFORMS } from "../helpers/cli-platforms.ts";
import { needsDatabaseServer, TEST_BACKEND, TEST_KEY, type TestEnv, testEnv } from "../helpers/service.ts";

const KEY_B = Buffer.alloc(32, 9).toString("base64");
const TOKEN = "IGAAtestSECRETtoken0123456789abcdef";

describe("TokenCipher", () => {
  it("seals and opens a token; the ciphertext does not contain it", () => {
    const cipher = TokenCipher.fromConfig(TEST_KEY);
    const sealed = cipher.seal(TOKEN);
    expect(sealed.keyId).toBe(defaultKeyId(Buffer.from(TEST_KEY, "base64")));
    expect(sealed.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(sealed.ciphertext).not.toContain(TOKEN);
    expect(Buffer.from(sealed.ciphertext, "base64").length).toBe(12 + 16 + Buffer.byteLength(TOKEN));
    expect(cipher.open(sealed.ciphertext, sealed.keyId)).toBe(TOKEN);
    expect(cipher.needsRotation(sealed.keyId)).toBe(false);
  });

  it("refuses a tampered ciphertext without naming the token", () => {
    const cipher = TokenCipher.fromConfig(TEST_KEY);
    const { ciphertext, keyId } = cipher.seal(TOKEN);
    const bytes = Buffer.from(ciphertext, "base64");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    expect(() => cipher.open(bytes.toString("base64"), keyId)).toThrow(/failed authentication/);
    try {
      cipher.open(bytes.toString("base64"), keyId);
    } catch (err) {
      expect((err as Error).message).not.toContain(TOKEN);
    }
  });

  it("binds the key id: another id (even one mapping to the same key) is refused", () => {
    const cipher = TokenCipher.fromConfig(`a:${TEST_KEY},b:${TEST_KEY}`);
    const { ciphertext, keyId } = cipher.seal(TOKEN);
    expect(keyId).toBe("a");
    expect(() => cipher.open(ciphertext, "b")).toThrow(/failed authentication/);
    expect(() => cipher.open(ciphertext, "zz")).toThrow(/key id zz/);
  });

  it("seals under the newest key and knows which ids need rotation", () => {
    const oldCipher = TokenCipher.fromConfig(TEST_KEY);
    const sealed = oldCipher.seal(TOKEN);
    const cipher = TokenCipher.fromConfig(`kb:${KEY_B},${TEST_KEY}`);
    expect(cipher.seal(TOKEN).keyId).toBe("kb");
    expect(cipher.needsRotation(sealed.keyId)).toBe(true);
    expect(cipher.needsRotation("kb")).toBe(false);
    expect(cipher.open(sealed.ciphertext, sealed.keyId)).toBe(TOKEN);
  });
});

describe("threadbridge accounts and keys against Postgres", () => {
  needsDatabaseServer("the CLI runs in its own process while the test reads the same database");
  let t: TestEnv;
  let client: pg.Client;
  // Both platforms configured (a destination on an unconfigured one is refused), against fakes
  // where the bot is in every channel these tests route to.
  let slack: SlackServer;
  let discord: DiscordServer;
  const row = async (id: string) =>
    (await client.query("SELECT * FROM instagram_accounts WHERE id = $1", [id])).rows[0] as Record<
      string,
      unknown
    >;

  beforeAll(async () => {
    slack = await startSlackServer();
    discord = await startDiscordServer({
      channels: ["999", "888", "333", "444"].map((n) => ({
        id: `100000000000000${n}`,
        name: `channel-${n}`,
        type: "text" as const,
      })),
    });
    t = await testEnv(TEST_BACKEND, {
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: "test-signing-secret",
      SLACK_API_URL: slack.apiUrl,
      DISCORD_TOKEN: discord.token,
      DISCORD_APP_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
    });
    client = new pg.Client({ connectionString: t.env.DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await t?.cleanup();
    await slack?.close();
    await discord?.close();
  });

  it("add, then list shows the account and never its token", async () => {
    const add = await cli(
      [
        "accounts",
        "add",
        "--ig-user-id",
        "17841400000001",
        "--username",
        "brand",
        "--token",
        TOKEN,
        "--slack-channel",
        "C0000123",
      ],
      t.env,
    );
    expect(add).toMatchObject({ code: 0, stdout: "added brand (17841400000001) → slack:C0000123\n" });
    expect(add.stdout + add.stderr).not.toContain(TOKEN);

    const list = await cli(["accounts", "list"], t.env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      /17841400000001\s+brand\s+active\s+slack:C0000123\s+\d{4}-\d{2}-\d{2}\s+never/,
    );
    expect(list.stdout + list.stderr).not.toContain(TOKEN);
    const json = await cli(["accounts", "list", "--json"], t.env);
    expect(json.stdout + json.stderr).not.toContain(TOKEN);
    const parsed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(parsed[0]).toMatchObject({ id: "17841400000001", status: "active", hasToken: true });
    expect(Object.keys(parsed[0] ?? {}).some((k) => /ciphertext/i.test(k))).toBe(false);

    const r = await row("17841400000001");
    expect(typeof r.token_ciphertext).toBe("string");
    expect(r.token_ciphertext).not.toContain(TOKEN);
    expect(
      TokenCipher.fromConfig(TEST_KEY).open(r.token_ciphertext as string, r.token_key_id as string),
    ).toBe(TOKEN);
    const days = ((r.token_expires_at as Date).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(59.9);
    expect(days).toBeLessThan(60.1);
  });

  it("add twice updates the account; an account seen in a webhook becomes active", async () => {
    await client.query("INSERT INTO instagram_accounts (id) VALUES ('17841400000002')");
    expect((await row("17841400000002")).status).toBe("unconfigured");
    const base = ["accounts", "add", "--ig-user-id", "17841400000002", "--token", TOKEN];
    expect((await cli([...base, "--username", "old", "--slack-channel", "C0000001"], t.env)).code).toBe(0);
    const again = await cli(
      [
        ...base,
        "--username",
        "new",
        "--discord-channel",
        "100000000000000999",
        "--digest-channel",
        "100000000000000888",
        "--token-expires",
        "10",
      ],
      t.env,
    );
    expect(again).toMatchObject({
      code: 0,
      stdout: "added new (17841400000002) → discord:100000000000000999\n",
    });
    const r = await row("17841400000002");
    expect(r).toMatchObject({
      username: "new",
      status: "active",
      chat_platform: "discord",
      chat_channel: "100000000000000999",
      digest_channel: "100000000000000888",
    });
    const days = ((r.token_expires_at as Date).getTime() - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(10);
    expect((await client.query("SELECT count(*)::int AS n FROM instagram_accounts")).rows[0].n).toBe(2);
  });

  it("route changes the destination", async () => {
    const r = await cli(["accounts", "route", "17841400000002", "--slack-channel", "C0000777"], t.env);
    expect(r).toMatchObject({ code: 0, stdout: "routed 17841400000002 → slack:C0000777\n" });
    expect(await row("17841400000002")).toMatchObject({
      chat_platform: "slack",
      chat_channel: "C0000777",
      digest_channel: "100000000000000888",
    });
    const unknown = await cli(["accounts", "route", "404", "--slack-channel", "C0000001"], t.env);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/no account 404/);
  });

  it("settings sets the note and reply prefixes and internal-by-default, refusing bad values", async () => {
    const r = await cli(
      ["accounts", "settings", "17841400000002", "--note-prefix", "##", "--internal-by-default", "on"],
      t.env,
    );
    expect(r).toMatchObject({
      code: 0,
      stdout:
        "17841400000002: note prefix ##, reply prefix >>, internal by default on\n" +
        "17841400000002: signature brand, disclosure default: “This is an automated message.”, repeated after 1d\n" +
        "17841400000002: assignment off\n" +
        "17841400000002: nudge 2h before the window closes, 12h before the 7-day limit, auto-close off\n",
    });
    expect((await row("17841400000002")).settings).toEqual({ notePrefix: "##", internalByDefault: true });
    const bad = await cli(
      ["accounts", "settings", "17841400000002", "--internal-by-default", "maybe"],
      t.env,
    );
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--internal-by-default takes on or off, not maybe/);
    const unknown = await cli(["accounts", "settings", "404", "--note-prefix", "//"], t.env);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/no account 404/);
  });

  it("keys rotate re-seals every token under the newest key", async () => {
    const rotatedEnv = { ...t.env, TOKEN_ENCRYPTION_KEY: `${KEY_B},${TEST_KEY}` };
    const before = await row("17841400000001");
    const r = await cli(["keys", "rotate"], rotatedEnv);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^re-encrypted 2 token\(s\)/);
    const after = await row("17841400000001");
    const newId = defaultKeyId(Buffer.from(KEY_B, "base64"));
    expect(after.token_key_id).toBe(newId);
    expect(after.token_key_id).not.toBe(before.token_key_id);
    expect(TokenCipher.fromConfig(`${KEY_B},${TEST_KEY}`).open(after.token_ciphertext as string, newId)).toBe(
      TOKEN,
    );
    // Once rotated, the old key can be dropped.
    expect(TokenCipher.fromConfig(KEY_B).open(after.token_ciphertext as string, newId)).toBe(TOKEN);
    expect((await cli(["keys", "rotate"], rotatedEnv)).stdout).toMatch(/^re-encrypted 0 token\(s\)/);
    // A config without the key a token was sealed under says which key id is missing.
    const missing = await cli(["keys", "rotate"], { ...t.env, TOKEN_ENCRYPTION_KEY: TEST_KEY });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(new RegExp(`key id ${newId}`));
    expect(missing.stderr).not.toContain(TOKEN);
  });

  it("remove clears the token and keeps the row", async () => {
    const r = await cli(["accounts", "remove", "17841400000001"], t.env);
    expect(r).toMatchObject({ code: 0, stdout: "removed 17841400000001\n" });
    expect(await row("17841400000001")).toMatchObject({
      status: "removed",
      token_ciphertext: null,
      token_key_id: null,
      username: "brand",
    });
    expect((await cli(["accounts", "list"], t.env)).stdout).toMatch(
      /17841400000001\s+brand\s+removed\s+slack:C0000123\s+none/,
    );
  });

  it("bad arguments exit 64 with a clear message", async () => {
    const base = ["accounts", "add", "--ig-user-id", "1784", "--username", "x", "--token", TOKEN];
    const both = await cli([...base, "--slack-channel", "C0000001", "--discord-channel", "2"], t.env);
    expect(both.code).toBe(64);
    expect(both.stderr).toMatch(
      /exactly one of --slack-channel or --discord-channel or --web-channel, not both/,
    );
    const none = await cli(base, t.env);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/exactly one of --slack-channel or --discord-channel or --web-channel/);
    const nonDigit = await cli(
      [
        "accounts",
        "add",
        "--ig-user-id",
        "brand",
        "--username",
        "x",
        "--token",
        TOKEN,
        "--slack-channel",
        "C0000001",
      ],
      t.env,
    );
    expect(nonDigit.code).toBe(64);
    expect(nonDigit.stderr).toMatch(/not an Instagram user id: brand/);
    for (const r of [both, none, nonDigit]) expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it("takes the platform-neutral --chat PLATFORM --channel ID, for add and route", async () => {
    const id = "17841400000003";
    const add = await cli(
      ["accounts", "add", "--ig-user-id", id, "--username", "neutral", "--token", TOKEN].concat([
        "--chat",
        "discord",
        "--channel",
        "100000000000000333",
      ]),
      t.env,
    );
    expect(add).toMatchObject({ code: 0, stdout: `added neutral (${id}) → discord:100000000000000333\n` });
    const route = await cli(["accounts", "route", id, "--chat", "slack", "--channel", "C0000333"], t.env);
    expect(route).toMatchObject({ code: 0, stdout: `routed ${id} → slack:C0000333\n` });
    expect(await row(id)).toMatchObject({ chat_platform: "slack", chat_channel: "C0000333" });
  });

  it("refuses a channel id of the wrong form, an unknown platform, and half of --chat/--channel", async () => {
    const base = ["accounts", "add", "--ig-user-id", "17841400000004", "--username", "x", "--token", TOKEN];
    const cases: Array<[string[], RegExp]> = [
      [
        ["--slack-channel", "general"],
        /^threadbridge: --slack-channel: “general” is not a Slack channel id \(expected C0123ABCD\)\.\n$/,
      ],
      [
        ["--chat", "discord", "--channel", "C0000001"],
        /--channel: “C0000001” is not a Discord channel id \(expected a number of 17 to 20 digits\)/,
      ],
      [
        ["--discord-channel", "100000000000000444", "--digest-channel", "C0000001"],
        /--digest-channel: “C0000001” is not a Discord channel id/,
      ],
      [
        ["--chat", "irc", "--channel", "#brand"],
        /--chat: no chat platform irc \(one of slack, discord, web\)/,
      ],
      [["--chat", "slack"], /--chat and --channel go together/],
      [["--channel", "C0000001"], /--chat and --channel go together/],
      [
        ["--chat", "slack", "--channel", "C0000001", "--discord-channel", "100000000000000444"],
        /exactly one of --slack-channel or --discord-channel or --web-channel, not both/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...base, ...args], t.env);
      expect({ args, code: r.code }).toEqual({ args, code: 64 });
      expect(r.stderr).toMatch(message);
    }
    expect(await row("17841400000004")).toBeUndefined();
  });

  it("makes --<name>-channel and --chat NAME of every platform in the list, checked by its format", async () => {
    const base = [
      "accounts",
      "add",
      "--ig-user-id",
      "17841400000005",
      "--username",
      "rooms",
      "--token",
      TOKEN,
    ];
    const withRooms = { platforms: CLI_PLATFORMS };
    const help = await cli(["accounts", "add", "--help"], t.env, undefined, withRooms);
    expect(help.stdout).toMatch(/--roomchat-channel <id>\s+mirror into this RoomChat channel \(room-42\)/);
    expect(help.stdout).toMatch(/--slack-channel <id>/);
    const bad = await cli([...base, "--roomchat-channel", "lobby"], t.env, undefined, withRooms);
    expect(bad).toMatchObject({ code: 64 });
    expect(bad.stderr).toMatch(/“lobby” is not a RoomChat channel id \(expected room-42\)/);
    const add = await cli([...base, "--roomchat-channel", "room-7"], t.env, undefined, withRooms);
    expect(add).toMatchObject({ code: 0, stdout: "added rooms (17841400000005) → roomchat:room-7\n" });
    const route = await cli(
      ["accounts", "route", "17841400000005", "--chat", "roomchat", "--channel", "room-8"],
      t.env,
      undefined,
      withRooms,
    );
    expect(route).toMatchObject({ code: 0, stdout: "routed 17841400000005 → roomchat:room-8\n" });
    expect(await row("17841400000005")).toMatchObject({ chat_platform: "roomchat", chat_channel: "room-8" });
    // This build alone has no such platform.
    const without = await cli([...base, "--chat", "roomchat", "--channel", "room-9"], t.env);
    expect(without.stderr).toMatch(/no chat platform roomchat/);
  });
});
