// End to end: Instagram webhook → stored → mirrored by the real core through the real Bolt app and
// Web API client into a fake Slack; agents' thread replies → stored → sent by the outbound worker
// to a fake Graph API. Nothing in between is mocked.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT,
  ADMIN,
  AGENT,
  type BridgeHarness,
  CHANNEL,
  SECRET,
  said,
  startBridgeHarness,
} from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { postSlackCommand, postSlackEvent, postSlackInteraction } from "../helpers/slack.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
const now = () => Date.now();

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

describe("Instagram → Slack", () => {
  it("opens one thread per conversation with the profile, then posts every message in it, in order", async () => {
    const customer = "1000000000000001";
    for (let i = 1; i <= 3; i++)
      expect(
        (await postWebhook(h.url(), dmText(ACCOUNT, customer, `m_in_a${i}`, `hello ${i}`, now() + i))).status,
      ).toBe(200);
    const root = await h.rootOf(customer);
    const posted = await h.replies(root, 3);
    expect(posted.map((m) => m.text)).toEqual(["hello 1", "hello 2", "hello 3"].map(said));
    expect(posted[0]?.username).toBe("Customer 0001");
    expect(posted[0]?.icon_url).toBe("https://cdn.example/pic.jpg");
    const rootMsg = h.slack.message(CHANNEL, root);
    expect(JSON.stringify(rootMsg?.blocks)).toContain("customer_0001");
    expect(
      h.slack
        .callsOf("chat.postMessage")
        .filter((c) => c.args.thread_ts === undefined && String(c.args.text).includes("0001")),
    ).toHaveLength(1);
  });

  it("mirrors conversations in parallel, each in order", async () => {
    const customers = Array.from({ length: 8 }, (_, i) => `20000000000000${String(i).padStart(2, "0")}`);
    await Promise.all(
      customers.map(async (c) => {
        for (let i = 1; i <= 4; i++)
          await postWebhook(h.url(), dmText(ACCOUNT, c, `m_par_${c}_${i}`, `${c} #${i}`, now() + i));
      }),
    );
    for (const c of customers) {
      const posted = await h.replies(await h.rootOf(c), 4);
      expect(posted.map((m) => m.text)).toEqual([1, 2, 3, 4].map((i) => said(`${c} #${i}`)));
    }
  });

  it("round-trips reactions, edits and unsends onto the mirrored message", async () => {
    const customer = "1000000000000002";
    const ts = now();
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_rt_1", "blue one?", ts));
    const root = await h.rootOf(customer);
    const [mirrored] = await h.replies(root, 1);
    const react = (action: "react" | "unreact", at: number) => ({
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: at,
          messaging: [
            {
              sender: { id: customer },
              recipient: { id: ACCOUNT },
              timestamp: at,
              reaction: { mid: "m_rt_1", action, reaction: "love", emoji: "❤️" },
            },
          ],
        },
      ],
    });
    await postWebhook(h.url(), react("react", ts + 10));
    await waitFor(async () =>
      Object.keys(h.slack.reactions(CHANNEL, mirrored?.ts ?? "")).length > 0 ? true : undefined,
    );
    const reacted = h.slack.reactions(CHANNEL, mirrored?.ts ?? "");
    expect(Object.keys(reacted)).toHaveLength(1);
    await postWebhook(h.url(), react("unreact", ts + 20));
    await waitFor(async () =>
      Object.keys(h.slack.reactions(CHANNEL, mirrored?.ts ?? "")).length === 0 ? true : undefined,
    );

    await postWebhook(h.url(), {
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: ts + 30,
          messaging: [
            {
              sender: { id: customer },
              recipient: { id: ACCOUNT },
              timestamp: ts + 30,
              message_edit: { mid: "m_rt_1", text: "the BLUE one?", num_edit: 1 },
            },
          ],
        },
      ],
    });
    await waitFor(async () =>
      h.slack.message(CHANNEL, mirrored?.ts ?? "")?.text?.includes("BLUE") ? true : undefined,
    );

    await postWebhook(h.url(), {
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: ts + 40,
          messaging: [
            {
              sender: { id: customer },
              recipient: { id: ACCOUNT },
              timestamp: ts + 40,
              message: { mid: "m_rt_1", is_deleted: true },
            },
          ],
        },
      ],
    });
    await waitFor(async () =>
      h.slack.message(CHANNEL, mirrored?.ts ?? "") === undefined ? true : undefined,
    );
    const { rows } = await h.service.db.query<{ text: string | null }>(
      "SELECT text FROM messages WHERE ig_message_id = 'm_rt_1'",
    );
    expect(rows[0]?.text).toBeNull();
  });

  it("posts an echo from the Instagram app once, attributed, as the brand", async () => {
    const customer = "1000000000000003";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_e_1", "hi", now()));
    const root = await h.rootOf(customer);
    const echo = {
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: now(),
          messaging: [
            {
              sender: { id: ACCOUNT },
              recipient: { id: customer },
              timestamp: now() + 5,
              message: { mid: "m_e_app", text: "answered from the app", is_echo: true },
            },
          ],
        },
      ],
    };
    await postWebhook(h.url(), echo);
    await postWebhook(h.url(), echo); // Meta redelivers: still once
    const posted = await h.replies(root, 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.slack.thread(CHANNEL, root).slice(1)).toHaveLength(2);
    expect(posted[1]?.username).toBe("@brand");
    expect(JSON.stringify(posted[1]?.blocks)).toContain("sent from Instagram");
  });
});

describe("Slack → Instagram", () => {
  it("sends an agent's thread reply as a RESPONSE, marks it ✅, and does not mirror its echo", async () => {
    const customer = "1000000000000004";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_r_1", "price?", now()));
    const root = await h.rootOf(customer);
    await h.replies(root, 1);
    const before = h.sends().length;
    const { ts } = await h.agentSays(root, "It is *25 €*, <https://shop.example|here>");
    await h.settled(ts, "sent");
    const sent = h.sends().slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toMatchObject({
      recipient: { id: customer },
      messaging_type: "RESPONSE",
      message: { text: expect.stringContaining("https://shop.example") },
    });
    await waitFor(async () => (h.slack.reactions(CHANNEL, ts).white_check_mark ? true : undefined));
    // The echo of our own send.
    const mid = (
      await h.service.db.query<{ ig_message_id: string }>(
        "SELECT ig_message_id FROM messages WHERE chat_ref = $1",
        [ts],
      )
    ).rows[0]?.ig_message_id;
    await postWebhook(h.url(), {
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: now(),
          messaging: [
            {
              sender: { id: ACCOUNT },
              recipient: { id: customer },
              timestamp: now(),
              message: { mid, text: "It is *25 €*", is_echo: true },
            },
          ],
        },
      ],
    });
    await waitFor(async () => {
      const { rows } = await h.service.db.query<{ status: string }>(
        "SELECT status FROM inbound_events WHERE dedupe_key LIKE $1",
        [`%${mid}%`],
      );
      return rows[0]?.status === "processed" ? true : undefined;
    });
    expect(h.slack.thread(CHANNEL, root).filter((m) => m.username === "@brand")).toHaveLength(0);
  });

  it("takes a Slack retry of the same message once", async () => {
    const customer = "1000000000000005";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_dup_1", "hello", now()));
    const root = await h.rootOf(customer);
    const before = h.sends().length;
    const { ts, event } = await h.agentSays(root, "only once please");
    await postSlackEvent(h.url(), SECRET, event, { retryNum: 1 });
    await postSlackEvent(h.url(), SECRET, event, { retryNum: 2 });
    await h.settled(ts, "sent");
    await new Promise((r) => setTimeout(r, 300));
    expect(
      h
        .sends()
        .slice(before)
        .filter((r) => JSON.stringify(r.body).includes("only once please")),
    ).toHaveLength(1);
  });

  it("keeps notes internal and answers text commands in the thread", async () => {
    const customer = "1000000000000006";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_note_1", "hello", now()));
    const root = await h.rootOf(customer);
    const before = h.sends().length;
    const { ts } = await h.agentSays(root, "// she asked yesterday too");
    await h.agentSays(root, "!status");
    await waitFor(async () =>
      h.slack.thread(CHANNEL, root).some((m) => m.text?.includes("Reply window open")) ? true : undefined,
    );
    expect(h.sends().length).toBe(before);
    expect(await h.stateOf(ts)).toBeUndefined();
  });

  it("refuses a reply after the 24 h window (no human-agent feature) with a notice and a Retry button", async () => {
    const customer = "1000000000000007";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_w_1", "hello", now() - 3 * 86_400_000));
    const root = await h.rootOf(customer);
    const before = h.sends().length;
    const { ts } = await h.agentSays(root, "sorry for the wait");
    const s = await h.settled(ts, "failed");
    expect(s.delivery_error).toMatch(/window has closed/);
    expect(h.sends().length).toBe(before);
    await waitFor(async () => (h.slack.reactions(CHANNEL, ts).warning ? true : undefined));
    const notice = await waitFor(async () =>
      h.slack.thread(CHANNEL, root).find((m) => m.text?.includes("Not delivered")),
    );
    expect(JSON.stringify(notice.blocks)).toContain("ig_retry");
    // The customer writes again; the Retry button sends the reply, marked ✅ instead of ⚠️.
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_w_2", "still there?", now()));
    await waitFor(async () =>
      h.slack.thread(CHANNEL, root).some((m) => m.text?.endsWith("still there?")) ? true : undefined,
    );
    const messageId = /"value":"(\d+)"/.exec(JSON.stringify(notice.blocks))?.[1];
    await postSlackInteraction(h.url(), SECRET, {
      type: "block_actions",
      user: { id: AGENT.id, username: AGENT.name, name: AGENT.name },
      api_app_id: "A0APP",
      team: { id: "T0FAKE" },
      channel: { id: CHANNEL },
      container: { type: "message", channel_id: CHANNEL, message_ts: notice.ts },
      message: { ts: notice.ts, thread_ts: root },
      trigger_id: "2.trigger",
      response_url: h.slack.responseUrl("retry"),
      actions: [{ type: "button", action_id: "ig_retry", block_id: "r", value: messageId, action_ts: "2" }],
    });
    await h.settled(ts, "sent");
    await waitFor(async () => {
      const r = h.slack.reactions(CHANNEL, ts);
      return r.white_check_mark && !r.warning ? true : undefined;
    });
  });

  it("sends a comment thread's first reply as the one private reply, and refuses a second until the customer answers", async () => {
    const root = "17850000000000001";
    const comment = (id: string, text: string, parent?: string) =>
      commentWebhook(ACCOUNT, {
        id,
        text,
        from: { id: "1234567890123456", username: "jane_doe" },
        productType: "FEED",
        ...(parent ? { parentId: parent } : {}),
      });
    await postWebhook(h.url(), comment(root, "how much?"));
    await postWebhook(h.url(), comment("17850000000000002", "also in red?", root));
    const threadTs = await h.commentRootOf(root);
    const [reply] = await h.replies(threadTs, 1);
    expect(reply?.text).toEqual(said("also in red?"));
    const rootBlocks = JSON.stringify(h.slack.message(CHANNEL, threadTs)?.blocks);
    for (const action of [
      "ig_comment_hide",
      "ig_comment_delete",
      "ig_comment_reply_public",
      "ig_comment_reply_private",
    ])
      expect(rootBlocks).toContain(action);
    expect(rootBlocks).toContain("Summer drop");

    const before = h.sends().length;
    const first = await h.agentSays(threadTs, "DM'd you the price!");
    await h.settled(first.ts, "sent");
    expect(h.sends().slice(before)[0]?.body).toEqual({
      recipient: { comment_id: root },
      message: { text: "DM'd you the price!" },
    });
    const second = await h.agentSays(threadTs, "and the red one?");
    const s = await h.settled(second.ts, "failed");
    expect(s.delivery_error).toMatch(/until the customer answers/);
    expect(h.sends().length).toBe(before + 1);
    // The root no longer offers a private reply.
    await waitFor(async () =>
      JSON.stringify(h.slack.message(CHANNEL, threadTs)?.blocks).includes("ig_comment_reply_private")
        ? undefined
        : true,
    );
  });

  it("hides a comment from its button and says who did it", async () => {
    const root = "17850000000000009";
    await postWebhook(h.url(), {
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: now(),
          changes: [
            {
              field: "comments",
              value: {
                id: root,
                text: "spam spam",
                from: { id: "1234567890123499", username: "spammer" },
                media: { id: "17900000000000001" },
              },
            },
          ],
        },
      ],
    });
    const threadTs = await h.commentRootOf(root);
    const res = await postSlackInteraction(h.url(), SECRET, {
      type: "block_actions",
      user: { id: AGENT.id, username: AGENT.name, name: AGENT.name },
      api_app_id: "A0APP",
      team: { id: "T0FAKE" },
      channel: { id: CHANNEL },
      container: { type: "message", channel_id: CHANNEL, message_ts: threadTs },
      message: { ts: threadTs, thread_ts: threadTs },
      trigger_id: "1.trigger",
      response_url: h.slack.responseUrl("hide"),
      actions: [{ type: "button", action_id: "ig_comment_hide", block_id: "b", value: root, action_ts: "1" }],
    });
    expect(res.status).toBe(200);
    await waitFor(async () =>
      h.slack.thread(CHANNEL, threadTs).some((m) => m.text?.includes("hid the comment")) ? true : undefined,
    );
    expect(h.graph.requests.some((r) => r.path.endsWith(`/${root}`) && r.query.hide === "true")).toBe(true);
    const { rows } = await h.service.db.query<{ hidden: boolean }>(
      "SELECT hidden FROM comment_threads WHERE root_comment_id = $1",
      [root],
    );
    expect(rows[0]?.hidden).toBe(true);
  });

  it("sends an agent's file through a signed link Instagram can fetch", async () => {
    const customer = "1000000000000008";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_f_1", "photo?", now()));
    const root = await h.rootOf(customer);
    h.slack.addFile({
      id: "F0PHOTO",
      name: "shoe.png",
      mimetype: "image/png",
      content: Buffer.from("PNGDATA"),
    });
    const before = h.sends().length;
    const { ts } = await h.agentSays(root, "here it is", {
      subtype: "file_share",
      files: [{ id: "F0PHOTO", name: "shoe.png", mimetype: "image/png", size: 7 }],
    });
    await h.settled(ts, "sent");
    const sent = h.sends().slice(before);
    expect(sent.map((r) => (r.body as { message: object }).message)).toEqual([
      { text: "here it is" },
      { attachment: { type: "image", payload: { url: expect.stringContaining("/files/") } } },
    ]);
    const fileSend = sent[1]?.body as { message: { attachment: { payload: { url: string } } } };
    const url = fileSend.message.attachment.payload.url;
    const local = url.replace(/^https?:\/\/[^/]+/, h.url());
    const file = await fetch(local);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe("PNGDATA");
    // One character of the signature changed (the token keeps its format): forged, 403.
    const forged = local.replace(
      /(\/files\/[^./]+\.)(.)/,
      (_, head: string, c: string) => `${head}${c === "A" ? "B" : "A"}`,
    );
    expect((await fetch(forged)).status).toBe(403);
  });

  it("holds replies while paused by an admin and sends them in order on resume", async () => {
    const customer = "1000000000000010";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_p_1", "hello", now()));
    const root = await h.rootOf(customer);
    const refused = await postSlackCommand(h.url(), SECRET, {
      command: "/ig",
      text: "pause",
      user_id: AGENT.id,
      user_name: AGENT.name,
      channel_id: CHANNEL,
      response_url: h.slack.responseUrl("p0"),
    });
    expect(refused.status).toBe(200);
    await postSlackCommand(h.url(), SECRET, {
      command: "/ig",
      text: "pause brand",
      user_id: ADMIN.id,
      user_name: ADMIN.name,
      channel_id: CHANNEL,
      response_url: h.slack.responseUrl("p1"),
    });
    await waitFor(async () =>
      (
        await h.service.db.query<{ p: Date | null }>(
          "SELECT paused_at AS p FROM instagram_accounts WHERE id = $1",
          [ACCOUNT],
        )
      ).rows[0]?.p
        ? true
        : undefined,
    );
    const before = h.sends().length;
    const a = await h.agentSays(root, "first");
    const b = await h.agentSays(root, "second");
    await h.settled(a.ts, "held");
    await waitFor(async () => (h.slack.reactions(CHANNEL, a.ts).double_vertical_bar ? true : undefined));
    expect(h.sends().length).toBe(before);
    await postSlackCommand(h.url(), SECRET, {
      command: "/ig",
      text: "resume brand",
      user_id: ADMIN.id,
      user_name: ADMIN.name,
      channel_id: CHANNEL,
      response_url: h.slack.responseUrl("p2"),
    });
    await h.settled(b.ts, "sent");
    const texts = h
      .sends()
      .slice(before)
      .map((r) => (r.body as { message: { text?: string } }).message.text);
    expect(texts).toEqual(["first", "second"]);
  });

  it("keeps an internal-by-default thread internal unless the reply prefix or the shortcut sends", async () => {
    await h.service.db.query(
      `UPDATE instagram_accounts SET settings = settings || '{"internalByDefault": true}'::jsonb WHERE id = $1`,
      [ACCOUNT],
    );
    try {
      const customer = "1000000000000011";
      await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_int_1", "hello", now()));
      const root = await h.rootOf(customer);
      const before = h.sends().length;
      const discussion = await h.agentSays(root, "she wants the blue one, right?");
      const reply = await h.agentSays(root, ">> Hi! The blue one is in stock.");
      await h.settled(reply.ts, "sent");
      expect(await h.stateOf(discussion.ts)).toBeUndefined();
      const texts = () =>
        h
          .sends()
          .slice(before)
          .map((r) => (r.body as { message: { text?: string } }).message.text);
      expect(texts()).toEqual(["Hi! The blue one is in stock."]);
      // The shortcut sends a message that stayed internal.
      const res = await postSlackInteraction(h.url(), SECRET, {
        type: "message_action",
        callback_id: "ig_send",
        trigger_id: "555.trigger",
        message_ts: discussion.ts,
        response_url: h.slack.responseUrl("shortcut"),
        message: {
          type: "message",
          user: AGENT.id,
          text: "she wants the blue one, right?",
          ts: discussion.ts,
          thread_ts: root,
        },
        user: { id: AGENT.id, name: AGENT.name },
        channel: { id: CHANNEL, name: "ig-inbox" },
        team: { id: "T0FAKE", domain: "fake" },
        token: "legacy",
        action_ts: "5.5",
      });
      expect(res.status).toBe(200);
      await h.settled(discussion.ts, "sent");
      expect(texts()).toEqual(["Hi! The blue one is in stock.", "she wants the blue one, right?"]);
    } finally {
      await h.service.db.query("UPDATE instagram_accounts SET settings = '{}'::jsonb WHERE id = $1", [
        ACCOUNT,
      ]);
    }
  });

  it("refuses requests with a bad Slack signature", async () => {
    const res = await postSlackEvent(
      h.url(),
      SECRET,
      { type: "message", channel: CHANNEL, user: AGENT.id, text: "x", ts: "1.1", thread_ts: "1.0" },
      { signature: "v0=deadbeef" },
    );
    expect(res.status).toBe(401);
  });

  it("reuses the same thread after a restart", async () => {
    const customer = "1000000000000001";
    const root = await h.rootOf(customer);
    await h.restart();
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_in_a4", "back again", now() + 100));
    const posted = await h.replies(root, 4);
    expect(posted.at(-1)?.text).toEqual(said("back again"));
  });
});
