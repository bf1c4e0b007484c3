// Signed requests to the service's /slack/events, shaped like Slack sends them. Content types are
// exact: Bolt compares them literally.

import { createHmac, randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import express from "express";
import { createSlack, type SlackBridge } from "../../adapters/slack/bridge.ts";
import type {
  ActionRequest,
  ActionResult,
  AgentMessage,
  AgentMessageOutcome,
  ChatInbox,
  ThreadRef,
} from "../../src/chat/chat-port.ts";
import { createLogger } from "../../src/log/logger.ts";
import {
  type FakeMessage,
  type FakeUser,
  type SlackServer,
  startSlackServer,
} from "../fakes/slack-server.ts";

export interface SlackPostResult {
  status: number;
  body: string;
}

export function slackSign(
  secret: string,
  rawBody: string,
  ts: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = `v0=${createHmac("sha256", secret).update(`v0:${ts}:${rawBody}`).digest("hex")}`;
  return { "x-slack-signature": signature, "x-slack-request-timestamp": String(ts) };
}

async function post(
  baseUrl: string,
  secret: string,
  raw: string,
  contentType: string,
  headers: Record<string, string> = {},
  timestamp?: number,
): Promise<SlackPostResult> {
  const res = await fetch(`${baseUrl}/slack/events`, {
    method: "POST",
    headers: { "content-type": contentType, ...slackSign(secret, raw, timestamp), ...headers },
    body: raw,
  });
  return { status: res.status, body: await res.text() };
}

export interface EventOptions {
  retryNum?: number;
  eventId?: string;
  /** Sign with this unix time instead of now (stale-request tests). */
  timestamp?: number;
  /** Replace the signature header (bad-signature tests). */
  signature?: string;
}

export function postSlackEvent(
  baseUrl: string,
  secret: string,
  event: Record<string, unknown>,
  options: EventOptions = {},
): Promise<SlackPostResult> {
  const raw = JSON.stringify({
    token: "legacy-verification-token",
    type: "event_callback",
    event_id: options.eventId ?? `Ev${randomUUID().replace(/-/g, "").slice(0, 12).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    team_id: "T0FAKE",
    api_app_id: "A0APP",
    event,
  });
  const headers: Record<string, string> = {};
  if (options.retryNum !== undefined) {
    headers["x-slack-retry-num"] = String(options.retryNum);
    headers["x-slack-retry-reason"] = "http_timeout";
  }
  if (options.signature !== undefined) headers["x-slack-signature"] = options.signature;
  return post(baseUrl, secret, raw, "application/json", headers, options.timestamp);
}

export function postSlackCommand(
  baseUrl: string,
  secret: string,
  fields: Record<string, string>,
): Promise<SlackPostResult> {
  const raw = new URLSearchParams({
    token: "legacy-verification-token",
    team_id: "T0FAKE",
    team_domain: "fake",
    api_app_id: "A0APP",
    trigger_id: `${Date.now()}.trigger`,
    ...fields,
  }).toString();
  return post(baseUrl, secret, raw, "application/x-www-form-urlencoded");
}

export function postSlackInteraction(
  baseUrl: string,
  secret: string,
  payload: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<SlackPostResult> {
  const raw = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return post(baseUrl, secret, raw, "application/x-www-form-urlencoded", headers);
}

/** Slack's reaction_added event: `user` put `name` on the message `ts`. `itemUser` is the message's
 * author, which Slack leaves out for messages a webhook wrote. */
export function postSlackReaction(
  baseUrl: string,
  secret: string,
  r: { channel: string; ts: string; name: string; user: string; itemUser?: string; removed?: boolean },
): Promise<SlackPostResult> {
  return postSlackEvent(baseUrl, secret, {
    type: r.removed ? "reaction_removed" : "reaction_added",
    user: r.user,
    reaction: r.name,
    ...(r.itemUser ? { item_user: r.itemUser } : {}),
    item: { type: "message", channel: r.channel, ts: r.ts },
    event_ts: (Date.now() / 1000).toFixed(6),
  });
}

type Element = { type: string; action_id?: string; value?: string; options?: { value: string }[] };

/** The block_actions payload of `user` using the element `actionId` of a message as the fake holds
 * it (a static select picks the option whose value is `pick`); throws when the message shows no
 * such element, so a test cannot click what agents would not see. */
export function blockActionPayload(
  message: FakeMessage,
  actionId: string,
  user: { id: string; name: string },
  pick?: string,
): Record<string, unknown> {
  const blocks = (message.blocks ?? []) as { block_id?: string; elements?: Element[] }[];
  const block = blocks.find((b) => b.elements?.some((e) => e.action_id === actionId));
  const element = block?.elements?.find((e) => e.action_id === actionId);
  if (!block || !element) throw new Error(`message ${message.ts} shows no ${actionId}`);
  const at = (Date.now() / 1000).toFixed(6);
  let action: Record<string, unknown>;
  if (element.type === "static_select") {
    const option = element.options?.find((o) => o.value === pick);
    if (!option) throw new Error(`${actionId} offers no option ${pick}`);
    action = {
      type: "static_select",
      action_id: actionId,
      block_id: block.block_id,
      selected_option: option,
    };
  } else action = { type: "button", action_id: actionId, block_id: block.block_id, value: element.value };
  return {
    type: "block_actions",
    user: { id: user.id, username: user.name, name: user.name, team_id: "T0FAKE" },
    api_app_id: "A0APP",
    team: { id: "T0FAKE", domain: "fake" },
    channel: { id: message.channel, name: "instagram" },
    container: { type: "message", channel_id: message.channel, message_ts: message.ts, is_ephemeral: false },
    message: {
      type: "message",
      ts: message.ts,
      user: message.user,
      text: message.text,
      blocks: message.blocks,
      ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
      ...(message.bot_id ? { bot_id: message.bot_id } : {}),
    },
    trigger_id: `${at}.trigger`,
    actions: [{ ...action, action_ts: at }],
  };
}

// ——— A Slack bridge wired to the fake Slack server, with a recording inbox in place of the core ———

export const SLACK_SECRET = "slack-signing-secret-for-tests";

type Change = Parameters<ChatInbox["agentChanged"]>[0];

/** Stands in for the core: records what the adapter hands over and answers as scripted. */
export class RecordingInbox implements ChatInbox {
  messages: AgentMessage[] = [];
  changes: Change[] = [];
  actions: ActionRequest[] = [];
  outcome: AgentMessageOutcome = { kind: "queued", messageId: 1 };
  result: ActionResult = { ok: true, text: "done" };
  /** Thrown by agentMessage while set (the core failing to store). */
  failure: Error | undefined;

  async agentMessage(message: AgentMessage): Promise<AgentMessageOutcome> {
    if (this.failure) throw this.failure;
    this.messages.push(message);
    return this.outcome;
  }

  async agentChanged(change: Change): Promise<void> {
    this.changes.push(change);
  }

  async action(request: ActionRequest): Promise<ActionResult> {
    this.actions.push(request);
    return this.result;
  }

  async activeThreads(): Promise<ThreadRef[]> {
    return [];
  }
}

export interface SlackHarness {
  slack: SlackServer;
  inbox: RecordingInbox;
  bridge: SlackBridge;
  /** The service's base URL (where /slack/events is mounted). */
  url: string;
  /** Parsed log lines. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export const AGENTS: FakeUser[] = [
  { id: "U0AGENT1", name: "ana", real_name: "Ana Lima", display_name: "Ana" },
  { id: "U0AGENT2", name: "bo", real_name: "Bo Berg", display_name: "" },
];

export async function startSlackHarness(
  options: {
    retry?: { retries: number; maxTimeoutMs: number };
    /** Leave the bot ids out, so the bridge learns them through auth.test. */
    authTest?: boolean;
  } = {},
): Promise<SlackHarness> {
  const slack = await startSlackServer({ users: AGENTS });
  const inbox = new RecordingInbox();
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const bridge = createSlack({
    botToken: slack.token,
    signingSecret: SLACK_SECRET,
    apiUrl: slack.apiUrl,
    log: createLogger("debug", { destination }),
    inbox,
    retry: options.retry ?? { retries: 2, maxTimeoutMs: 20 },
    // Tests post far faster than Slack's one per second per channel.
    postsPerSecond: 1000,
    ...(options.authTest ? {} : { botId: slack.botId, botUserId: slack.botUserId }),
  });
  const app = express();
  app.use(bridge.router);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    slack,
    inbox,
    bridge,
    url: `http://127.0.0.1:${port}`,
    logs,
    async close() {
      await bridge.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await slack.close();
    },
  };
}

/** The environment that turns Slack on against the fake `server`. */
export function slackEnv(server: { token: string; apiUrl: string }): Record<string, string> {
  return { SLACK_BOT_TOKEN: server.token, SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_API_URL: server.apiUrl };
}
