import { WebClient } from "@slack/web-api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SlackAdapter } from "../../../adapters/slack/adapter.ts";
import type { MirrorPost, ThreadRef } from "../../../src/chat/chat-port.ts";
import { createLogger } from "../../../src/log/logger.ts";
import { type SlackHarness, startSlackHarness } from "../../helpers/slack.ts";

const CHANNEL = "C0MIRROR";
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.slack.setPostRate(undefined);
});

const header = {
  kind: "dm" as const,
  account: { id: "1", username: "brand" },
  customer: { id: "900", name: "Jo", username: "jo" },
  window: { kind: "none" as const },
  status: "open" as const,
  consent: "unknown" as const,
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

async function openThread(): Promise<ThreadRef> {
  return h.bridge.adapter.openThread(CHANNEL, header);
}

describe("threads and posts", () => {
  it("opens a thread with a rendered root and posts mirrors in it with the author's identity", async () => {
    const thread = await openThread();
    expect(thread.channel).toBe(CHANNEL);
    const root = h.slack.callsOf("chat.postMessage").at(-1);
    expect(root?.args).toMatchObject({ channel: CHANNEL, unfurl_links: "false", unfurl_media: "false" });
    expect(root?.args.thread_ts).toBeUndefined();
    expect(root?.args.text).toBe("Instagram DM with Jo (@jo)");

    const first = await h.bridge.adapter.post(thread, post("hello"));
    const second = await h.bridge.adapter.post(thread, post("<script>x</script>"));
    expect(second > first).toBe(true);
    const messages = h.slack.thread(CHANNEL, thread.thread);
    expect(messages.map((m) => m.ts)).toEqual([thread.thread, first, second]);
    expect(messages[1]).toMatchObject({
      username: "Jo",
      icon_url: "https://cdn.example/jo.jpg",
      thread_ts: thread.thread,
    });
    expect(JSON.stringify(messages[2]?.blocks)).toContain("&lt;script&gt;x&lt;/script&gt;");
  });

  it("updates the root and mirrors, and treats an already deleted mirror as removed", async () => {
    const thread = await openThread();
    await h.bridge.adapter.updateHeader(thread, { ...header, status: "closed" });
    expect(JSON.stringify(h.slack.message(CHANNEL, thread.thread)?.blocks)).toContain("Status: closed");

    const ts = await h.bridge.adapter.post(thread, post("first"));
    await h.bridge.adapter.update(thread, ts, post("second"));
    expect(h.slack.message(CHANNEL, ts)?.text).toBe("Jo: second");

    await h.bridge.adapter.remove(thread, ts);
    expect(h.slack.message(CHANNEL, ts)).toBeUndefined();
    await expect(h.bridge.adapter.remove(thread, ts)).resolves.toBeUndefined();
    expect(h.slack.callsOf("chat.delete").filter((c) => c.args.ts === ts)).toHaveLength(2);
  });

  it("posts notices as the app (no identity override) with a Retry button and mentions", async () => {
    const thread = await openThread();
    const ts = await h.bridge.adapter.notice(thread, "Not delivered: window closed", {
      retryMessageId: 7,
      mention: ["U0AGENT1"],
    });
    const notice = h.slack.message(CHANNEL, ts);
    expect(notice?.username).toBeUndefined();
    expect(notice?.thread_ts).toBe(thread.thread);
    expect(notice?.text).toBe("<@U0AGENT1> Not delivered: window closed");
    expect(notice?.blocks?.[1]).toMatchObject({ elements: [{ action_id: "ig_retry", value: "7" }] });

    await h.bridge.adapter.alert(CHANNEL, "Token for @brand expires in 3 days");
    const alert = h.slack.callsOf("chat.postMessage").at(-1);
    expect(alert?.args).toMatchObject({ channel: CHANNEL, text: "⚠️ Token for @brand expires in 3 days" });
    expect(alert?.args.thread_ts).toBeUndefined();
  });
});

describe("reactions and marks", () => {
  it("adds and removes a customer's reaction idempotently", async () => {
    const thread = await openThread();
    const ts = await h.bridge.adapter.post(thread, post("nice"));
    await h.bridge.adapter.react(thread, ts, "❤️", true);
    await h.bridge.adapter.react(thread, ts, "❤️", true);
    expect(h.slack.reactions(CHANNEL, ts)).toEqual({ heart: [h.slack.botUserId] });
    await h.bridge.adapter.react(thread, ts, "❤️", false);
    await h.bridge.adapter.react(thread, ts, "❤️", false);
    expect(h.slack.reactions(CHANNEL, ts)).toEqual({});
    // The second add and the second remove were answered already_reacted / no_reaction.
    expect(h.slack.callsOf("reactions.add").filter((c) => c.args.timestamp === ts)).toHaveLength(2);
  });

  it("keeps exactly one delivery mark on an agent's message and clears it", async () => {
    const thread = await openThread();
    const ts = h.slack.seedMessage(CHANNEL, {
      user: "U0AGENT1",
      text: "on its way",
      thread_ts: thread.thread,
    });
    const adapter = h.bridge.adapter;
    await adapter.mark(thread, ts, "pending");
    expect(h.slack.reactions(CHANNEL, ts)).toEqual({ hourglass_flowing_sand: [h.slack.botUserId] });
    await adapter.mark(thread, ts, "pending");
    await adapter.mark(thread, ts, "held");
    await adapter.mark(thread, ts, "sent");
    expect(h.slack.reactions(CHANNEL, ts)).toEqual({ white_check_mark: [h.slack.botUserId] });
    await adapter.mark(thread, ts, "failed");
    expect(h.slack.reactions(CHANNEL, ts)).toEqual({ warning: [h.slack.botUserId] });
    await adapter.mark(thread, ts, undefined);
    await adapter.mark(thread, ts, undefined);
    expect(h.slack.reactions(CHANNEL, ts)).toEqual({});
  });

  it("leaves people's own reactions alone and shrugs at a deleted message", async () => {
    const thread = await openThread();
    const ts = h.slack.seedMessage(CHANNEL, { user: "U0AGENT1", text: "x", thread_ts: thread.thread });
    // An agent put ✅ themselves; the bot's mark is separate.
    const message = h.slack.message(CHANNEL, ts);
    message?.reactions.set("white_check_mark", new Set(["U0AGENT2"]));
    await h.bridge.adapter.mark(thread, ts, "failed");
    await h.bridge.adapter.mark(thread, ts, undefined);
    expect(h.slack.reactions(CHANNEL, ts)).toEqual({ white_check_mark: ["U0AGENT2"] });
    await expect(h.bridge.adapter.mark(thread, "1.000000", "sent")).resolves.toBeUndefined();
    await expect(h.bridge.adapter.react(thread, "1.000000", "👍", true)).resolves.toBeUndefined();
  });
});

describe("rate limits and failures", () => {
  it("waits out a 429 with Retry-After and succeeds", async () => {
    const thread = await openThread();
    h.slack.failNext(1, { status: 429, retryAfter: 1, method: "chat.postMessage" });
    const started = Date.now();
    const ts = await h.bridge.adapter.post(thread, post("after the wait"));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(h.slack.message(CHANNEL, ts)?.text).toBe("Jo: after the wait");
    expect(
      h.logs.some((l) => l.msg === "slack rate limited; waiting Retry-After" && l.retryAfterSeconds === 1),
    ).toBe(true);
  });

  it("waits out more 429s than its failure retries: a rate limit is not a failure", async () => {
    const thread = await openThread();
    const before = h.slack.callsOf("chat.postMessage").length;
    // Five answers "retry after 0 s": more than the harness's two retries for failures.
    h.slack.failNext(5, { status: 429, retryAfter: 0, method: "chat.postMessage" });
    const ts = await h.bridge.adapter.post(thread, post("after five 429s"));
    expect(h.slack.message(CHANNEL, ts)?.text).toBe("Jo: after five 429s");
    expect(h.slack.callsOf("chat.postMessage").length - before).toBe(6);
  });

  it("stays within the fake's per-channel post limit by waiting, losing nothing", async () => {
    const thread = await openThread();
    h.slack.setPostRate({ perSecond: 5, burst: 2 });
    const posted = await Promise.all([1, 2, 3].map((n) => h.bridge.adapter.post(thread, post(`burst ${n}`))));
    h.slack.setPostRate(undefined);
    expect(new Set(posted).size).toBe(3);
    expect(h.slack.thread(CHANNEL, thread.thread)).toHaveLength(4);
  });

  it("retries a 500 a bounded number of times, then throws to the caller", async () => {
    const thread = await openThread();
    const before = h.slack.callsOf("chat.postMessage").length;
    h.slack.failNext(3, { status: 500, method: "chat.postMessage" });
    await expect(h.bridge.adapter.post(thread, post("lost?"))).rejects.toThrow(/500/);
    // One try and two retries (the harness's bound), then the durable job owns the retry.
    expect(h.slack.callsOf("chat.postMessage").length - before).toBe(3);
    h.slack.failNext(1, { status: 500, method: "chat.postMessage" });
    await expect(h.bridge.adapter.post(thread, post("second time lucky"))).resolves.toMatch(/^\d+\.\d+$/);
  });

  it("throws platform errors at once", async () => {
    await expect(
      h.bridge.adapter.update({ channel: CHANNEL, thread: "1.1" }, "", post("x")),
    ).resolves.toBeUndefined();
    const bad = { ...post("x"), author: { kind: "customer" as const, name: "Jo" } };
    await expect(h.bridge.adapter.post({ channel: CHANNEL, thread: "9.000000" }, bad)).rejects.toThrow(
      /thread_not_found/,
    );
  });
});

describe("files", () => {
  it("streams an agent's upload from Slack with the bot token", async () => {
    h.slack.addFile({
      id: "F0PHOTO",
      name: "photo one.jpg",
      mimetype: "image/jpeg",
      content: Buffer.from("JPEGDATA"),
    });
    const res = await h.bridge.adapter.fetchFile({
      id: "F0PHOTO",
      name: "photo one.jpg",
      mimeType: "image/jpeg",
      size: 8,
    });
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe("JPEGDATA");
  });

  it("fails clearly on an unknown file", async () => {
    await expect(
      h.bridge.adapter.fetchFile({ id: "F0NONE", name: "x", mimeType: "image/png", size: 1 }),
    ).rejects.toThrow(/file_not_found/);
  });

  it("never sends the bot token to a host that is not Slack's", async () => {
    h.slack.addFile({ id: "F0ELSE", name: "x.png", mimetype: "image/png", content: "x" });
    const adapter = new SlackAdapter({
      client: new WebClient(h.slack.token, { slackApiUrl: h.slack.apiUrl, retryConfig: { retries: 0 } }),
      botToken: h.slack.token,
      botUserId: async () => h.slack.botUserId,
      fetch: async () => {
        throw new Error("must not be called");
      },
      fileOrigins: [],
      log: createLogger("silent"),
      pace: async () => {},
    });
    await expect(
      adapter.fetchFile({ id: "F0ELSE", name: "x.png", mimeType: "image/png", size: 1 }),
    ).rejects.toThrow(/unexpected host/);
  });
});

describe("bot identity", () => {
  it("learns the bot's ids with one auth.test when not given, and uses them to mark", async () => {
    const other = await startSlackHarness({ authTest: true });
    try {
      const thread = await other.bridge.adapter.openThread(CHANNEL, header);
      const ts = other.slack.seedMessage(CHANNEL, { user: "U0AGENT1", text: "x", thread_ts: thread.thread });
      await other.bridge.adapter.mark(thread, ts, "pending");
      await other.bridge.adapter.mark(thread, ts, "sent");
      expect(other.slack.reactions(CHANNEL, ts)).toEqual({ white_check_mark: [other.slack.botUserId] });
      expect(other.slack.callsOf("auth.test")).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});

describe("the console's link to a thread", () => {
  it("is the root's permalink, and undefined once the root is gone", async () => {
    const thread = await openThread();
    expect(await h.bridge.adapter.threadLink?.(thread)).toBe(
      `https://fake.slack.com/archives/${CHANNEL}/p${thread.thread.replace(".", "")}`,
    );
    expect(await h.bridge.adapter.threadLink?.({ channel: CHANNEL, thread: "1.000001" })).toBeUndefined();
  });
});
