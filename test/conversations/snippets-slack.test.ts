// Saved replies on Slack, end to end: the real core, Bolt app and Web API client against a fake
// Slack, and the outbound worker against a fake Graph API. An agent types `!!NAME more text` (or
// uses the "Send saved reply" shortcut's modal): the customer receives the expanded text once,
// pictures first and quick replies under it; the thread shows what was sent; an unknown name is
// answered only to the agent; a signature names the agent when the account says so; all of it
// holds after a restart.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importSnippets } from "../../src/snippets/store.ts";
import type { RecordedRequest } from "../fakes/graph-server.ts";
import {
  ACCOUNT,
  AGENT,
  type BridgeHarness,
  CHANNEL,
  SECRET,
  startBridgeHarness,
} from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { postSlackEvent, postSlackInteraction } from "../helpers/slack.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
const now = () => Date.now();
const OPERATOR = { kind: "operator" as const, id: "cli:test" };

type Sent = { recipient: { id: string }; message: Record<string, unknown>; messaging_type?: string };
const body = (r: RecordedRequest) => r.body as Sent;

beforeAll(async () => {
  h = await startBridgeHarness();
  await importSnippets(
    h.service.db,
    [
      {
        account: null,
        name: "thanks",
        text: "Thanks {first_name}! {agent} from {account} here.",
        attachments: [],
        quickReplies: [
          { title: "Track order", payload: "Track order" },
          { title: "Talk to us", payload: "HUMAN" },
        ],
      },
      {
        account: ACCOUNT,
        name: "menu",
        text: "Here is our menu, @{username}.",
        attachments: [
          { type: "image", url: "https://cdn.example/menu.png" },
          { type: "file", url: "https://cdn.example/menu.pdf" },
        ],
        quickReplies: [],
      },
      {
        account: null,
        name: "picks",
        text: "Our picks for you, {first_name}:",
        attachments: [],
        quickReplies: [],
        cards: [
          {
            title: "Blue Hoodie for {first_name}",
            subtitle: "$49",
            imageUrl: "https://cdn.example/h.jpg",
            url: "https://shop.example/h",
            buttons: [
              { title: "View", url: "https://shop.example/h" },
              { title: "Ask a question", payload: "ASK_HOODIE" },
            ],
          },
          { title: "Socks", subtitle: "$9" },
        ],
      },
    ],
    "test",
    OPERATOR,
  );
});

afterAll(async () => {
  await h?.close();
});

async function conversation(customer: string, mid: string): Promise<string> {
  await postWebhook(h.url(), dmText(ACCOUNT, customer, mid, "hello?", now()));
  const root = await h.rootOf(customer);
  await h.replies(root, 1);
  return root;
}

const sendsTo = (customer: string) => h.sends().filter((r) => body(r).recipient.id === customer);

describe("!!NAME in a Slack thread", () => {
  it("sends the expanded saved reply once, with the text after it, and shows it in the thread", async () => {
    const customer = "1000000000000701";
    const root = await conversation(customer, "m_snip_1");
    const said = await h.agentSays(root, "!!thanks See you on Friday.");
    await h.settled(said.ts, "sent");
    const expected = "Thanks Customer! Ana from brand here.\nSee you on Friday.";
    expect(sendsTo(customer).map(body)).toEqual([
      {
        recipient: { id: customer },
        messaging_type: "RESPONSE",
        message: {
          text: expected,
          quick_replies: [
            { content_type: "text", title: "Track order", payload: "Track order" },
            { content_type: "text", title: "Talk to us", payload: "HUMAN" },
          ],
        },
      },
    ]);
    // The thread shows what the customer got, under the agent's name; the agent's own message
    // carries the delivery mark.
    const shown = await waitFor(async () =>
      h.slack.thread(CHANNEL, root).find((m) => m.bot_id && m.text?.includes("Thanks Customer!")),
    );
    expect(shown.username).toBe("Ana");
    expect(JSON.stringify(shown.blocks)).toContain("See you on Friday.");
    expect(JSON.stringify(shown.blocks)).toContain("quick replies: Track order · Talk to us");
    await waitFor(async () =>
      Object.keys(h.slack.reactions(CHANNEL, said.ts)).join() === "white_check_mark" ? true : undefined,
    );
    const { rows } = await h.service.db.query<{ text: string; details: { snippet?: string } }>(
      "SELECT text, details FROM messages WHERE chat_ref = $1",
      [said.ts],
    );
    expect(rows[0]).toMatchObject({ text: expected, details: { snippet: "thanks" } });
    const { rows: audit } = await h.service.db.query<{ details: { snippet?: string } }>(
      "SELECT details FROM audit_log WHERE action = 'reply_sent' AND target = $1",
      [`customer:${customer}`],
    );
    expect(audit.map((a) => a.details.snippet)).toEqual(["thanks"]);

    // Slack delivers the same event again: nothing more is sent or shown.
    const posts = h.slack.thread(CHANNEL, root).length;
    expect((await postSlackEvent(h.url(), SECRET, said.event)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(sendsTo(customer)).toHaveLength(1);
    expect(h.slack.thread(CHANNEL, root)).toHaveLength(posts);
  });

  it("sends the account's own saved reply's pictures and document first, then its text", async () => {
    const customer = "1000000000000702";
    const root = await conversation(customer, "m_snip_2");
    const said = await h.agentSays(root, "!!MENU");
    await h.settled(said.ts, "sent");
    expect(sendsTo(customer).map((r) => body(r).message)).toEqual([
      { attachment: { type: "image", payload: { url: "https://cdn.example/menu.png" } } },
      { attachment: { type: "file", payload: { url: "https://cdn.example/menu.pdf" } } },
      { text: "Here is our menu, @customer_0702." },
    ]);
  });

  it("sends a saved reply's cards as one generic template after its text, and shows them in the thread", async () => {
    const customer = "1000000000000708";
    const root = await conversation(customer, "m_snip_cards");
    const said = await h.agentSays(root, "!!picks");
    await h.settled(said.ts, "sent");
    expect(sendsTo(customer).map(body)).toEqual([
      {
        recipient: { id: customer },
        messaging_type: "RESPONSE",
        message: { text: "Our picks for you, Customer:" },
      },
      {
        recipient: { id: customer },
        messaging_type: "RESPONSE",
        message: {
          attachment: {
            type: "template",
            payload: {
              template_type: "generic",
              elements: [
                {
                  title: "Blue Hoodie for Customer",
                  subtitle: "$49",
                  image_url: "https://cdn.example/h.jpg",
                  default_action: { type: "web_url", url: "https://shop.example/h" },
                  buttons: [
                    { type: "web_url", url: "https://shop.example/h", title: "View" },
                    { type: "postback", title: "Ask a question", payload: "ASK_HOODIE" },
                  ],
                },
                { title: "Socks", subtitle: "$9" },
              ],
            },
          },
        },
      },
    ]);
    const shown = await waitFor(async () =>
      h.slack.thread(CHANNEL, root).find((m) => m.bot_id && m.text?.includes("Our picks for you")),
    );
    const blocks = JSON.stringify(shown.blocks);
    for (const seen of [
      "Blue Hoodie for Customer",
      "$49",
      "https://shop.example/h",
      "Ask a question",
      "ASK_HOODIE",
      "Socks",
    ])
      expect(blocks).toContain(seen);
  });

  it("answers an unknown name to the agent alone and sends nothing", async () => {
    const customer = "1000000000000703";
    const root = await conversation(customer, "m_snip_3");
    const posts = h.slack.thread(CHANNEL, root).length;
    const ephemerals = h.slack.callsOf("chat.postEphemeral").length;
    const said = await h.agentSays(root, "!!thnaks");
    const answer = await waitFor(async () => h.slack.callsOf("chat.postEphemeral").slice(ephemerals)[0]);
    expect(answer.args).toMatchObject({ channel: CHANNEL, user: AGENT.id, thread_ts: root });
    expect(String(answer.args.text)).toMatch(
      /No saved reply “thnaks” for this account\. Saved replies here: menu, picks, thanks\. Nothing was sent\./,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(sendsTo(customer)).toEqual([]);
    expect(h.slack.thread(CHANNEL, root)).toHaveLength(posts + 1); // the agent's own message only
    expect(await h.stateOf(said.ts)).toBeUndefined();
  });

  it("signs human replies with the agent's name when the account says so", async () => {
    const customer = "1000000000000704";
    const root = await conversation(customer, "m_snip_4");
    await h.service.db.query(
      `UPDATE instagram_accounts SET settings = settings || '{"signature": "name"}'::jsonb WHERE id = $1`,
      [ACCOUNT],
    );
    try {
      const plain = await h.agentSays(root, "It ships tomorrow.");
      await h.settled(plain.ts, "sent");
      const saved = await h.agentSays(root, "!!thanks");
      await h.settled(saved.ts, "sent");
      expect(sendsTo(customer).map((r) => body(r).message.text)).toEqual([
        "It ships tomorrow.\n— Ana",
        "Thanks Customer! Ana from brand here.\n— Ana",
      ]);
    } finally {
      await h.service.db.query(
        "UPDATE instagram_accounts SET settings = settings - 'signature' WHERE id = $1",
        [ACCOUNT],
      );
    }
    // Back to the brand alone (the default).
    const after = await h.agentSays(root, "Anything else?");
    await h.settled(after.ts, "sent");
    expect(body(sendsTo(customer).at(-1) as RecordedRequest).message.text).toBe("Anything else?");
  });
});

describe("the Send saved reply shortcut", () => {
  function shortcut(ts: string, root: string) {
    return {
      type: "message_action",
      callback_id: "ig_snippet",
      trigger_id: "777.trigger",
      message_ts: ts,
      response_url: h.slack.responseUrl("snippet-shortcut"),
      message: { type: "message", user: AGENT.id, text: "hello?", ts, thread_ts: root },
      user: { id: AGENT.id, name: AGENT.name },
      channel: { id: CHANNEL, name: "ig-inbox" },
      team: { id: "T0FAKE", domain: "fake" },
      token: "legacy",
      action_ts: "7.7",
    };
  }

  it("opens a picker of the account's saved replies and sends the one picked, after a restart too", async () => {
    const customer = "1000000000000705";
    const root = await conversation(customer, "m_snip_5");
    await h.restart();
    const customerPost = h.slack.thread(CHANNEL, root)[1];
    const opened = h.slack.callsOf("views.open").length;
    expect((await postSlackInteraction(h.url(), SECRET, shortcut(customerPost?.ts ?? "", root))).status).toBe(
      200,
    );
    const call = await waitFor(async () => h.slack.callsOf("views.open")[opened]);
    const view = call.args.view as {
      callback_id: string;
      private_metadata: string;
      blocks: { block_id: string; element: { options?: { value: string; text: { text: string } }[] } }[];
    };
    expect(view.callback_id).toBe("ig_snippet_send");
    const options = view.blocks.find((b) => b.block_id === "snippet")?.element.options ?? [];
    expect(options.map((o) => o.value)).toEqual(["menu", "picks", "thanks"]);
    expect(options[2]?.text.text).toMatch(/^thanks · Thanks \{first_name\}!/);

    const submit = (name: string | undefined, text: string | null) =>
      postSlackInteraction(h.url(), SECRET, {
        type: "view_submission",
        team: { id: "T0FAKE", domain: "fake" },
        user: { id: AGENT.id, username: AGENT.name, name: AGENT.name, team_id: "T0FAKE" },
        api_app_id: "A0APP",
        token: "legacy",
        trigger_id: "778.trigger",
        view: {
          id: "V1",
          type: "modal",
          callback_id: view.callback_id,
          private_metadata: view.private_metadata,
          state: {
            values: {
              snippet: {
                name:
                  name === undefined
                    ? { type: "static_select", selected_option: null }
                    : {
                        type: "static_select",
                        selected_option: { value: name, text: { type: "plain_text", text: name } },
                      },
              },
              extra: { text: { type: "plain_text_input", value: text } },
            },
          },
          hash: "h",
        },
      });
    const empty = await submit(undefined, null);
    expect(JSON.parse(empty.body)).toEqual({
      response_action: "errors",
      errors: { snippet: "Pick a saved reply." },
    });

    expect((await submit("thanks", "Your parcel left today.")).status).toBe(200);
    const expected = "Thanks Customer! Ana from brand here.\nYour parcel left today.";
    const sent = await waitFor(async () => sendsTo(customer)[0]);
    expect(body(sent).message.text).toBe(expected);
    // No message of the agent's: the post showing the reply carries its delivery mark.
    const shown = await waitFor(async () =>
      h.slack.thread(CHANNEL, root).find((m) => m.bot_id && m.text?.includes("Your parcel left today.")),
    );
    await h.settled(shown.ts, "sent");
    await waitFor(async () =>
      Object.keys(h.slack.reactions(CHANNEL, shown.ts)).includes("white_check_mark") ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(sendsTo(customer)).toHaveLength(1);
  });

  it("tells the agent when there is nothing to pick", async () => {
    const ephemerals = h.slack.callsOf("chat.postEphemeral").length;
    // A thread that is no mirrored conversation.
    const ts = h.slack.seedMessage(CHANNEL, { user: AGENT.id, text: "team chat" });
    await postSlackInteraction(h.url(), SECRET, shortcut(ts, ts));
    const answer = await waitFor(async () => h.slack.callsOf("chat.postEphemeral").slice(ephemerals)[0]);
    expect(String(answer.args.text)).toMatch(/No saved reply to send here/);
  });
});
