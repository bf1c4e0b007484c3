import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { CommentHeader, DmHeader, ThreadRef } from "../../../src/chat/chat-port.ts";
import {
  AGENT,
  AGENT2,
  type DiscordHarness,
  FORUM,
  OTHER,
  ROLE_MOD,
  startDiscordHarness,
  TEXT,
} from "./harness.ts";

let h: DiscordHarness;

const dm: DmHeader = {
  kind: "dm",
  account: { id: "1", username: "brand" },
  customer: { id: "900", name: "Jo", username: "jo" },
  window: { kind: "none" },
  status: "open",
  consent: "unknown",
  links: [],
};

const comment: CommentHeader = {
  kind: "comment",
  account: { id: "1", username: "brand" },
  media: { id: "m1" },
  comment: {
    id: "17900000000000001",
    text: "nice",
    author: { id: "901", username: "fan" },
    at: new Date(),
    hidden: false,
    deleted: false,
  },
  live: false,
  status: "open",
  privateReplyUsed: false,
  actions: ["hide", "unhide", "delete", "reply_public", "reply_private"],
  links: [],
};

beforeAll(async () => {
  h = await startDiscordHarness();
  await h.bridge.connect();
});
afterAll(async () => {
  await h?.close();
});

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 150));
}

describe("agent messages", () => {
  let thread: ThreadRef;
  beforeAll(async () => {
    thread = await h.bridge.adapter.openThread(TEXT, dm);
  });

  it("hands a person's message in a mirrored thread to the core with its files", async () => {
    const sent = await h.discord.userMessage(thread.thread, {
      authorId: AGENT,
      content: "hello [site](https://ex.com) \\*x\\*",
      attachments: [{ filename: "a.png", contentType: "image/png", data: Buffer.from("png") }],
    });
    await vi.waitFor(() => expect(h.inbox.messages).toHaveLength(1));
    const [m] = h.inbox.messages;
    // The fake's MESSAGE_CREATE author carries no global_name (Discord's does): either name is right.
    expect(["Ana Lima", "ana"]).toContain(m?.agent.name);
    expect(m).toMatchObject({
      agent: { platform: "discord", id: AGENT },
      thread,
      message: sent.id,
      text: "hello site (https://ex.com) *x*",
      files: [{ name: "a.png", mimeType: "image/png", size: 3, id: sent.attachments[0]?.url }],
    });
    const res = await h.bridge.adapter.fetchFile(m?.files[0] ?? { id: "", name: "", mimeType: "", size: 0 });
    expect(await res.text()).toBe("png");
  });

  it("keeps one agent's messages in order", async () => {
    const before = h.inbox.messages.length;
    for (const n of [1, 2, 3, 4, 5])
      await h.discord.userMessage(thread.thread, { authorId: AGENT2, content: `m${n}` });
    await vi.waitFor(() => expect(h.inbox.messages.length).toBe(before + 5));
    expect(h.inbox.messages.slice(before).map((m) => m.text)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
  });

  it("ignores bots, webhooks, plain channels and threads the bot did not open", async () => {
    const before = h.inbox.messages.length;
    await h.bridge.adapter.post(thread, {
      author: { kind: "customer", name: "Jo" },
      text: "mirrored",
      attachments: [],
      context: [],
    });
    await h.bridge.adapter.notice(thread, "a notice");
    await h.discord.userMessage(OTHER, { authorId: AGENT, content: "in the channel" });
    const foreign = await h.discord.userThread(TEXT, "chat", AGENT);
    await h.discord.userMessage(foreign.id, { authorId: AGENT, content: "in a user thread" });
    await settle();
    expect(h.inbox.messages.length).toBe(before);
  });

  it("shows command replies and refusals in the thread, as replies to the agent's message", async () => {
    h.inbox.outcome = (m) =>
      m.text === "!status"
        ? { kind: "command", reply: "window *closed*" }
        : { kind: "refused", reason: "too big" };
    try {
      const command = await h.discord.userMessage(thread.thread, { authorId: AGENT, content: "!status" });
      await vi.waitFor(() => expect(h.discord.messages(thread.thread).at(-1)?.replyTo).toBe(command.id));
      expect(h.discord.messages(thread.thread).at(-1)?.content).toBe("ℹ️ window \\*closed\\*");
      const refused = await h.discord.userMessage(thread.thread, { authorId: AGENT, content: "file" });
      await vi.waitFor(() => expect(h.discord.messages(thread.thread).at(-1)?.replyTo).toBe(refused.id));
      expect(h.discord.messages(thread.thread).at(-1)?.content).toBe(`ℹ️ <@${AGENT}> too big`);
    } finally {
      h.inbox.outcome = () => ({ kind: "queued", messageId: 1 });
    }
  });

  it("reports edits and deletions of agents' messages", async () => {
    const sent = await h.discord.userMessage(thread.thread, { authorId: AGENT, content: "first" });
    await vi.waitFor(() => expect(h.inbox.messages.at(-1)?.message).toBe(sent.id));
    await h.discord.userEdit(thread.thread, sent.id, "second");
    await vi.waitFor(() => expect(h.inbox.changes).toHaveLength(1));
    expect(h.inbox.changes[0]).toMatchObject({
      agent: { platform: "discord", id: AGENT },
      thread,
      message: sent.id,
      change: "edited",
    });
    await h.discord.userDelete(thread.thread, sent.id);
    await vi.waitFor(() => expect(h.inbox.changes).toHaveLength(2));
    expect(h.inbox.changes[1]).toMatchObject({ thread, message: sent.id, change: "deleted" });
  });
});

describe("interactions", () => {
  let thread: ThreadRef;
  beforeAll(async () => {
    thread = await h.bridge.adapter.openThread(FORUM, comment);
  });

  it("runs moderation buttons with the member's roles and answers ephemerally", async () => {
    const interaction = await h.discord.clickButton(
      thread.thread,
      thread.thread,
      "ig_comment_hide:17900000000000001",
      AGENT,
    );
    const [deferred] = await interaction.waitForResponses(1);
    expect(deferred).toMatchObject({ kind: "callback", type: 5, data: { flags: 64 } });
    const [, edited] = await interaction.waitForResponses(2);
    expect(edited).toMatchObject({ kind: "edit_original", data: { content: "done" } });
    expect(h.inbox.actions.at(-1)).toEqual({
      agent: { platform: "discord", id: AGENT, name: "Ana Lima", roles: [ROLE_MOD] },
      thread,
      channel: FORUM,
      action: { kind: "comment", action: "hide", commentId: "17900000000000001" },
    });
    const del = await h.discord.clickButton(
      thread.thread,
      thread.thread,
      "ig_comment_delete:17900000000000001",
      AGENT2,
    );
    await del.waitForResponses(2);
    expect(h.inbox.actions.at(-1)).toMatchObject({
      agent: { id: AGENT2, roles: [] },
      action: { kind: "comment", action: "delete" },
    });
  });

  it("opens a reply modal and sends its text", async () => {
    const click = await h.discord.clickButton(
      thread.thread,
      thread.thread,
      "ig_comment_reply_private:17900000000000001",
      AGENT,
    );
    const modal = await click.waitForResponse();
    expect(modal).toMatchObject({
      type: 9,
      data: { custom_id: "ig_comment_reply_private:17900000000000001" },
    });
    const submit = await h.discord.submitModal(
      thread.thread,
      "ig_comment_reply_private:17900000000000001",
      { text: "  thanks!  " },
      AGENT,
    );
    await submit.waitForResponses(2);
    expect(h.inbox.actions.at(-1)).toMatchObject({
      thread,
      action: { kind: "comment", action: "reply_private", commentId: "17900000000000001", text: "thanks!" },
    });
    const empty = await h.discord.submitModal(
      thread.thread,
      "ig_comment_reply_public:17900000000000001",
      { text: " " },
      AGENT,
    );
    expect(await empty.waitForResponse()).toMatchObject({ type: 4, data: { flags: 64 } });
  });

  it("retries from a notice's button", async () => {
    const notice = await h.bridge.adapter.notice(thread, "failed", { retryMessageId: 42 });
    const click = await h.discord.clickButton(thread.thread, notice, "ig_retry:42", AGENT);
    await click.waitForResponses(2);
    expect(h.inbox.actions.at(-1)).toMatchObject({ thread, action: { kind: "retry", messageId: 42 } });
  });

  it("registers /ig from the manifest and runs it in channels and threads", async () => {
    expect(await h.bridge.registerCommands(h.discord.guildId)).toBe(1);
    const [command] = h.discord.commands(h.discord.guildId);
    expect(command?.body).toMatchObject({ name: "ig" });

    const status = await h.discord.slashCommand(
      TEXT,
      "ig",
      [{ name: "status", type: 1, options: [] }],
      AGENT,
    );
    await status.waitForResponses(2);
    expect(h.inbox.actions.at(-1)).toEqual({
      agent: { platform: "discord", id: AGENT, name: "Ana Lima", roles: [ROLE_MOD] },
      channel: TEXT,
      action: { kind: "command", command: "status", args: {} },
    });

    const pause = await h.discord.slashCommand(
      thread.thread,
      "ig",
      [{ name: "pause", type: 1, options: [{ name: "account", type: 3, value: "@brand" }] }],
      AGENT,
    );
    const [deferred] = await pause.waitForResponses(2);
    expect(deferred).toMatchObject({ type: 5, data: { flags: 64 } });
    expect(h.inbox.actions.at(-1)).toMatchObject({
      thread,
      channel: FORUM,
      action: { kind: "command", command: "pause", args: { account: "brand" } },
    });

    const help = await h.discord.slashCommand(TEXT, "ig", [{ name: "help", type: 1, options: [] }], AGENT);
    const answer = await help.waitForResponse();
    expect(answer).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(String(answer.data.content)).toContain("/ig pause [account]");
  });
});

describe("catching up after a hand-over", () => {
  it("reads what agents wrote while disconnected, skipping what was handled", async () => {
    const thread = await h.bridge.adapter.openThread(TEXT, dm);
    const handled = await h.discord.userMessage(thread.thread, { authorId: AGENT, content: "handled live" });
    await vi.waitFor(() => expect(h.inbox.messages.at(-1)?.message).toBe(handled.id));
    await h.bridge.adapter.mark(thread, handled.id, "sent");

    await h.bridge.disconnect();
    const missed = await h.discord.userMessage(thread.thread, { authorId: AGENT2, content: "while away" });
    await h.bridge.adapter.post(thread, {
      author: { kind: "customer", name: "Jo" },
      text: "hi",
      attachments: [],
      context: [],
    });
    const count = h.inbox.messages.length;
    h.inbox.active = [thread];

    const since = new Date(Date.now() - 60_000);
    await h.bridge.connect({ catchUpSince: since });
    await vi.waitFor(() => expect(h.inbox.messages.length).toBe(count + 1));
    await settle();
    expect(h.inbox.messages.slice(count).map((m) => m.message)).toEqual([missed.id]);
    expect(h.inbox.messages.at(-1)).toMatchObject({ thread, text: "while away", agent: { id: AGENT2 } });
    const query = h.inbox.activeQueries.at(-1);
    expect(query?.platform).toBe("discord");
    expect(query?.since.getTime()).toBeLessThan(since.getTime());
    h.inbox.active = [];
  });

  it("catches up when the gateway had to start a new session", async () => {
    const thread = await h.bridge.adapter.openThread(TEXT, dm);
    h.inbox.active = [thread];
    const count = h.inbox.messages.length;
    const before = h.discord.sessions();
    h.discord.invalidateSessions();
    h.discord.dropConnections({ resumable: false });
    const missed = await h.discord.userMessage(thread.thread, { authorId: AGENT, content: "during the gap" });
    await vi.waitFor(() => expect(h.inbox.messages.map((m) => m.message)).toContain(missed.id), {
      timeout: 10_000,
    });
    expect(h.inbox.messages.length).toBeGreaterThan(count);
    expect(h.discord.sessions()).not.toEqual(before);
    expect(h.logs.some((l) => l.msg === "discord gateway session renewed; catching up")).toBe(true);
    h.inbox.active = [];
  });
});
