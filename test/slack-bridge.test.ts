// End to end: Instagram webhook → stored → mirrored by the real core through the real Bolt app and
// Web API client into a fake Slack; agents' thread replies → stored → sent by the outbound worker
// to a fake Graph API. Nothing in between is mocked.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount } from "../src/instagram/accounts.ts";
import { TokenCipher } from "../src/instagram/token-cipher.ts";
import type { Service } from "../src/service.ts";
import { type GraphServer, type RecordedRequest, startGraphServer } from "./fakes/graph-server.ts";
import { type SlackServer, startSlackServer } from "./fakes/slack-server.ts";
import { TEST_KEY, type TestEnv, startTestService, testEnv, waitFor } from "./helpers/service.ts";
import { postSlackCommand, postSlackEvent, postSlackInteraction } from "./helpers/slack.ts";
import { dmText, postWebhook } from "./helpers/webhook.ts";

const ACCOUNT = "17841400000000001";
const CHANNEL = "C0INSTAGRAM";
const SECRET = "slack-signing-secret-e2e";
const AGENT = { id: "U0AGENT1", name: "ana", real_name: "Ana Lima", display_name: "Ana" };
const ADMIN = { id: "U0ADMIN1", name: "root", real_name: "Ro Ot", display_name: "Root" };

let slack: SlackServer;
let graph: GraphServer;
let t: TestEnv;
let service: Service;
let midSeq = 0;

function graphResponder(req: RecordedRequest) {
  if (req.method === "POST" && req.path.endsWith("/messages")) {
    midSeq += 1;
    const body = req.body as { recipient: { id?: string; comment_id?: string } };
    return { body: { recipient_id: body.recipient.id ?? "1234567890123456", message_id: `m_sent_${midSeq}` } };
  }
  if (req.method === "GET" && /\/\d{16}$/.test(req.path))
    return {
      body: {
        name: `Customer ${req.path.slice(-4)}`,
        username: `customer_${req.path.slice(-4)}`,
        profile_pic: "https://cdn.example/pic.jpg",
        is_user_follow_business: true,
        follower_count: 42,
      },
    };
  if (req.method === "GET" && req.path.includes("/1790"))
    return { body: { id: "17900000000000001", caption: "Summer drop", permalink: "https://instagram.com/p/abc", media_type: "IMAGE", media_url: "https://cdn.example/post.jpg" } };
  if (req.method === "POST" && req.path.endsWith("/replies")) return { body: { id: `reply_${++midSeq}` } };
  if (req.query.hide !== undefined || req.method === "DELETE") return { body: { success: true } };
  return undefined;
}

async function start(): Promise<Service> {
  return startTestService(t);
}

/** A mirrored post's notification text ends with what the customer wrote. */
const said = (text: string) => expect.stringMatching(new RegExp(`${text.replace(/[.*+?^${}()|[\]\\#]/g, "\\$&")}$`));
const sends = () => graph.requests.filter((r) => r.method === "POST" && r.path.endsWith("/messages"));
const now = () => Date.now();

async function rootOf(customer: string): Promise<string> {
  return waitFor(async () => {
    const { rows } = await service.db.query<{ chat_thread: string | null }>(
      "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [ACCOUNT, customer],
    );
    return rows[0]?.chat_thread ?? undefined;
  }, 10_000, `thread of ${customer}`);
}

/** Replies in a thread, root excluded, once there are at least `n`. */
async function replies(root: string, n: number) {
  return waitFor(async () => {
    const r = slack.thread(CHANNEL, root).slice(1);
    return r.length >= n ? r : undefined;
  }, 10_000, `${n} replies in ${root}`);
}

/** An agent types `text` in the thread: the message exists in Slack, and Slack sends the event. */
async function agentSays(root: string, text: string, extra: Record<string, unknown> = {}, user = AGENT.id) {
  const ts = slack.seedMessage(CHANNEL, { user, text, thread_ts: root });
  const event = { type: "message", channel: CHANNEL, channel_type: "channel", user, text, ts, thread_ts: root, ...extra };
  const res = await postSlackEvent(service.url as string, SECRET, event);
  expect(res.status).toBe(200);
  return { ts, event };
}

async function stateOf(chatRef: string) {
  const { rows } = await service.db.query<{ delivery_state: string; delivery_error: string | null; messaging_tag: string | null }>(
    "SELECT delivery_state, delivery_error, messaging_tag FROM messages WHERE chat_ref = $1",
    [chatRef],
  );
  return rows[0];
}

async function settled(chatRef: string, state: "sent" | "failed" | "held") {
  return waitFor(async () => {
    const s = await stateOf(chatRef);
    return s?.delivery_state === state ? s : undefined;
  }, 10_000, `message ${chatRef} ${state}`);
}

beforeAll(async () => {
  slack = await startSlackServer({ users: [AGENT, ADMIN] });
  graph = await startGraphServer(graphResponder);
  t = await testEnv("postgres", {
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    IG_GRAPH_URL: graph.url,
    ADMIN_USERS: `slack:${ADMIN.id}`,
    OUTBOUND_ECHO_GRACE_SECONDS: "2",
  });
  service = await start();
  await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: ACCOUNT,
    username: "brand",
    token: "IGAA-e2e-token",
    chat: { platform: "slack", channel: CHANNEL },
  });
});

afterAll(async () => {
  await service?.stop();
  await graph?.close();
  await slack?.close();
  await t?.cleanup();
});

describe("Instagram → Slack", () => {
  it("opens one thread per conversation with the profile, then posts every message in it, in order", async () => {
    const customer = "1000000000000001";
    for (let i = 1; i <= 3; i++)
      expect((await postWebhook(service.url as string, dmText(ACCOUNT, customer, `m_in_a${i}`, `hello ${i}`, now() + i))).status).toBe(200);
    const root = await rootOf(customer);
    const posted = await replies(root, 3);
    expect(posted.map((m) => m.text)).toEqual(["hello 1", "hello 2", "hello 3"].map(said));
    expect(posted[0]?.username).toBe("Customer 0001");
    expect(posted[0]?.icon_url).toBe("https://cdn.example/pic.jpg");
    const rootMsg = slack.message(CHANNEL, root);
    expect(JSON.stringify(rootMsg?.blocks)).toContain("customer_0001");
    expect(slack.callsOf("chat.postMessage").filter((c) => c.args.thread_ts === undefined && String(c.args.text).includes("0001"))).toHaveLength(1);
  });

  it("mirrors conversations in parallel, each in order", async () => {
    const customers = Array.from({ length: 8 }, (_, i) => `20000000000000${String(i).padStart(2, "0")}`);
    await Promise.all(
      customers.map(async (c) => {
        for (let i = 1; i <= 4; i++) await postWebhook(service.url as string, dmText(ACCOUNT, c, `m_par_${c}_${i}`, `${c} #${i}`, now() + i));
      }),
    );
    for (const c of customers) {
      const posted = await replies(await rootOf(c), 4);
      expect(posted.map((m) => m.text)).toEqual([1, 2, 3, 4].map((i) => said(`${c} #${i}`)));
    }
  });

  it("round-trips reactions, edits and unsends onto the mirrored message", async () => {
    const customer = "1000000000000002";
    const ts = now();
    await postWebhook(service.url as string, dmText(ACCOUNT, customer, "m_rt_1", "blue one?", ts));
    const root = await rootOf(customer);
    const [mirrored] = await replies(root, 1);
    const react = (action: "react" | "unreact") => ({
      object: "instagram",
      entry: [{ id: ACCOUNT, time: ts + 10, messaging: [{ sender: { id: customer }, recipient: { id: ACCOUNT }, timestamp: ts + 10, reaction: { mid: "m_rt_1", action, reaction: "love", emoji: "❤️" } }] }],
    });
    await postWebhook(service.url as string, react("react"));
    await waitFor(async () => (Object.keys(slack.reactions(CHANNEL, mirrored?.ts ?? "")).length > 0 ? true : undefined));
    const reacted = slack.reactions(CHANNEL, mirrored?.ts ?? "");
    expect(Object.keys(reacted)).toHaveLength(1);
    const unreact = react("unreact");
    unreact.entry[0]!.messaging[0]!.timestamp = ts + 20;
    await postWebhook(service.url as string, unreact);
    await waitFor(async () => (Object.keys(slack.reactions(CHANNEL, mirrored?.ts ?? "")).length === 0 ? true : undefined));

    await postWebhook(service.url as string, {
      object: "instagram",
      entry: [{ id: ACCOUNT, time: ts + 30, messaging: [{ sender: { id: customer }, recipient: { id: ACCOUNT }, timestamp: ts + 30, message_edit: { mid: "m_rt_1", text: "the BLUE one?", num_edit: 1 } }] }],
    });
    await waitFor(async () => (slack.message(CHANNEL, mirrored?.ts ?? "")?.text?.includes("BLUE") ? true : undefined));

    await postWebhook(service.url as string, {
      object: "instagram",
      entry: [{ id: ACCOUNT, time: ts + 40, messaging: [{ sender: { id: customer }, recipient: { id: ACCOUNT }, timestamp: ts + 40, message: { mid: "m_rt_1", is_deleted: true } }] }],
    });
    await waitFor(async () => (slack.message(CHANNEL, mirrored?.ts ?? "") === undefined ? true : undefined));
    const { rows } = await service.db.query<{ text: string | null }>("SELECT text FROM messages WHERE ig_message_id = 'm_rt_1'");
    expect(rows[0]?.text).toBeNull();
  });

  it("posts an echo from the Instagram app once, attributed, as the brand", async () => {
    const customer = "1000000000000003";
    await postWebhook(service.url as string, dmText(ACCOUNT, customer, "m_e_1", "hi", now()));
    const root = await rootOf(customer);
    const echo = {
      object: "instagram",
      entry: [{ id: ACCOUNT, time: now(), messaging: [{ sender: { id: ACCOUNT }, recipient: { id: customer }, timestamp: now() + 5, message: { mid: "m_e_app", text: "answered from the app", is_echo: true } }] }],
    };
    await postWebhook(service.url as string, echo);
    await postWebhook(service.url as string, echo); // Meta redelivers: still once
    const posted = await replies(root, 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.thread(CHANNEL, root).slice(1)).toHaveLength(2);
    expect(posted[1]?.username).toBe("@brand");
    expect(JSON.stringify(posted[1]?.blocks)).toContain("sent from Instagram");
  });
});

describe("Slack → Instagram", () => {
  it("sends an agent's thread reply as a RESPONSE, marks it ✅, and does not mirror its echo", async () => {
    const customer = "1000000000000004";
    await postWebhook(service.url as string, dmText(ACCOUNT, customer, "m_r_1", "price?", now()));
    const root = await rootOf(customer);
    await replies(root, 1);
    const before = sends().length;
    const { ts } = await agentSays(root, "It is *25 €*, <https://shop.example|here>");
    await settled(ts, "sent");
    const sent = sends().slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toMatchObject({
      recipient: { id: customer },
      messaging_type: "RESPONSE",
      message: { text: expect.stringContaining("https://shop.example") },
    });
    await waitFor(async () => (slack.reactions(CHANNEL, ts).white_check_mark ? true : undefined));
    // The echo of our own send.
    const mid = (await service.db.query<{ ig_message_id: string }>("SELECT ig_message_id FROM messages WHERE chat_ref = $1", [ts])).rows[0]?.ig_message_id;
    await postWebhook(service.url as string, {
      object: "instagram",
      entry: [{ id: ACCOUNT, time: now(), messaging: [{ sender: { id: ACCOUNT }, recipient: { id: customer }, timestamp: now(), message: { mid, text: "It is *25 €*", is_echo: true } }] }],
    });
    await waitFor(async () => {
      const { rows } = await service.db.query<{ status: string }>("SELECT status FROM inbound_events WHERE dedupe_key LIKE $1", [`%${mid}%`]);
      return rows[0]?.status === "processed" ? true : undefined;
    });
    expect(slack.thread(CHANNEL, root).filter((m) => m.username === "@brand")).toHaveLength(0);
  });

  it("takes a Slack retry of the same message once", async () => {
    const customer = "1000000000000005";
    await postWebhook(service.url as string, dmText(ACCOUNT, customer, "m_dup_1", "hello", now()));
    const root = await rootOf(customer);
    const before = sends().length;
    const { ts, event } = await agentSays(root, "only once please");
    await postSlackEvent(service.url as string, SECRET, event, { retryNum: 1 });
    await postSlackEvent(service.url as string, SECRET, event, { retryNum: 2 });
    await settled(ts, "sent");
    await new Promise((r) => setTimeout(r, 300));
    expect(sends().slice(before).filter((r) => JSON.stringify(r.body).includes("only once please"))).toHaveLength(1);
  });

  it("keeps notes internal and answers text commands in the thread", async () => {
    const customer = "1000000000000006";
    await postWebhook(service.url as string, dmText(ACCOUNT, customer, "m_note_1", "hello", now()));
    const root = await rootOf(customer);
    const before = sends().length;
    const { ts } = await agentSays(root, "// she asked yesterday too");
    await agentSays(root, "!status");
    await waitFor(async () => (slack.thread(CHANNEL, root).some((m) => m.text?.includes("Reply window open")) ? true : undefined));
    expect(sends().length).toBe(before);
    expect(await stateOf(ts)).toBeUndefined();
  });

  it("refuses a reply after the 24 h window (no human-agent feature) with a notice and a Retry button", async () => {
    const customer = "1000000000000007";
    await postWebhook(service.url as string, dmText(ACCOUNT, customer, "m_w_1", "hello", now() - 3 * 86_400_000));
    const root = await rootOf(customer);
    const before = sends().length;
    const { ts } = await agentSays(root, "sorry for the wait");
    const s = await settled(ts, "failed");
    expect(s.delivery_error).toMatch(/window has closed/);
    expect(sends().length).toBe(before);
    await waitFor(async () => (slack.reactions(CHANNEL, ts).warning ? true : undefined));
    const notice = await waitFor(async () => slack.thread(CHANNEL, root).find((m) => m.text?.includes("Not delivered")));
    expect(JSON.stringify(notice.blocks)).toContain("ig_retry");
  });

  it("sends a comment thread's first reply as the one private reply, and refuses a second until the customer answers", async () => {
    const root = "17850000000000001";
    const comment = (id: string, text: string, parent?: string) => ({
      object: "instagram",
      entry: [{ id: ACCOUNT, time: now(), changes: [{ field: "comments", value: { id, ...(parent ? { parent_id: parent } : {}), text, from: { id: "1234567890123456", username: "jane_doe" }, media: { id: "17900000000000001", media_product_type: "FEED" } } }] }],
    });
    await postWebhook(service.url as string, comment(root, "how much?"));
    await postWebhook(service.url as string, comment("17850000000000002", "also in red?", root));
    const threadTs = await waitFor(async () => {
      const { rows } = await service.db.query<{ chat_thread: string | null }>("SELECT chat_thread FROM comment_threads WHERE root_comment_id = $1", [root]);
      return rows[0]?.chat_thread ?? undefined;
    });
    const [reply] = await replies(threadTs, 1);
    expect(reply?.text).toEqual(said("also in red?"));
    const rootBlocks = JSON.stringify(slack.message(CHANNEL, threadTs)?.blocks);
    for (const action of ["ig_comment_hide", "ig_comment_delete", "ig_comment_reply_public", "ig_comment_reply_private"])
      expect(rootBlocks).toContain(action);
    expect(rootBlocks).toContain("Summer drop");

    const before = sends().length;
    const first = await agentSays(threadTs, "DM'd you the price!");
    await settled(first.ts, "sent");
    expect(sends().slice(before)[0]?.body).toEqual({ recipient: { comment_id: root }, message: { text: "DM'd you the price!" } });
    const second = await agentSays(threadTs, "and the red one?");
    const s = await settled(second.ts, "failed");
    expect(s.delivery_error).toMatch(/until the customer answers/);
    expect(sends().length).toBe(before + 1);
    // The root no longer offers a private reply.
    await waitFor(async () => (JSON.stringify(slack.message(CHANNEL, threadTs)?.blocks).includes("ig_comment_reply_private") ? undefined : true));
  });

  it("hides a comment from its button and says who did it", async () => {
    const root = "17850000000000009";
    await postWebhook(service.url as string, {
      object: "instagram",
      entry: [{ id: ACCOUNT, time: now(), changes: [{ field: "comments", value: { id: root, text: "spam spam", from: { id: "1234567890123499", username: "spammer" }, media: { id: "17900000000000001" } } }] }],
    });
    const threadTs = await waitFor(async () => {
      const { rows } = await service.db.query<{ chat_thread: string | null }>("SELECT chat_thread FROM comment_threads WHERE root_comment_id = $1", [root]);
      return rows[0]?.chat_thread ?? undefined;
    });
    const res = await postSlackInteraction(service.url as string, SECRET, {
      type: "block_actions",
      user: { id: AGENT.id, username: AGENT.name, name: AGENT.name },
      api_app_id: "A0APP",
      team: { id: "T0FAKE" },
      channel: { id: CHANNEL },
      container: { type: "message", channel_id: CHANNEL, message_ts: threadTs },
      message: { ts: threadTs, thread_ts: threadTs },
      trigger_id: "1.trigger",
      response_url: slack.responseUrl("hide"),
      actions: [{ type: "button", action_id: "ig_comment_hide", block_id: "b", value: root, action_ts: "1" }],
    });
    expect(res.status).toBe(200);
    await waitFor(async () => (slack.thread(CHANNEL, threadTs).some((m) => m.text?.includes("hid the comment")) ? true : undefined));
    expect(graph.requests.some((r) => r.path.endsWith(`/${root}`) && r.query.hide === "true")).toBe(true);
    const { rows } = await service.db.query<{ hidden: boolean }>("SELECT hidden FROM comment_threads WHERE root_comment_id = $1", [root]);
    expect(rows[0]?.hidden).toBe(true);
  });

  it("sends an agent's file through a signed link Instagram can fetch", async () => {
    const customer = "1000000000000008";
    await postWebhook(service.url as string, dmText(ACCOUNT, customer, "m_f_1", "photo?", now()));
    const root = await rootOf(customer);
    slack.addFile({ id: "F0PHOTO", name: "shoe.png", mimetype: "image/png", content: Buffer.from("PNGDATA") });
    const before = sends().length;
    const { ts } = await agentSays(root, "here it is", {
      subtype: "file_share",
      files: [{ id: "F0PHOTO", name: "shoe.png", mimetype: "image/png", size: 7 }],
    });
    await settled(ts, "sent");
    const sent = sends().slice(before);
    expect(sent.map((r) => (r.body as { message: object }).message)).toEqual([
      { text: "here it is" },
      { attachment: { type: "image", payload: { url: expect.stringContaining("/files/") } } },
    ]);
    const url = ((sent[1]?.body as { message: { attachment: { payload: { url: string } } } }).message.attachment.payload.url);
    const local = url.replace(/^https?:\/\/[^/]+/, service.url as string);
    const file = await fetch(local);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe("PNGDATA");
    expect((await fetch(local.replace(/\.([^./]+)\//, ".x$1/"))).status).toBe(403);
  });

  it("holds replies while paused by an admin and sends them in order on resume", async () => {
    const customer = "1000000000000010";
    await postWebhook(service.url as string, dmText(ACCOUNT, customer, "m_p_1", "hello", now()));
    const root = await rootOf(customer);
    const refused = await postSlackCommand(service.url as string, SECRET, { command: "/ig", text: "pause", user_id: AGENT.id, user_name: AGENT.name, channel_id: CHANNEL, response_url: slack.responseUrl("p0") });
    expect(refused.status).toBe(200);
    await postSlackCommand(service.url as string, SECRET, { command: "/ig", text: "pause brand", user_id: ADMIN.id, user_name: ADMIN.name, channel_id: CHANNEL, response_url: slack.responseUrl("p1") });
    await waitFor(async () => ((await service.db.query<{ p: Date | null }>("SELECT paused_at AS p FROM instagram_accounts WHERE id = $1", [ACCOUNT])).rows[0]?.p ? true : undefined));
    const before = sends().length;
    const a = await agentSays(root, "first");
    const b = await agentSays(root, "second");
    await settled(a.ts, "held");
    await waitFor(async () => (slack.reactions(CHANNEL, a.ts).double_vertical_bar ? true : undefined));
    expect(sends().length).toBe(before);
    await postSlackCommand(service.url as string, SECRET, { command: "/ig", text: "resume brand", user_id: ADMIN.id, user_name: ADMIN.name, channel_id: CHANNEL, response_url: slack.responseUrl("p2") });
    await settled(b.ts, "sent");
    const texts = sends().slice(before).map((r) => (r.body as { message: { text?: string } }).message.text);
    expect(texts).toEqual(["first", "second"]);
  });

  it("refuses requests with a bad Slack signature", async () => {
    const res = await postSlackEvent(service.url as string, SECRET, { type: "message", channel: CHANNEL, user: AGENT.id, text: "x", ts: "1.1", thread_ts: "1.0" }, { signature: "v0=deadbeef" });
    expect(res.status).toBe(401);
  });

  it("reuses the same thread after a restart", async () => {
    const customer = "1000000000000001";
    const root = await rootOf(customer);
    await service.stop();
    service = await start();
    await postWebhook(service.url as string, dmText(ACCOUNT, customer, "m_in_a4", "back again", now() + 100));
    const posted = await replies(root, 4);
    expect(posted.at(-1)?.text).toEqual(said("back again"));
  });
});
