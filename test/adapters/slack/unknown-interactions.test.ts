// Buttons, forms, shortcuts and commands the service does not know, through the real Bolt app and
// the fake Slack: acknowledged at once (not left for Bolt's 404 after 3 s) and the person told.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UNKNOWN_TEXT } from "../../../adapters/slack/unknown-interactions.ts";
import { waitFor } from "../../helpers/service.ts";
import {
  blockActionPayload,
  postSlackCommand,
  postSlackInteraction,
  SLACK_SECRET,
  type SlackHarness,
  startSlackHarness,
} from "../../helpers/slack.ts";

const CHANNEL = "C0MIRROR";
const USER = { id: "U0AGENT1", name: "ana" };
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
  h.inbox.actions = [];
  h.logs.length = 0;
});

/** A click on the root's Take button, renamed to an action id the service does not know (a button
 * from an older version of the service, or another app's). */
function unknownClick(actionId: string) {
  const message = h.slack.message(CHANNEL, root);
  if (!message) throw new Error("no root");
  const payload = blockActionPayload(message, "ig_conversation_take", USER);
  const [action] = payload.actions as Record<string, unknown>[];
  return {
    ...payload,
    response_url: h.slack.responseUrl(actionId),
    actions: [{ ...action, action_id: actionId }],
  };
}

const unknownLogs = () =>
  h.logs.filter((l) => typeof l.msg === "string" && l.msg.startsWith("slack request no listener handles"));

describe("unknown interactions", () => {
  it("acknowledges an unknown button with 200 and tells the clicker, once in the log", async () => {
    const res = await postSlackInteraction(h.url, SLACK_SECRET, unknownClick("ig_old_button"));
    // Bolt's own answer to an unacknowledged request is a 404 after 3 s.
    expect(res.status).toBe(200);
    const answer = await waitFor(
      async () => h.slack.responses.find((r) => r.id === "ig_old_button")?.body,
      10_000,
      "the ephemeral answer",
    );
    expect(answer).toMatchObject({ response_type: "ephemeral", replace_original: false });
    expect(answer.text).toBe(UNKNOWN_TEXT.button);
    expect(h.inbox.actions).toEqual([]);

    const again = await postSlackInteraction(h.url, SLACK_SECRET, unknownClick("ig_old_button"));
    expect(again.status).toBe(200);
    await waitFor(async () =>
      h.slack.responses.filter((r) => r.id === "ig_old_button").length === 2 ? true : undefined,
    );
    expect(unknownLogs()).toHaveLength(1);
    expect(unknownLogs()[0]).toMatchObject({ level: 40, type: "block_actions", id: "ig_old_button" });
  });

  it("only acknowledges a link button's click: the browser opened the page", async () => {
    const payload = unknownClick("ig_link_button");
    const [action] = payload.actions as Record<string, unknown>[];
    const res = await postSlackInteraction(h.url, SLACK_SECRET, {
      ...payload,
      actions: [{ ...action, url: "https://www.instagram.com/brand" }],
    });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.slack.responses.some((r) => r.id === "ig_link_button")).toBe(false);
    expect(unknownLogs()).toEqual([]);
  });

  it("answers through chat.postEphemeral in the thread when the click has no response_url", async () => {
    const { response_url: _, ...payload } = unknownClick("ig_gone");
    const before = h.slack.callsOf("chat.postEphemeral").length;
    const res = await postSlackInteraction(h.url, SLACK_SECRET, payload);
    expect(res.status).toBe(200);
    const call = await waitFor(
      async () => h.slack.callsOf("chat.postEphemeral")[before],
      10_000,
      "ephemeral",
    );
    expect(call.args).toMatchObject({ channel: CHANNEL, user: USER.id, text: UNKNOWN_TEXT.button });
  });

  it("still hands a known button to the core and adds no note of its own", async () => {
    const message = h.slack.message(CHANNEL, root);
    if (!message) throw new Error("no root");
    const res = await postSlackInteraction(
      h.url,
      SLACK_SECRET,
      blockActionPayload(message, "ig_conversation_take", USER),
    );
    expect(res.status).toBe(200);
    await waitFor(async () => (h.inbox.actions.length === 1 ? true : undefined));
    expect(h.inbox.actions[0]?.action).toEqual({ kind: "conversation", change: { op: "take" } });
    expect(unknownLogs()).toEqual([]);
  });

  it("answers an unknown slash command in the acknowledgement itself", async () => {
    const res = await postSlackCommand(h.url, SLACK_SECRET, {
      command: "/instagram",
      text: "queue",
      user_id: USER.id,
      user_name: USER.name,
      channel_id: CHANNEL,
      response_url: h.slack.responseUrl("cmd"),
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      response_type: "ephemeral",
      text: UNKNOWN_TEXT.command("/instagram"),
    });
    expect(h.inbox.actions).toEqual([]);
    expect(unknownLogs()[0]).toMatchObject({ type: "command", id: "/instagram" });
  });

  it("replaces an unknown form with a note, and closes an unknown one quietly", async () => {
    const view = {
      id: "V0OLD",
      type: "modal",
      callback_id: "ig_old_form",
      private_metadata: "",
      state: { values: {} },
    };
    const submit = await postSlackInteraction(h.url, SLACK_SECRET, {
      type: "view_submission",
      user: { id: USER.id, name: USER.name, team_id: "T0FAKE" },
      team: { id: "T0FAKE", domain: "fake" },
      api_app_id: "A0APP",
      trigger_id: "1.trigger",
      view,
    });
    expect(submit.status).toBe(200);
    const answer = JSON.parse(submit.body);
    expect(answer.response_action).toBe("update");
    expect(JSON.stringify(answer.view)).toContain("This form is no longer active");

    const closed = await postSlackInteraction(h.url, SLACK_SECRET, {
      type: "view_closed",
      user: { id: USER.id, name: USER.name, team_id: "T0FAKE" },
      team: { id: "T0FAKE", domain: "fake" },
      api_app_id: "A0APP",
      view,
      is_cleared: false,
    });
    expect(closed.status).toBe(200);
    expect(closed.body).toBe("");
  });

  it("tells the person about an unknown message shortcut and opens a note for a global one", async () => {
    const message = h.slack.message(CHANNEL, root);
    const shortcut = await postSlackInteraction(h.url, SLACK_SECRET, {
      type: "message_action",
      callback_id: "ig_old_shortcut",
      trigger_id: "2.trigger",
      response_url: h.slack.responseUrl("shortcut"),
      user: { id: USER.id, name: USER.name, team_id: "T0FAKE" },
      team: { id: "T0FAKE", domain: "fake" },
      channel: { id: CHANNEL, name: "instagram" },
      message: { type: "message", ts: message?.ts, text: message?.text },
    });
    expect(shortcut.status).toBe(200);
    const answer = await waitFor(
      async () => h.slack.responses.find((r) => r.id === "shortcut")?.body,
      10_000,
      "the shortcut's answer",
    );
    expect(answer.text).toBe(UNKNOWN_TEXT.shortcut);

    const opened = h.slack.callsOf("views.open").length;
    const global = await postSlackInteraction(h.url, SLACK_SECRET, {
      type: "shortcut",
      callback_id: "ig_old_global",
      trigger_id: "3.trigger",
      user: { id: USER.id, username: USER.name, team_id: "T0FAKE" },
      team: { id: "T0FAKE", domain: "fake" },
    });
    expect(global.status).toBe(200);
    const call = await waitFor(async () => h.slack.callsOf("views.open")[opened], 10_000, "views.open");
    expect(JSON.stringify(call.args.view)).toContain("not known to threadbridge");
  });
});
