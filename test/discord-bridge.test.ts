// End to end on Discord: Instagram webhook → stored → mirrored by the real core through the real
// discord.js client into a fake Discord (REST and gateway); agents' thread messages, buttons and
// /ig arrive over the gateway and go back to a fake Graph API. Nothing in between is mocked.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  AGENT,
  type DiscordHarness,
  FORUM_ACCOUNT,
  FORUM_CHANNEL,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "./helpers/discord-bridge.ts";
import { waitFor } from "./helpers/service.ts";
import { dmText, postWebhook } from "./helpers/webhook.ts";

let h: DiscordHarness;
const now = () => Date.now();
const textOf = (r: { body: unknown }) => (r.body as { message: { text?: string } }).message.text;

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
    expect(posts[0]?.username).toBe("Customer 0001");
    expect(posts[0]?.avatarUrl).toBe("https://cdn.example/pic.jpg");
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

describe("Discord → Instagram", () => {
  it("sends an agent's thread message as a RESPONSE and marks it ✅", async () => {
    const customer = "1000000000000004";
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_r_1", "price?", now()));
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    await h.posts(thread, 1);
    const before = h.sends().length;
    const said = await h.agentSays(thread, "It is 25 €");
    await h.settled(said.id, "sent");
    expect(
      h
        .sends()
        .slice(before)
        .map((r) => r.body),
    ).toEqual([
      expect.objectContaining({
        recipient: { id: customer },
        messaging_type: "RESPONSE",
        message: { text: "It is 25 €" },
      }),
    ]);
    await waitFor(async () =>
      h.discord.message(thread, said.id)?.reactions.get("✅")?.size ? true : undefined,
    );
  });

  it("refuses a reply after the window with ⚠️ and a Retry button that sends it once the window is open again", async () => {
    const customer = "1000000000000005";
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_w_1", "hello", now() - 3 * 86_400_000));
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    await h.posts(thread, 1);
    const said = await h.agentSays(thread, "sorry for the wait");
    const failed = await h.settled(said.id, "failed");
    expect(failed.delivery_error).toMatch(/window has closed/);
    await waitFor(async () =>
      h.discord.message(thread, said.id)?.reactions.get("⚠️")?.size ? true : undefined,
    );
    const notice = await waitFor(async () =>
      h.discord.messages(thread).find((m) => JSON.stringify(m.components).includes("ig_retry:")),
    );
    // The customer writes again; the agent retries.
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_w_2", "still there?", now()));
    await waitFor(async () =>
      h.discord.messages(thread).some((m) => m.content === "still there?") ? true : undefined,
    );
    const customId = /"custom_id":"(ig_retry:\d+)"/.exec(JSON.stringify(notice.components))?.[1] as string;
    const click = await h.discord.clickButton(thread, notice.id, customId, AGENT.id);
    await click.waitForResponse();
    await h.settled(said.id, "sent");
  });

  it("holds replies while an admin role pauses with /ig, refuses others, and sends in order on resume", async () => {
    const customer = "1000000000000006";
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_p_1", "hello", now()));
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    await h.posts(thread, 1);
    const refused = await h.discord.slashCommand(
      thread,
      "ig",
      [{ name: "pause", type: 1, options: [] }],
      AGENT.id,
    );
    const refusal = await refused.waitForResponses(2);
    expect(JSON.stringify(refusal)).toMatch(/Only admins/);
    const paused = await h.discord.slashCommand(
      thread,
      "ig",
      [{ name: "pause", type: 1, options: [{ name: "account", type: 3, value: "brand" }] }],
      ADMIN.id,
    );
    await paused.waitForResponse();
    await waitFor(async () => {
      const { rows } = await h.service.db.query<{ p: Date | null }>(
        "SELECT paused_at AS p FROM instagram_accounts WHERE id = $1",
        [TEXT_ACCOUNT],
      );
      return rows[0]?.p ? true : undefined;
    });
    const before = h.sends().length;
    const a = await h.agentSays(thread, "first");
    const b = await h.agentSays(thread, "second");
    await h.settled(a.id, "held");
    expect(h.sends().length).toBe(before);
    const resumed = await h.discord.slashCommand(
      thread,
      "ig",
      [{ name: "resume", type: 1, options: [{ name: "account", type: 3, value: "brand" }] }],
      ADMIN.id,
    );
    await resumed.waitForResponse();
    await h.settled(b.id, "sent");
    expect(h.sends().slice(before).map(textOf)).toEqual(["first", "second"]);
  });

  it("hides a comment from its thread's button", async () => {
    const root = "17850000000000011";
    await postWebhook(h.url(), {
      object: "instagram",
      entry: [
        {
          id: TEXT_ACCOUNT,
          time: now(),
          changes: [
            {
              field: "comments",
              value: {
                id: root,
                text: "spam",
                from: { id: "1234567890123499", username: "spammer" },
                media: { id: "17900000000000001" },
              },
            },
          ],
        },
      ],
    });
    const thread = await h.commentThreadOf(root);
    const header = await waitFor(async () => h.discord.messages(thread)[0]);
    expect(JSON.stringify(header.components)).toContain(`ig_comment_hide:${root}`);
    const click = await h.discord.clickButton(thread, header.id, `ig_comment_hide:${root}`, AGENT.id);
    await click.waitForResponse();
    await waitFor(async () =>
      h.graph.requests.some((r) => r.path.endsWith(`/${root}`) && r.query.hide === "true") ? true : undefined,
    );
    await waitFor(async () =>
      h.discord.messages(thread).some((m) => m.content.includes("hid the comment")) ? true : undefined,
    );
  });

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
