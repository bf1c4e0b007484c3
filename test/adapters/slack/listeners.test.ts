import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  postSlackCommand,
  postSlackEvent,
  postSlackInteraction,
  SLACK_SECRET,
  type SlackHarness,
  slackSign,
  startSlackHarness,
} from "../../helpers/slack.ts";

const CHANNEL = "C0MIRROR";
let h: SlackHarness;
let root: string;

beforeAll(async () => {
  h = await startSlackHarness();
  root = (
    await h.bridge.adapter.openThread(CHANNEL, {
      kind: "dm",
      account: { id: "1", username: "brand" },
      customer: { id: "900", name: "Jo" },
      window: { kind: "none" },
      status: "open",
      consent: "unknown",
      links: [],
    })
  ).thread;
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.inbox.messages = [];
  h.inbox.changes = [];
  h.inbox.actions = [];
  h.inbox.outcome = { kind: "queued", messageId: 1 };
  h.inbox.result = { ok: true, text: "done" };
  h.inbox.failure = undefined;
});

let tsCounter = 1_732_500_000;
const nextTs = () => `${++tsCounter}.000200`;

function reply(over: Record<string, unknown> = {}) {
  const ts = nextTs();
  return {
    type: "message",
    channel: CHANNEL,
    channel_type: "channel",
    user: "U0AGENT1",
    text: "Hi <@U0AGENT2>, see <https://shop.example/x?a=1&amp;b=2|our shop> &lt;3",
    ts,
    event_ts: ts,
    thread_ts: root,
    ...over,
  };
}

const ephemerals = () => h.slack.callsOf("chat.postEphemeral");

describe("request verification", () => {
  it("answers 401 to a bad signature and hands nothing over", async () => {
    const res = await postSlackEvent(h.url, SLACK_SECRET, reply(), { signature: "v0=deadbeef" });
    expect(res.status).toBe(401);
    const wrongSecret = await postSlackEvent(h.url, "not-the-secret", reply());
    expect(wrongSecret.status).toBe(401);
    expect(h.inbox.messages).toEqual([]);
  });

  it("refuses a stale timestamp (replay)", async () => {
    const res = await postSlackEvent(h.url, SLACK_SECRET, reply(), {
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    expect(res.status).toBe(401);
    expect(h.inbox.messages).toEqual([]);
  });

  it("answers Slack's URL verification", async () => {
    const raw = JSON.stringify({ token: "t", challenge: "abc123", type: "url_verification" });
    const res = await fetch(`${h.url}/slack/events`, {
      method: "POST",
      headers: { "content-type": "application/json", ...slackSign(SLACK_SECRET, raw) },
      body: raw,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: "abc123" });
  });
});

describe("agent messages", () => {
  it("hands a thread reply to the core before answering, with plain text and the agent's name", async () => {
    const event = reply();
    const res = await postSlackEvent(h.url, SLACK_SECRET, event);
    expect(res.status).toBe(200);
    expect(h.inbox.messages).toEqual([
      {
        agent: { platform: "slack", id: "U0AGENT1", name: "Ana", roles: [] },
        thread: { channel: CHANNEL, thread: root },
        message: event.ts,
        text: "Hi @Bo Berg, see our shop (https://shop.example/x?a=1&b=2) <3",
        files: [],
      },
    ]);
  });

  it("passes Slack's retries through (the core dedupes by ts) and answers 500 when the core fails", async () => {
    const event = reply();
    h.inbox.failure = new Error("database down");
    const failed = await postSlackEvent(h.url, SLACK_SECRET, event, { eventId: "Ev1" });
    expect(failed.status).toBe(500);
    h.inbox.failure = undefined;
    const retried = await postSlackEvent(h.url, SLACK_SECRET, event, { eventId: "Ev1", retryNum: 1 });
    expect(retried.status).toBe(200);
    await postSlackEvent(h.url, SLACK_SECRET, event, { eventId: "Ev1", retryNum: 2 });
    expect(h.inbox.messages.map((m) => m.message)).toEqual([event.ts, event.ts]);
  });

  it("includes shared files", async () => {
    const event = reply({
      subtype: "file_share",
      text: "",
      files: [
        { id: "F1", name: "menu.pdf", mimetype: "application/pdf", size: 2048 },
        { id: "F2", mode: "tombstone" },
      ],
    });
    await postSlackEvent(h.url, SLACK_SECRET, event);
    expect(h.inbox.messages[0]?.files).toEqual([
      { id: "F1", name: "menu.pdf", mimeType: "application/pdf", size: 2048 },
    ]);
  });

  it("ignores bots, apps, top-level messages, thread roots and other subtypes", async () => {
    const ts = nextTs();
    for (const event of [
      reply({ bot_id: "B0OTHER" }),
      reply({ subtype: "bot_message", bot_id: "B0OTHER" }),
      reply({ app_id: "A0OTHER" }),
      reply({ user: h.slack.botUserId }),
      reply({ thread_ts: undefined }),
      reply({ ts, thread_ts: ts }),
      reply({ subtype: "channel_join" }),
    ]) {
      const res = await postSlackEvent(h.url, SLACK_SECRET, event);
      expect(res.status).toBe(200);
    }
    expect(h.inbox.messages).toEqual([]);
  });

  it("shows a command's reply and a refusal in the thread", async () => {
    h.inbox.outcome = { kind: "command", reply: "Assigned to Ana" };
    await postSlackEvent(h.url, SLACK_SECRET, reply({ text: "!assign me" }));
    h.inbox.outcome = { kind: "refused", reason: "The 24-hour window is closed" };
    await postSlackEvent(h.url, SLACK_SECRET, reply());
    h.inbox.outcome = { kind: "note" };
    await postSlackEvent(h.url, SLACK_SECRET, reply());
    const notices = h.slack.thread(CHANNEL, root).slice(-2);
    expect(notices.map((m) => m.text)).toEqual([
      "Assigned to Ana",
      "<@U0AGENT1> The 24-hour window is closed",
    ]);
  });

  it("reports edits and deletions of an agent's reply", async () => {
    const original = reply({ text: "old" });
    await postSlackEvent(h.url, SLACK_SECRET, {
      type: "message",
      subtype: "message_changed",
      hidden: true,
      channel: CHANNEL,
      ts: nextTs(),
      message: { ...original, text: "new", edited: { user: "U0AGENT1", ts: nextTs() } },
      previous_message: original,
    });
    // An unfurl arriving later is a change without an edit.
    await postSlackEvent(h.url, SLACK_SECRET, {
      type: "message",
      subtype: "message_changed",
      hidden: true,
      channel: CHANNEL,
      ts: nextTs(),
      message: { ...original, attachments: [{ id: 1 }] },
      previous_message: original,
    });
    await postSlackEvent(h.url, SLACK_SECRET, {
      type: "message",
      subtype: "message_deleted",
      hidden: true,
      channel: CHANNEL,
      ts: nextTs(),
      deleted_ts: original.ts,
      previous_message: original,
    });
    const agent = { platform: "slack", id: "U0AGENT1", name: "Ana", roles: [] };
    const thread = { channel: CHANNEL, thread: root };
    expect(h.inbox.changes).toEqual([
      { agent, thread, message: original.ts, change: "edited" },
      { agent, thread, message: original.ts, change: "deleted" },
    ]);
  });
});

function buttonPayload(actionId: string, value: string, message: { ts: string; thread_ts?: string }) {
  return {
    type: "block_actions",
    user: { id: "U0AGENT1", username: "ana", team_id: "T0FAKE" },
    api_app_id: "A0APP",
    token: "legacy",
    container: { type: "message", message_ts: message.ts, channel_id: CHANNEL, is_ephemeral: false },
    trigger_id: "111.222.trigger",
    team: { id: "T0FAKE", domain: "fake" },
    channel: { id: CHANNEL, name: "ig-inbox" },
    message: { type: "message", user: h.slack.botUserId, ...message, text: "x" },
    response_url: h.slack.responseUrl("button"),
    actions: [
      {
        type: "button",
        action_id: actionId,
        block_id: "b",
        value,
        text: { type: "plain_text", text: "x" },
        action_ts: "1.1",
      },
    ],
  };
}

describe("buttons and the reply modal", () => {
  it("Retry asks the core to retry that message and tells the clicker the result", async () => {
    h.inbox.result = { ok: true, text: "Retrying message 42" };
    const noticeTs = await h.bridge.adapter.notice({ channel: CHANNEL, thread: root }, "failed", {
      retryMessageId: 42,
    });
    const res = await postSlackInteraction(
      h.url,
      SLACK_SECRET,
      buttonPayload("ig_retry", "42", { ts: noticeTs, thread_ts: root }),
    );
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(ephemerals().at(-1)?.args.text).toBe("Retrying message 42"));
    expect(h.inbox.actions).toEqual([
      {
        agent: { platform: "slack", id: "U0AGENT1", name: "Ana", roles: [] },
        thread: { channel: CHANNEL, thread: root },
        channel: CHANNEL,
        action: { kind: "retry", messageId: 42 },
      },
    ]);
    expect(ephemerals().at(-1)?.args).toMatchObject({ channel: CHANNEL, user: "U0AGENT1", thread_ts: root });
  });

  it.each([
    ["ig_comment_hide", "hide"],
    ["ig_comment_unhide", "unhide"],
    ["ig_comment_delete", "delete"],
  ] as const)("%s moderates the comment", async (actionId, action) => {
    const res = await postSlackInteraction(h.url, SLACK_SECRET, buttonPayload(actionId, "c77", { ts: root }));
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(h.inbox.actions).toHaveLength(1));
    expect(h.inbox.actions[0]).toMatchObject({
      thread: { channel: CHANNEL, thread: root },
      action: { kind: "comment", action, commentId: "c77" },
    });
  });

  it.each([
    ["ig_comment_reply_public", "reply_public"],
    ["ig_comment_reply_private", "reply_private"],
  ] as const)("%s opens a modal whose submission sends the reply", async (actionId, action) => {
    const opened = h.slack.callsOf("views.open").length;
    await postSlackInteraction(h.url, SLACK_SECRET, buttonPayload(actionId, "c78", { ts: root }));
    await vi.waitFor(() => expect(h.slack.callsOf("views.open")).toHaveLength(opened + 1));
    const call = h.slack.callsOf("views.open").at(-1);
    expect(call?.args.trigger_id).toBe("111.222.trigger");
    const view = call?.args.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe("ig_comment_reply");

    const submit = (value: string | null) =>
      postSlackInteraction(h.url, SLACK_SECRET, {
        type: "view_submission",
        team: { id: "T0FAKE", domain: "fake" },
        user: { id: "U0AGENT2", username: "bo", name: "bo", team_id: "T0FAKE" },
        api_app_id: "A0APP",
        token: "legacy",
        trigger_id: "333.trigger",
        view: {
          id: "V1",
          type: "modal",
          callback_id: view.callback_id,
          private_metadata: view.private_metadata,
          state: { values: { reply: { text: { type: "plain_text_input", value } } } },
          hash: "h",
        },
      });
    const empty = await submit("   ");
    expect(JSON.parse(empty.body)).toEqual({
      response_action: "errors",
      errors: { reply: "Write a reply first." },
    });
    expect(h.inbox.actions).toEqual([]);

    const res = await submit("Thanks <3 & see you");
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(h.inbox.actions).toHaveLength(1));
    expect(h.inbox.actions[0]).toEqual({
      agent: { platform: "slack", id: "U0AGENT2", name: "Bo Berg", roles: [] },
      thread: { channel: CHANNEL, thread: root },
      channel: CHANNEL,
      action: { kind: "comment", action, commentId: "c78", text: "Thanks <3 & see you" },
    });
    await vi.waitFor(() =>
      expect(ephemerals().at(-1)?.args).toMatchObject({ user: "U0AGENT2", text: "done" }),
    );
  });
});

describe("Send to Instagram shortcut", () => {
  function shortcut(message: Record<string, unknown>, user = "U0AGENT1") {
    return {
      type: "message_action",
      callback_id: "ig_send",
      trigger_id: "444.trigger",
      message_ts: message.ts,
      response_url: h.slack.responseUrl("shortcut"),
      message: { type: "message", ...message },
      user: { id: user, name: "agent" },
      channel: { id: CHANNEL, name: "ig-inbox" },
      team: { id: "T0FAKE", domain: "fake" },
      token: "legacy",
      action_ts: "5.5",
    };
  }

  it("sends the agent's own thread message as an explicit reply", async () => {
    const ts = nextTs();
    const res = await postSlackInteraction(
      h.url,
      SLACK_SECRET,
      shortcut({
        user: "U0AGENT1",
        ts,
        thread_ts: root,
        text: "internal *draft*",
        files: [{ id: "F9", name: "a.png", mimetype: "image/png", size: 3 }],
      }),
    );
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(h.inbox.messages).toHaveLength(1));
    expect(h.inbox.messages[0]).toEqual({
      agent: { platform: "slack", id: "U0AGENT1", name: "Ana", roles: [] },
      thread: { channel: CHANNEL, thread: root },
      message: ts,
      text: "internal *draft*",
      files: [{ id: "F9", name: "a.png", mimeType: "image/png", size: 3 }],
      explicitReply: true,
    });
  });

  it("refuses someone else's message, bot messages and top-level messages", async () => {
    const before = ephemerals().length;
    await postSlackInteraction(
      h.url,
      SLACK_SECRET,
      shortcut({ user: "U0AGENT2", ts: nextTs(), thread_ts: root, text: "x" }),
    );
    await postSlackInteraction(
      h.url,
      SLACK_SECRET,
      shortcut({ bot_id: "B0BOT", ts: nextTs(), thread_ts: root, text: "x" }),
    );
    const top = nextTs();
    await postSlackInteraction(h.url, SLACK_SECRET, shortcut({ user: "U0AGENT1", ts: top, text: "x" }));
    await vi.waitFor(() => expect(ephemerals().length).toBe(before + 3));
    expect(
      ephemerals()
        .slice(-3)
        .map((c) => c.args.text),
    ).toEqual([
      "Only the author of a message can send it to Instagram.",
      "“Send to Instagram” works on an agent's reply inside a mirrored thread.",
      "“Send to Instagram” works on an agent's reply inside a mirrored thread.",
    ]);
    expect(h.inbox.messages).toEqual([]);
  });
});

describe("/ig", () => {
  const command = (text: string) =>
    postSlackCommand(h.url, SLACK_SECRET, {
      command: "/ig",
      text,
      user_id: "U0AGENT1",
      user_name: "ana",
      channel_id: CHANNEL,
      channel_name: "ig-inbox",
      response_url: h.slack.responseUrl(`cmd-${text}`),
    });

  it.each([
    ["pause", { kind: "command", command: "pause", args: { account: undefined } }],
    ["pause @brand", { kind: "command", command: "pause", args: { account: "brand" } }],
    ["resume brand", { kind: "command", command: "resume", args: { account: "brand" } }],
    ["status", { kind: "command", command: "status", args: {} }],
  ])("/ig %s asks the core and answers ephemerally", async (text, action) => {
    h.inbox.result = { ok: true, text: `result of ${text}` };
    const res = await command(text);
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(h.slack.responses.find((r) => r.id === `cmd-${text}`)).toBeDefined());
    expect(h.slack.responses.find((r) => r.id === `cmd-${text}`)?.body).toMatchObject({
      response_type: "ephemeral",
      text: `result of ${text}`,
    });
    expect(h.inbox.actions).toEqual([
      { agent: { platform: "slack", id: "U0AGENT1", name: "Ana", roles: [] }, channel: CHANNEL, action },
    ]);
  });

  it("answers help, unknown subcommands and bad arguments in the acknowledgement", async () => {
    const help = await command("help");
    expect(JSON.parse(help.body)).toMatchObject({
      response_type: "ephemeral",
      text: expect.stringContaining("/ig status"),
    });
    const unknown = await command("foo");
    expect(JSON.parse(unknown.body).text).toBe("unknown subcommand `foo`; try /ig help");
    const bad = await command("pause one two");
    expect(JSON.parse(bad.body).text).toContain("`pause` takes at most one account");
    expect(h.inbox.actions).toEqual([]);
  });
});

describe("logs", () => {
  it("never carry what agents wrote", () => {
    const logged = JSON.stringify(h.logs);
    expect(h.logs.length).toBeGreaterThan(0);
    for (const text of ["our shop", "internal *draft*", "Thanks <3", "see you"])
      expect(logged).not.toContain(text);
  });
});
