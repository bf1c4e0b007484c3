// End to end on Discord: Instagram webhook → stored → mirrored by the real core through the real
// discord.js client into a fake Discord (REST and gateway); agents' thread messages, buttons and
// /ig arrive over the gateway and go back to a fake Graph API. Nothing in between is mocked.

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueOutbound, outboundKey } from "../../../src/outbound/enqueue.ts";
import { cli } from "../../helpers/cli.ts";
import {
  ADMIN,
  AGENT,
  type DiscordHarness,
  FORUM_ACCOUNT,
  FORUM_CHANNEL,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../../helpers/discord-bridge.ts";
import { waitFor } from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

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

  it("mirrors conversations in parallel, each in order", async () => {
    const customers = Array.from({ length: 6 }, (_, i) => `20000000000000${String(i).padStart(2, "0")}`);
    await Promise.all(
      customers.map(async (c) => {
        for (let i = 1; i <= 4; i++)
          await postWebhook(h.url(), dmText(TEXT_ACCOUNT, c, `m_par_${c}_${i}`, `${c} #${i}`, now() + i));
      }),
    );
    for (const c of customers) {
      const posts = await h.posts(await h.threadOf(TEXT_ACCOUNT, c), 4);
      // Markdown-escaped for Discord ("\\#" shows as "#").
      expect(posts.map((m) => m.content.replace(/\\(.)/g, "$1"))).toEqual(
        [1, 2, 3, 4].map((i) => `${c} #${i}`),
      );
    }
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

  it("round-trips reactions, edits and unsends, and shows an echo from the Instagram app once", async () => {
    const customer = "1000000000000008";
    const ts = now();
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_rt_1", "blue one?", ts));
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    const [mirrored] = await h.posts(thread, 1);
    const dm = (at: number, item: Record<string, unknown>) => ({
      object: "instagram",
      entry: [
        {
          id: TEXT_ACCOUNT,
          time: at,
          messaging: [{ sender: { id: customer }, recipient: { id: TEXT_ACCOUNT }, timestamp: at, ...item }],
        },
      ],
    });
    const reactions = () => h.discord.message(thread, mirrored?.id ?? "")?.reactions ?? new Map();
    await postWebhook(
      h.url(),
      dm(ts + 10, { reaction: { mid: "m_rt_1", action: "react", reaction: "love", emoji: "❤️" } }),
    );
    await waitFor(async () => (reactions().size > 0 ? true : undefined));
    await postWebhook(h.url(), dm(ts + 20, { reaction: { mid: "m_rt_1", action: "unreact" } }));
    await waitFor(async () =>
      [...reactions().values()].every((users) => users.size === 0) ? true : undefined,
    );
    await postWebhook(
      h.url(),
      dm(ts + 30, { message_edit: { mid: "m_rt_1", text: "the BLUE one?", num_edit: 1 } }),
    );
    await waitFor(async () =>
      h.discord.message(thread, mirrored?.id ?? "")?.content.includes("BLUE") ? true : undefined,
    );
    await postWebhook(h.url(), dm(ts + 40, { message: { mid: "m_rt_1", is_deleted: true } }));
    await waitFor(async () => (h.discord.message(thread, mirrored?.id ?? "")?.deleted ? true : undefined));

    const echo = {
      object: "instagram",
      entry: [
        {
          id: TEXT_ACCOUNT,
          time: ts + 50,
          messaging: [
            {
              sender: { id: TEXT_ACCOUNT },
              recipient: { id: customer },
              timestamp: ts + 50,
              message: { mid: "m_e_app", text: "answered from the app", is_echo: true },
            },
          ],
        },
      ],
    };
    await postWebhook(h.url(), echo);
    await postWebhook(h.url(), echo);
    const fromApp = await waitFor(async () => {
      const m = h.discord.messages(thread).filter((x) => x.content.includes("answered from the app"));
      return m.length > 0 ? m : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(
      h.discord.messages(thread).filter((x) => x.content.includes("answered from the app")),
    ).toHaveLength(1);
    expect(fromApp[0]?.username).toBe("@brand");
  });

  it("keeps notes internal, sends the first comment reply as the private reply, and an agent's file through the signed link", async () => {
    const customer = "1000000000000009";
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_n_1", "photo?", now()));
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    await h.posts(thread, 1);
    const before = h.sends().length;
    const note = await h.agentSays(thread, "// she asked yesterday too");
    const withFile = await h.discord.userMessage(thread, {
      authorId: AGENT.id,
      content: "here it is",
      attachments: [{ filename: "shoe.png", contentType: "image/png", data: Buffer.from("PNGDATA") }],
    });
    await h.settled(withFile.id, "sent");
    const sent = h.sends().slice(before);
    expect(sent.map((r) => (r.body as { message: object }).message)).toEqual([
      { text: "here it is" },
      { attachment: { type: "image", payload: { url: expect.stringContaining("/files/") } } },
    ]);
    const { rows } = await h.service.db.query("SELECT 1 FROM messages WHERE chat_ref = $1", [note.id]);
    expect(rows).toHaveLength(0);
    const fileSend = sent[1]?.body as { message: { attachment: { payload: { url: string } } } };
    const link = fileSend.message.attachment.payload.url;
    const file = await fetch(link.replace(/^https?:\/\/[^/]+/, h.url()));
    expect(file.status).toBe(200);
    expect(await file.text()).toBe("PNGDATA");

    const root = "17850000000000021";
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
                text: "how much?",
                from: { id: "1234567890123456", username: "jane_doe" },
                media: { id: "17900000000000001", media_product_type: "FEED" },
              },
            },
          ],
        },
      ],
    });
    const commentThread = await h.commentThreadOf(root);
    const reply = await h.agentSays(commentThread, "DM'd you the price!");
    await h.settled(reply.id, "sent");
    expect(h.sends().at(-1)?.body).toEqual({
      recipient: { comment_id: root },
      message: { text: "DM'd you the price!" },
    });
  });

  it("links an agent's file to the platform it was attached on, even once the thread's platform is gone", async () => {
    const customer = "1000000000000019";
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_f_1", "photo?", now()));
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    await h.posts(thread, 1);
    const attached = await h.discord.userMessage(thread, {
      authorId: AGENT.id,
      content: "",
      attachments: [{ filename: "boot.png", contentType: "image/png", data: Buffer.from("BOOTDATA") }],
    });
    await h.settled(attached.id, "sent");
    const db = h.service.db;
    const { rows } = await db.query<{ conversation_id: number; author_id: string; attachments: unknown }>(
      "SELECT conversation_id, author_id, attachments FROM messages WHERE chat_ref = $1",
      [attached.id],
    );
    const stored = rows[0];
    if (!stored) throw new Error("the agent's file was not stored");
    expect(stored.author_id).toBe(`discord:${AGENT.id}`);
    // The same file queued again after the conversation lost its thread (an erased or re-routed
    // mirror): the link still names Discord, where the file is, and is served from there.
    await db.query("UPDATE conversations SET chat_platform = NULL, chat_thread = NULL WHERE id = $1", [
      stored.conversation_id,
    ]);
    const before = h.sends().length;
    const { rows: again } = await db.query<{ id: number }>(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, client_id, attachments,
                             details, delivery_state, occurred_at)
       VALUES ($1, $2, 'outbound', 'agent', $3, $4, $5, '{}', 'pending', now()) RETURNING id`,
      [
        TEXT_ACCOUNT,
        stored.conversation_id,
        stored.author_id,
        randomUUID(),
        JSON.stringify(stored.attachments),
      ],
    );
    await enqueueOutbound(
      db,
      h.service.boss,
      again[0]?.id ?? 0,
      outboundKey(TEXT_ACCOUNT, { customerId: customer }),
    );
    const send = await waitFor(async () => h.sends().slice(before)[0]);
    const link = (send.body as { message: { attachment: { payload: { url: string } } } }).message.attachment
      .payload.url;
    const file = await fetch(link.replace(/^https?:\/\/[^/]+/, h.url()));
    expect(file.status).toBe(200);
    expect(await file.text()).toBe("BOOTDATA");
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

describe("restarts", () => {
  it("reuses the same thread after a restart", async () => {
    const customer = "1000000000000001";
    const thread = await h.threadOf(TEXT_ACCOUNT, customer);
    const threadsBefore = h.discord.threads(TEXT_CHANNEL).length;
    await h.restart();
    await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, "m_d_4", "back again", now() + 100));
    const posts = await h.posts(thread, 4);
    expect(posts.at(-1)?.content).toBe("back again");
    expect(h.discord.threads(TEXT_CHANNEL)).toHaveLength(threadsBefore);
  });
});
