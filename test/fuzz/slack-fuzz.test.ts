// Fuzzing what Slack sends, correctly signed: agents' thread messages with odd text, junk files and
// subtypes; /ig with any text; button, modal and shortcut payloads with random or mutated fields.
// Every request is answered below 500 (a 5xx makes Slack retry), nothing is left unhandled, and
// the thread still works afterwards.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPLY_MODAL } from "../../adapters/slack/interactions.ts";
import { CONVERSATION_ACTION_IDS } from "../../src/chat/header-text.ts";
import {
  ACCOUNT,
  AGENT,
  type BridgeHarness,
  CHANNEL,
  SECRET,
  startBridgeHarness,
} from "../helpers/bridge.ts";
import { postSlackCommand, postSlackEvent, postSlackInteraction } from "../helpers/slack.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { hugeString, jsonish, mutated, oddString } from "./arbitraries.ts";
import { sendsDrain } from "./sends-drain.ts";
import { fuzzParams, watchUnhandled } from "./watch.ts";

let h: BridgeHarness;
let root: string;
const unhandled = watchUnhandled();
const params = fuzzParams();

beforeAll(async () => {
  h = await startBridgeHarness({ LOG_LEVEL: "silent" });
  await postWebhook(h.url(), dmText(ACCOUNT, "1000000000000777", "m_fz_1", "hello", Date.now()));
  root = await h.rootOf("1000000000000777");
});

afterAll(async () => {
  await h?.close();
});

const below500 = (res: { status: number; body: string }) =>
  expect(res.status < 500, `${res.status} ${res.body.slice(0, 200)}`).toBe(true);

describe("Slack inputs under fuzzing", () => {
  it("takes any agent message in a thread without a 5xx", async () => {
    const text = fc.oneof(
      oddString,
      hugeString,
      fc.constantFrom("!", "!assign", "!snooze 99999d", ">>", "//", "!reply"),
    );
    const extra = fc.dictionary(
      fc.constantFrom("files", "subtype", "blocks", "bot_id", "thread_ts", "attachments", "edited"),
      jsonish,
      { maxKeys: 2 },
    );
    await fc.assert(
      fc.asyncProperty(text, extra, async (t, more) => {
        const ts = h.slack.seedMessage(CHANNEL, { user: AGENT.id, text: t, thread_ts: root });
        below500(
          await postSlackEvent(h.url(), SECRET, {
            type: "message",
            channel: CHANNEL,
            channel_type: "channel",
            user: AGENT.id,
            text: t,
            ts,
            thread_ts: root,
            ...more,
          }),
        );
      }),
      params,
    );
  });

  it("answers /ig with any text below 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(oddString, hugeString, fc.string()), async (t) => {
        below500(
          await postSlackCommand(h.url(), SECRET, {
            command: "/ig",
            text: t,
            user_id: AGENT.id,
            user_name: AGENT.name,
            channel_id: CHANNEL,
            response_url: h.slack.responseUrl("fuzz"),
          }),
        );
      }),
      params,
    );
  });

  it("answers mutated button, modal and shortcut payloads below 500", async () => {
    const base = {
      type: "block_actions",
      user: { id: AGENT.id, username: AGENT.name },
      channel: { id: CHANNEL },
      container: { type: "message", channel_id: CHANNEL, message_ts: root, thread_ts: root },
      message: { ts: root, thread_ts: root, text: "x" },
      trigger_id: "1.2.3",
      response_url: h.slack.responseUrl("fuzz-actions"),
      actions: [{ type: "button", action_id: CONVERSATION_ACTION_IDS.close, value: "x", block_id: "b" }],
    };
    const shortcut = {
      type: "message_action",
      callback_id: "ig_send",
      user: { id: AGENT.id },
      channel: { id: CHANNEL },
      message: { ts: root, user: AGENT.id, text: "hi", thread_ts: root },
      trigger_id: "1.2.3",
      response_url: h.slack.responseUrl("fuzz-shortcut"),
    };
    const modal = {
      type: "view_submission",
      user: { id: AGENT.id },
      view: { callback_id: REPLY_MODAL, private_metadata: "{}", state: { values: {} } },
      trigger_id: "1.2.3",
    };
    // The routing fields stay, so each case reaches a listener: a payload that no listener matches
    // is answered by Bolt only after its 3 s ack timeout (a few such cases are below).
    const routed = (template: Record<string, unknown>) =>
      mutated(template).map((m) => {
        const out = (typeof m === "object" && m !== null && !Array.isArray(m) ? m : {}) as Record<
          string,
          unknown
        >;
        out.type = template.type;
        if ("callback_id" in template) out.callback_id = template.callback_id;
        if (template.type === "view_submission")
          out.view = { ...(out.view as object), callback_id: REPLY_MODAL };
        if (template.type === "block_actions")
          out.actions = [
            {
              ...((out.actions as object[] | undefined)?.[0] ?? {}),
              action_id: CONVERSATION_ACTION_IDS.close,
            },
          ];
        return out;
      });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(base, shortcut, modal).chain(routed), async (payload) => {
        const t0 = Date.now();
        // One connection per case: after some unroutable payloads a reused keep-alive connection
        // was reset on the next request (seen once, not yet explained; see the session note).
        below500(await postSlackInteraction(h.url(), SECRET, payload, { connection: "close" }));
        if (process.env.FUZZ_DEBUG && Date.now() - t0 > 1000)
          console.log("SLOW", Date.now() - t0, JSON.stringify(payload).slice(0, 300));
      }),
      params,
    );
  }, 120_000);

  it("refuses payloads Bolt cannot route with 4xx, never 5xx", async () => {
    for (const payload of [
      { type: "view_submission", user: null, view: {} },
      { type: "message_action", callback_id: "ig_send", user: { id: AGENT.id } },
      { type: "block_actions" },
    ])
      below500(await postSlackInteraction(h.url(), SECRET, payload as Record<string, unknown>));
  });

  it("leaves nothing unhandled and the thread still answers", async () => {
    // The fuzzed messages go out first, in order (however many a long run queued).
    await sendsDrain(h.service.db);
    const { ts } = await h.agentSays(root, "still here");
    await h.settled(ts, "sent");
    expect(unhandled).toEqual([]);
  }, 600_000);
});
