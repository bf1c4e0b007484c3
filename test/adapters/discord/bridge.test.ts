// What only Discord does end to end (the rest runs on every platform: test/contract/bridge.test.ts):
// a text channel's thread with its header message and the customer's posts through a webhook,
// forum posts with tags, the 2,000-character split, archived threads reopened, command
// registration, and no agent message lost across a gateway reconnect.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../../helpers/cli.ts";
import {
  type DiscordHarness,
  FORUM_ACCOUNT,
  FORUM_CHANNEL,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../../helpers/discord-bridge.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

let h: DiscordHarness;
const now = () => Date.now();

beforeAll(async () => {
  h = await startDiscordHarness();
});

afterAll(async () => {
  await h?.close();
});

describe("Instagram → Discord", () => {
  it("opens a thread in a text channel with the header first, and posts the customer's messages through the webhook", async () => {
    const customer = "1000000000000001";
    for (let i = 1; i <= 3; i++)
      await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, `m_d_${i}`, `hello ${i}`, now() + i));
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    expect(h.discord.channel(thread)?.parentId).toBe(TEXT_CHANNEL);
    expect(h.discord.channel(thread)?.name.length).toBeLessThanOrEqual(100);
    const header = h.discord.messages(thread)[0];
    expect(header?.webhookId).toBeUndefined();
    expect(JSON.stringify(header?.embeds)).toContain("customer_0001");
    const posts = await h.posts(thread, 3);
    expect(posts.map((m) => m.content)).toEqual(["hello 1", "hello 2", "hello 3"]);
    expect(posts[0]?.webhookId).toBeDefined();
  });
  it("opens a forum post with tags for an account routed to a forum", async () => {
    const customer = "1000000000000002";
    await postWebhook(h.url(), dmText(FORUM_ACCOUNT, customer, "m_f_1", "from the forum", now()));
    const thread = await h.threadOf(FORUM_ACCOUNT, customer);
    const post = h.discord.channel(thread);
    expect(post?.parentId).toBe(FORUM_CHANNEL);
    const tags = h.discord.channel(FORUM_CHANNEL)?.availableTags ?? [];
    const applied = (post?.appliedTags ?? []).map((id) => tags.find((t) => t.id === id)?.name);
    expect(applied).toEqual(expect.arrayContaining(["DM", "open"]));
    const posts = await h.posts(thread, 1);
    expect(posts[0]?.content).toBe("from the forum");
  });

  it("splits a long message at Discord's 2,000 characters and reopens an archived thread", async () => {
    const customer = "1000000000000003";
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_l_1", "short", now()));
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    await h.posts(thread, 1);
    await h.discord.archiveThread(thread);
    const long = `${"word ".repeat(700)}end`;
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_l_2", long, now() + 10));
    const posts = await h.posts(thread, 3);
    expect(posts.slice(1).every((m) => m.content.length <= 2000)).toBe(true);
    expect(
      posts
        .slice(1)
        .map((m) => m.content)
        .join(" ")
        .replace(/\s+/g, " ")
        .trim(),
    ).toBe(long.replace(/\s+/g, " ").trim());
    expect(h.discord.channel(thread)?.archived).toBe(false);
  });
});

describe("threadbridge discord register-commands", () => {
  it("registers /ig from the manifest in a server, and refuses a malformed server id", async () => {
    const r = await cli(["discord", "register-commands", "--guild", h.discord.guildId], h.t.env);
    expect(r).toMatchObject({ code: 0, stdout: `registered 1 command in server ${h.discord.guildId}\n` });
    const ig = h.discord.commands(h.discord.guildId).find((c) => (c.body as { name?: string }).name === "ig");
    expect(JSON.stringify(ig)).toContain("pause");
    const bad = await cli(["discord", "register-commands", "--guild", "my-server"], h.t.env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--guild takes a server id/);
  });
});

describe("Discord → Instagram", () => {
  it("loses no agent message across a gateway reconnect", async () => {
    const customer = "1000000000000007";
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_g_1", "hello", now()));
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    await h.posts(thread, 1);
    const resumes = h.discord.sessions().resumes;
    h.discord.dropConnections({ resumable: true });
    const said = await h.agentSays(thread, "sent while the gateway was away");
    await h.settled(said.id, "sent");
    expect(h.discord.sessions().resumes).toBeGreaterThan(resumes);
  });
});
