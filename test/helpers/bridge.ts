// A whole service with Slack on, wired to a fake Slack and a fake Graph API, with one Instagram
// account routed to one channel: the harness of the end-to-end bridge tests.

import { expect } from "vitest";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import type { Logger } from "../../src/log/logger.ts";
import type { Service } from "../../src/service.ts";
import {
  type GraphServer,
  type InstagramResponderOptions,
  instagramResponder,
  type RecordedRequest,
  startGraphServer,
} from "../fakes/graph-server.ts";
import { type FakeMessage, type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import {
  type Backend,
  startTestService,
  TEST_BACKEND,
  TEST_KEY,
  type TestEnv,
  testEnv,
  waitFor,
} from "./service.ts";
import {
  blockActionPayload,
  postSlackCommand,
  postSlackEvent,
  postSlackInteraction,
  postSlackReaction,
} from "./slack.ts";

export const ACCOUNT = "17841400000000001";
export const CHANNEL = "C0INSTAGRAM";
export const SECRET = "slack-signing-secret-e2e";
export const AGENT = { id: "U0AGENT1", name: "ana", real_name: "Ana Lima", display_name: "Ana" };
export const ADMIN = { id: "U0ADMIN1", name: "root", real_name: "Ro Ot", display_name: "Root" };

export interface BridgeHarness {
  slack: SlackServer;
  graph: GraphServer;
  t: TestEnv;
  service: Service;
  url(): string;
  restart(): Promise<void>;
  /** Send API calls received by the fake Graph, in order. */
  sends(): RecordedRequest[];
  /** The Slack thread of a customer's conversation, once it exists. */
  rootOf(customer: string): Promise<string>;
  commentRootOf(rootCommentId: string): Promise<string>;
  /** Replies in a thread, root excluded, once there are at least `n`. */
  replies(root: string, n: number): Promise<FakeMessage[]>;
  /** An agent types `text` in the thread: the message exists in Slack, and Slack sends the event. */
  agentSays(
    root: string,
    text: string,
    extra?: Record<string, unknown>,
    user?: string,
  ): Promise<{ ts: string; event: Record<string, unknown> }>;
  stateOf(chatRef: string): Promise<{ delivery_state: string; delivery_error: string | null } | undefined>;
  /** Someone reacts on a message of the channel: the reaction exists in Slack, and Slack sends
   * reaction_added (with the message's author as item_user). */
  react(ts: string, name: string, user?: string): Promise<void>;
  /** Someone takes their reaction `name` off a message: reaction_removed. */
  unreact(ts: string, name: string, user?: string): Promise<void>;
  /** Someone uses a button or menu (`pick`: the option's value) the message shows. */
  act(ts: string, actionId: string, user?: { id: string; name: string }, pick?: string): Promise<void>;
  /** Someone types `/ig <text>` in the channel; resolves with the answer only they see. */
  command(text: string, user: { id: string; name: string }, answerId: string): Promise<string>;
  settled(
    chatRef: string,
    state: "sent" | "failed" | "held",
  ): Promise<{ delivery_state: string; delivery_error: string | null }>;
  close(): Promise<void>;
}

export async function startBridgeHarness(
  extraEnv: Record<string, string> = {},
  instagram: InstagramResponderOptions = {},
  backend: Backend = TEST_BACKEND,
  /** The service's logger (every restart's too), for a test that reads what it logs. */
  log?: Logger,
): Promise<BridgeHarness> {
  const slack = await startSlackServer({ users: [AGENT, ADMIN] });
  const graph = await startGraphServer(instagramResponder(instagram));
  const t = await testEnv(backend, {
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    IG_GRAPH_URL: graph.url,
    ADMIN_USERS: `slack:${ADMIN.id}`,
    OUTBOUND_ECHO_GRACE_SECONDS: "2",
    SLACK_POSTS_PER_SECOND: "1000",
    ...extraEnv,
  });
  let service = await startTestService(t, {}, log);
  await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: ACCOUNT,
    username: "brand",
    token: "IGAA-e2e-token",
    chat: { platform: "slack", channel: CHANNEL },
  });
  const threadOf = (sql: string, key: string) =>
    waitFor(
      async () => {
        const { rows } = await h.service.db.query<{ chat_thread: string | null }>(sql, [ACCOUNT, key]);
        return rows[0]?.chat_thread ?? undefined;
      },
      10_000,
      `thread of ${key}`,
    );
  // An emoji put on (or taken off) a message: the fake's record first, then Slack's event.
  const reaction = async (ts: string, name: string, user: string, removed: boolean) => {
    const message = slack.message(CHANNEL, ts);
    const seeded = removed
      ? slack.unseedReaction(CHANNEL, ts, name, user)
      : slack.seedReaction(CHANNEL, ts, name, user);
    if (!message || !seeded) throw new Error(`no message ${ts}`);
    const res = await postSlackReaction(h.url(), SECRET, {
      channel: CHANNEL,
      ts,
      name,
      user,
      itemUser: message.user,
      ...(removed ? { removed: true } : {}),
    });
    expect(res.status).toBe(200);
  };
  const stateOf = async (chatRef: string) => {
    const { rows } = await h.service.db.query<{ delivery_state: string; delivery_error: string | null }>(
      "SELECT delivery_state, delivery_error FROM messages WHERE chat_ref = $1",
      [chatRef],
    );
    return rows[0];
  };
  const h: BridgeHarness = {
    slack,
    graph,
    t,
    service,
    url: () => h.service.url as string,
    async restart() {
      await h.service.stop();
      service = await startTestService(t, {}, log);
      h.service = service;
    },
    sends: () => graph.requests.filter((r) => r.method === "POST" && r.path.endsWith("/messages")),
    rootOf: (customer) =>
      threadOf("SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2", customer),
    commentRootOf: (root) =>
      threadOf(
        "SELECT chat_thread FROM comment_threads WHERE account_id = $1 AND root_comment_id = $2",
        root,
      ),
    replies: (root, n) =>
      waitFor(
        async () => {
          const r = slack.thread(CHANNEL, root).slice(1);
          return r.length >= n ? r : undefined;
        },
        10_000,
        `${n} replies in ${root}`,
      ),
    async agentSays(root, text, extra = {}, user = AGENT.id) {
      const ts = slack.seedMessage(CHANNEL, { user, text, thread_ts: root });
      const event = {
        type: "message",
        channel: CHANNEL,
        channel_type: "channel",
        user,
        text,
        ts,
        thread_ts: root,
        ...extra,
      };
      const res = await postSlackEvent(h.url(), SECRET, event);
      expect(res.status).toBe(200);
      return { ts, event };
    },
    stateOf,
    react: (ts, name, user = AGENT.id) => reaction(ts, name, user, false),
    unreact: (ts, name, user = AGENT.id) => reaction(ts, name, user, true),
    async act(ts, actionId, user = AGENT, pick) {
      const message = slack.message(CHANNEL, ts);
      if (!message) throw new Error(`no message ${ts}`);
      const res = await postSlackInteraction(
        h.url(),
        SECRET,
        blockActionPayload(message, actionId, user, pick),
      );
      expect(res.status).toBe(200);
    },
    async command(text, user, answerId) {
      await postSlackCommand(h.url(), SECRET, {
        command: "/ig",
        text,
        user_id: user.id,
        user_name: user.name,
        channel_id: CHANNEL,
        response_url: slack.responseUrl(answerId),
      });
      return waitFor(
        async () => slack.responses.find((r) => r.id === answerId)?.body.text as string | undefined,
        10_000,
        `the answer to /ig ${text}`,
      );
    },
    settled: (chatRef, state) =>
      waitFor(
        async () => {
          const s = await stateOf(chatRef);
          return s?.delivery_state === state ? s : undefined;
        },
        10_000,
        `message ${chatRef} ${state}`,
      ),
    async close() {
      await h.service.stop();
      await graph.close();
      await slack.close();
      await t.cleanup();
    },
  };
  return h;
}

/** A mirrored post's notification text ends with what the customer wrote. */
export const said = (text: string) =>
  expect.stringMatching(new RegExp(`${text.replace(/[.*+?^${}()|[\]\\#]/g, "\\$&")}$`));
