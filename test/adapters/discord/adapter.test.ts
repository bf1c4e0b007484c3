import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDiscord } from "../../../adapters/discord/bridge.ts";
import type { DmHeader, MirrorPost, ThreadRef } from "../../../src/chat/chat-port.ts";
import { createLogger } from "../../../src/log/logger.ts";
import { BOT_ROLE_PERMISSIONS, PERMISSION } from "../../fakes/discord-server.ts";
import { type DiscordHarness, FORUM, startDiscordHarness, TEXT } from "./harness.ts";

let h: DiscordHarness;

beforeAll(async () => {
  h = await startDiscordHarness();
});
afterAll(async () => {
  await h?.close();
});

const header: DmHeader = {
  kind: "dm",
  account: { id: "1", username: "brand" },
  customer: { id: "900", name: "Jo", username: "jo" },
  window: { kind: "none" },
  status: "open",
  consent: "unknown",
  links: [],
};

function post(text: string, over: Partial<MirrorPost> = {}): MirrorPost {
  return {
    author: { kind: "customer", name: "Jo", iconUrl: "https://cdn.example/jo.jpg" },
    text,
    attachments: [],
    context: [],
    ...over,
  };
}

function tagNames(forumId: string, ids: string[]): string[] {
  const tags = h.discord.channel(forumId)?.availableTags ?? [];
  return ids.map((id) => tags.find((t) => t.id === id)?.name ?? id).sort();
}

describe("threads", () => {
  it("opens a forum post with the header as starter message and creates the missing tags", async () => {
    const existing = h.discord.addForumTag(FORUM, "DM");
    const thread = await h.bridge.adapter.openThread(FORUM, header);
    expect(thread.channel).toBe(FORUM);
    const channel = h.discord.channel(thread.thread);
    expect(channel).toMatchObject({ parentId: FORUM, name: "Jo (@jo)", type: 11 });
    expect(tagNames(FORUM, channel?.appliedTags ?? [])).toEqual(["DM", "open"]);
    const tags = h.discord.channel(FORUM)?.availableTags.map((t) => t.name) ?? [];
    // The kinds, the statuses and the queue states (issue 21), created once each.
    expect(tags.sort()).toEqual([
      "DM",
      "closed",
      "comment",
      "new",
      "open",
      "snoozed",
      "waiting on customer",
      "waiting on us",
    ]);
    expect(h.discord.channel(FORUM)?.availableTags.find((t) => t.name === "DM")?.id).toBe(existing);
    const [starter] = h.discord.messages(thread.thread);
    expect(starter?.id).toBe(thread.thread);
    expect(starter?.author.id).toBe(h.discord.botUserId);
    expect(JSON.stringify(starter?.embeds)).toContain("Customer hasn't written yet");

    // A second post reuses the tags.
    await h.bridge.adapter.openThread(FORUM, { ...header, customer: { id: "901", name: "Al" } });
    expect(h.discord.channel(FORUM)?.availableTags).toHaveLength(8);
  });

  it("opens a public thread in a text channel with the header as its first message", async () => {
    const thread = await h.bridge.adapter.openThread(TEXT, header);
    expect(h.discord.channel(thread.thread)).toMatchObject({ parentId: TEXT, type: 11, name: "Jo (@jo)" });
    const messages = h.discord.messages(thread.thread);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.author.id).toBe(h.discord.botUserId);
    expect(messages[0]?.embeds).toHaveLength(1);
  });

  it("adopts the thread an interrupted attempt opened, giving it the header it never got", async () => {
    const since = new Date();
    const lu: DmHeader = { ...header, customer: { id: "902", name: "Lu", username: "lu" } };
    // The attempt created the thread and died before its header message.
    const orphan = await h.discord.userThread(TEXT, "Lu (@lu)", h.discord.botUserId);
    const taken = new Set<string>();
    const once = (key: string) => ({ key, since, taken: async (id: string) => taken.has(id) });
    const adopted = await h.bridge.adapter.openThread(TEXT, lu, once("conversation:1"));
    expect(adopted.thread).toBe(orphan.id);
    const messages = h.discord.messages(orphan.id);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.embeds).toHaveLength(1);

    // A thread the core already stores for another conversation is never adopted.
    taken.add(orphan.id);
    const fresh = await h.bridge.adapter.openThread(TEXT, lu, once("conversation:2"));
    expect(fresh.thread).not.toBe(orphan.id);
  });

  it("adopts it also when the customer's profile was read after the attempt named the thread", async () => {
    const since = new Date();
    // The attempt knew only the customer's id; the retry knows their name and username.
    const orphan = await h.discord.userThread(TEXT, "903", h.discord.botUserId);
    const named: DmHeader = { ...header, customer: { id: "903", name: "Mo", username: "mo" } };
    const adopted = await h.bridge.adapter.openThread(TEXT, named, {
      key: "conversation:3",
      since,
      taken: async () => false,
    });
    expect(adopted.thread).toBe(orphan.id);
    // Another customer's thread of the same moment is not theirs.
    const other = await h.discord.userThread(TEXT, "904", h.discord.botUserId);
    const stranger: DmHeader = { ...header, customer: { id: "905", name: "Ro" } };
    const own = await h.bridge.adapter.openThread(TEXT, stranger, {
      key: "conversation:4",
      since,
      taken: async () => false,
    });
    expect(own.thread).not.toBe(other.id);
  });

  it("without Manage Channels, opens forum posts untagged and says so once; tags come once it is given", async () => {
    const bare = await startDiscordHarness();
    try {
      bare.discord.setBotPermissions(BOT_ROLE_PERMISSIONS & ~PERMISSION.ManageChannels);
      const first = await bare.bridge.adapter.openThread(FORUM, header);
      const second = await bare.bridge.adapter.openThread(FORUM, {
        ...header,
        customer: { id: "902", name: "Cy" },
      });
      for (const t of [first, second]) expect(bare.discord.channel(t.thread)?.appliedTags ?? []).toEqual([]);
      expect(bare.discord.channel(FORUM)?.availableTags).toEqual([]);
      const said = bare.logs.filter((l) =>
        String(l.msg).startsWith("discord forum tags could not be created"),
      );
      expect(said).toEqual([expect.objectContaining({ level: 40, channel: FORUM })]);
      bare.discord.setBotPermissions(BOT_ROLE_PERMISSIONS);
      const third = await bare.bridge.adapter.openThread(FORUM, {
        ...header,
        customer: { id: "903", name: "Di" },
      });
      expect(bare.discord.channel(third.thread)?.appliedTags?.length).toBe(2);
    } finally {
      await bare.close();
    }
  });

  it("updates the header, the forum tags and the thread name only when they change", async () => {
    const thread = await h.bridge.adapter.openThread(FORUM, header);
    const before = h.discord.callsOf("PATCH", new RegExp(`^/channels/${thread.thread}$`)).length;
    await h.bridge.adapter.updateHeader(thread, { ...header, window: { kind: "closed" } });
    expect(h.discord.callsOf("PATCH", new RegExp(`^/channels/${thread.thread}$`))).toHaveLength(before);
    expect(JSON.stringify(h.discord.message(thread.thread, thread.thread)?.embeds)).toContain(
      "Window closed",
    );

    await h.bridge.adapter.updateHeader(thread, {
      ...header,
      status: "closed",
      customer: { ...header.customer, name: "Joanna" },
    });
    const channel = h.discord.channel(thread.thread);
    expect(channel?.name).toBe("Joanna (@jo)");
    expect(tagNames(FORUM, channel?.appliedTags ?? [])).toEqual(["DM", "closed"]);
  });

  it("updates a text thread's header message, also from a process that did not open it", async () => {
    const thread = await h.bridge.adapter.openThread(TEXT, header);
    await h.bridge.adapter.post(thread, post("hello"));
    const fresh = await startDiscordHarnessOn(h);
    await fresh.updateHeader(thread, { ...header, status: "snoozed" });
    const [root] = h.discord.messages(thread.thread);
    expect(JSON.stringify(root?.embeds)).toContain("Status: snoozed");
  });

  it("reopens an archived thread when its header changes or a message arrives", async () => {
    const thread = await h.bridge.adapter.openThread(TEXT, header);
    await h.discord.archiveThread(thread.thread);
    await h.bridge.adapter.updateHeader(thread, { ...header, status: "closed" });
    expect(h.discord.channel(thread.thread)?.archived).toBe(false);

    await h.discord.archiveThread(thread.thread);
    await h.bridge.adapter.post(thread, post("back again"));
    expect(h.discord.channel(thread.thread)?.archived).toBe(false);
    expect(h.discord.messages(thread.thread).at(-1)?.content).toBe("back again");
  });
});

// A second adapter on the same fake (another process: no caches).
async function startDiscordHarnessOn(harness: DiscordHarness) {
  const { createDiscord } = await import("../../../adapters/discord/bridge.ts");
  const bridge = createDiscord({
    token: harness.discord.token,
    appId: harness.discord.applicationId,
    apiUrl: harness.discord.apiUrl,
    log: (await import("../../../src/log/logger.ts")).createLogger("silent"),
    inbox: harness.inbox,
  });
  return bridge.adapter;
}

describe("posts", () => {
  let thread: ThreadRef;
  beforeAll(async () => {
    thread = await h.bridge.adapter.openThread(TEXT, header);
  });

  it("posts through one webhook of the parent with the customer's name and picture, pinging nobody", async () => {
    const id = await h.bridge.adapter.post(thread, post("hi @everyone <@500000000000000001>"));
    const message = h.discord.message(thread.thread, id);
    expect(message).toMatchObject({ username: "Jo", avatarUrl: "https://cdn.example/jo.jpg" });
    expect(message?.webhookId).toBeDefined();
    expect(message?.content).toBe("hi @\u200beveryone \\<@500000000000000001\\>");
    const execute = h.discord.callsOf("POST", /^\/webhooks\/\d+\/[^/]+$/).at(-1);
    expect(execute?.query).toMatchObject({ wait: "true", thread_id: thread.thread });
    expect(execute?.body).toMatchObject({ allowed_mentions: { parse: [] } });

    await h.bridge.adapter.post(
      thread,
      post("again", { author: { kind: "customer", name: "Discord Clyde" } }),
    );
    expect(h.discord.webhooks(TEXT)).toHaveLength(1);
    expect(h.discord.messages(thread.thread).at(-1)?.username).not.toMatch(/discord|clyde/i);
  });

  it("keeps one webhook per channel when two processes make one at the same moment", async () => {
    const other = createDiscord({
      token: h.discord.token,
      appId: h.discord.applicationId,
      apiUrl: h.discord.apiUrl,
      log: createLogger("silent"),
      inbox: h.inbox,
      retries: 1,
    });
    try {
      const forumThread = await h.bridge.adapter.openThread(FORUM, header);
      expect(h.discord.webhooks(FORUM)).toHaveLength(0);
      const [a, b] = await Promise.all([
        h.bridge.adapter.post(forumThread, post("from one worker")),
        other.adapter.post(forumThread, post("from another")),
      ]);
      const hooks = h.discord.webhooks(FORUM);
      expect(hooks).toHaveLength(1);
      for (const id of [a, b])
        expect(h.discord.message(forumThread.thread, id)?.webhookId).toBe(hooks[0]?.id);
    } finally {
      await other.close();
    }
  });

  it("splits a long message, and edits and removes every part", async () => {
    const text = `${"word ".repeat(450)}\n${"more ".repeat(450)}`;
    const first = await h.bridge.adapter.post(thread, post(text));
    const after = await h.bridge.adapter.post(thread, post("next message"));
    const parts = h.discord
      .messages(thread.thread)
      .filter((m) => BigInt(m.id) >= BigInt(first) && BigInt(m.id) < BigInt(after));
    expect(parts).toHaveLength(3);
    expect(parts.every((m) => m.content.length <= 2000)).toBe(true);
    expect(parts[1]?.flags).toBe(4096);

    await h.bridge.adapter.update(thread, first, post("short now", { attribution: "edited" }));
    expect(h.discord.message(thread.thread, first)?.content).toBe("short now\n-# *edited*");
    expect(h.discord.message(thread.thread, parts[1]?.id ?? "")?.deleted).toBe(true);
    expect(h.discord.message(thread.thread, after)?.deleted).toBeFalsy();

    await h.bridge.adapter.remove(thread, first);
    expect(h.discord.message(thread.thread, first)?.deleted).toBe(true);
    expect(h.discord.message(thread.thread, after)?.deleted).toBeFalsy();
    await expect(h.bridge.adapter.remove(thread, first)).resolves.toBeUndefined();
    await expect(h.bridge.adapter.update(thread, first, post("gone"))).resolves.toBeUndefined();
  });

  it("removes every part of a long message that is unsent", async () => {
    const first = await h.bridge.adapter.post(thread, post("x ".repeat(1500)));
    const ids = h.discord
      .messages(thread.thread)
      .filter((m) => BigInt(m.id) >= BigInt(first))
      .map((m) => m.id);
    expect(ids).toHaveLength(2);
    await h.bridge.adapter.remove(thread, first);
    expect(ids.every((id) => h.discord.message(thread.thread, id)?.deleted)).toBe(true);
  });

  it("adds and removes customer reactions idempotently", async () => {
    const id = await h.bridge.adapter.post(thread, post("react to me"));
    await h.bridge.adapter.react(thread, id, "love", true);
    await h.bridge.adapter.react(thread, id, "love", true);
    const reactions = h.discord.message(thread.thread, id)?.reactions;
    expect([...(reactions?.keys() ?? [])]).toEqual(["❤️"]);
    expect(reactions?.get("❤️")?.has(h.discord.botUserId)).toBe(true);
    await h.bridge.adapter.react(thread, id, "love", false);
    await h.bridge.adapter.react(thread, id, "love", false);
    expect(h.discord.message(thread.thread, id)?.reactions.get("❤️")?.size ?? 0).toBe(0);
    await expect(h.bridge.adapter.react(thread, "999999999999999999", "😂", true)).resolves.toBeUndefined();
  });

  it("sets one delivery mark at a time on an agent's message", async () => {
    await h.discord.userMessage(thread.thread, { authorId: "500000000000000001", content: "reply" });
    const agentMessage = h.discord.messages(thread.thread).at(-1)?.id ?? "";
    const bot = h.discord.botUserId;
    const marks = () =>
      [...(h.discord.message(thread.thread, agentMessage)?.reactions ?? new Map<string, Set<string>>())]
        .filter(([, users]) => users.has(bot))
        .map(([emoji]) => emoji);
    await h.bridge.adapter.mark(thread, agentMessage, "held");
    expect(marks()).toEqual(["⏸️"]);
    await h.bridge.adapter.mark(thread, agentMessage, "sent");
    await h.bridge.adapter.mark(thread, agentMessage, "sent");
    expect(marks()).toEqual(["✅"]);
    await h.bridge.adapter.mark(thread, agentMessage, "failed");
    expect(marks()).toEqual(["⚠️"]);
    await h.bridge.adapter.mark(thread, agentMessage, undefined);
    expect(marks()).toEqual([]);
    await expect(h.bridge.adapter.mark(thread, "999999999999999999", "sent")).resolves.toBeUndefined();
  });

  it("posts notices with a Retry button as the bot", async () => {
    const id = await h.bridge.adapter.notice(thread, "Window closed", { retryMessageId: 7 });
    const message = h.discord.message(thread.thread, id);
    expect(message?.author.id).toBe(h.discord.botUserId);
    expect(message?.webhookId).toBeUndefined();
    expect(message?.content).toBe("ℹ️ Window closed");
    expect(JSON.stringify(message?.components)).toContain('"custom_id":"ig_retry:7"');
  });
});

describe("rate limits and failures", () => {
  it("waits out a 429 and retries a 5xx within its bound", async () => {
    const thread = await h.bridge.adapter.openThread(TEXT, header);
    h.discord.setRateLimit(/^\/webhooks\//, { remainingBeforeLimit: 1, retryAfterMs: 200 });
    const started = Date.now();
    await h.bridge.adapter.post(thread, post("one"));
    await h.bridge.adapter.post(thread, post("two"));
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(h.discord.messages(thread.thread).map((m) => m.content)).toEqual(["", "one", "two"]);

    h.discord.failNext(1, { status: 500, path: /^\/channels\/\d+\/messages$/ });
    await h.bridge.adapter.notice(thread, "after a 500");
    expect(h.discord.messages(thread.thread).at(-1)?.content).toBe("ℹ️ after a 500");
    h.discord.failNext(2, { status: 502, path: /^\/channels\/\d+\/messages$/ });
    await expect(h.bridge.adapter.notice(thread, "fails")).rejects.toThrow();
  });
});

describe("alerts and files", () => {
  it("alerts a text channel with a message and a forum with a post", async () => {
    await h.bridge.adapter.alert(TEXT, "token expired for @brand");
    expect(h.discord.messages(TEXT).at(-1)?.content).toBe("⚠️ token expired for @brand");
    await h.bridge.adapter.alert(FORUM, "token expired");
    const post = h.discord.threads(FORUM).find((t) => t.name === "threadbridge alert");
    expect(post).toBeDefined();
    expect(h.discord.messages(post?.id ?? "")[0]?.content).toBe("⚠️ token expired");
  });

  it("fetches agents' files only from Discord's CDN or the configured API host", async () => {
    const thread = await h.bridge.adapter.openThread(TEXT, header);
    const message = await h.discord.userMessage(thread.thread, {
      authorId: "500000000000000001",
      content: "",
      attachments: [{ filename: "a.png", contentType: "image/png", data: Buffer.from("png-bytes") }],
    });
    const url = message.attachments[0]?.url ?? "";
    const res = await h.bridge.adapter.fetchFile({ id: url, name: "a.png", mimeType: "image/png", size: 9 });
    expect(await res.text()).toBe("png-bytes");
    const file = { name: "x", mimeType: "image/png", size: 1 };
    await expect(h.bridge.adapter.fetchFile({ ...file, id: "https://evil.example/a.png" })).rejects.toThrow(
      /unexpected host/,
    );
    await expect(
      h.bridge.adapter.fetchFile({ ...file, id: "http://cdn.discordapp.com/a.png" }),
    ).rejects.toThrow(/unexpected host/);
    await expect(h.bridge.adapter.fetchFile({ ...file, id: "not a url" })).rejects.toThrow(/unexpected host/);
  });

  it("never logs tokens or message text", () => {
    const all = h.rawLogs.join("\n");
    expect(all).not.toContain(h.discord.token);
    expect(all).not.toContain("react to me");
    expect(all).not.toContain("token expired");
  });
});

describe("the console's link to a thread", () => {
  it("opens the thread in its server, and is undefined once the thread is gone", async () => {
    const thread = await h.bridge.adapter.openThread(TEXT, header);
    const link = await h.bridge.adapter.threadLink?.(thread);
    expect(link).toMatch(new RegExp(`^https://discord\\.com/channels/\\d+/${thread.thread}$`));
    expect(
      await h.bridge.adapter.threadLink?.({ channel: TEXT, thread: "1234567890123456789" }),
    ).toBeUndefined();
  });
});
