// A real local HTTP server standing in for https://slack.com/api/: the Web API methods the Slack
// adapter uses, answered the way Slack answers them (`ok:false` codes in 200s, 429 with
// Retry-After), over both request encodings the WebClient may use. It keeps the workspace's
// messages and reactions so tests assert on state, not on call sequences, and records every call.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BOT_SCOPES } from "../../adapters/slack/scopes.ts";
import { FileUploads, type UploadedFile } from "./slack/uploads.ts";

export type { UploadedFile };

export type Args = Record<string, unknown>;

export interface RecordedCall {
  method: string;
  args: Args;
  at: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  username?: string;
  icon_url?: string;
  /** Set for the bot's messages; seeded human messages carry `user` only. */
  bot_id?: string;
  user: string;
  reactions: Map<string, Set<string>>;
  edited?: boolean;
  /** Date.now() when the fake accepted it (latency measurements). */
  postedAt: number;
  /** Files the message shares (files.completeUploadExternal). */
  files?: { id: string; name: string }[];
  /** Message metadata as posted; read back only with `include_all_metadata`. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

export interface FakeUser {
  id: string;
  name: string;
  real_name?: string;
  display_name?: string;
}

export interface FakeFile {
  id: string;
  name: string;
  mimetype: string;
  content: string | Buffer;
  /** The download answers 302 to this URL instead of the content (a CDN hop, or a hostile one). */
  redirect?: string;
}

export interface Fault {
  status: 500 | 429 | 503;
  /** Seconds, for 429. */
  retryAfter?: number;
  /** Only calls of this method fail (default: any). */
  method?: string;
}

export interface SlackServerOptions {
  token?: string;
  botId?: string;
  botUserId?: string;
  users?: FakeUser[];
  /** Per-channel chat.postMessage limit: `perSecond` sustained with bursts of `burst`. */
  postRate?: { perSecond: number; burst: number };
  /** The scopes the token was granted (sent in `x-oauth-scopes`); default the manifest's. */
  scopes?: readonly string[];
}

/** A channel as the workspace has it. Channels never set up are public ones the bot is in. */
export interface FakeChannelState {
  name?: string;
  /** A private channel: unknown (`channel_not_found`) to a bot that is not in it. */
  private?: boolean;
  /** Whether the bot is in it; outside a public one it answers `not_in_channel`. */
  member?: boolean;
  archived?: boolean;
  /** False: the channel does not exist (deleted, or a mistyped id). */
  exists?: boolean;
  /** The people in it, for `users.conversations`. */
  people?: string[];
}

export interface SlackServer {
  /** The Web API base to give the WebClient (`…/api/`). */
  apiUrl: string;
  /** The server's origin. */
  url: string;
  token: string;
  botId: string;
  botUserId: string;
  calls: RecordedCall[];
  /** Calls of one method, in order. */
  callsOf(method: string): RecordedCall[];
  /** Bodies POSTed to response URLs (slash command and interaction answers). */
  responses: { id: string; body: Args }[];
  /** A response_url for a slash command or interaction payload. */
  responseUrl(id: string): string;
  /** The root and its replies, in order. */
  thread(channel: string, ts: string): FakeMessage[];
  /** A channel's top-level messages (thread roots included), oldest first. */
  topLevel(channel: string): FakeMessage[];
  message(channel: string, ts: string): FakeMessage | undefined;
  /** Reaction name → users, of one message. */
  reactions(channel: string, ts: string): Record<string, string[]>;
  /** A human's message (as if typed in Slack), so reactions and shortcuts have a target. */
  seedMessage(channel: string, m: { user: string; text?: string; thread_ts?: string }): string;
  /** A person's reaction on a message (as if added in Slack); false when there is no such message. */
  seedReaction(channel: string, ts: string, name: string, user: string): boolean;
  /** Takes `user`'s reaction `name` off a message, as Slack does before reaction_removed. */
  unseedReaction(channel: string, ts: string, name: string, user: string): boolean;
  addUser(user: FakeUser): void;
  /** A user group (`S…`) and its members, for `usergroups.users.list`. */
  setUserGroup(id: string, members: string[]): void;
  addFile(file: FakeFile): void;
  setPostRate(rate: { perSecond: number; burst: number } | undefined): void;
  /** The next `n` matching calls answer with an HTTP error instead. */
  failNext(n: number, fault: Fault): void;
  /** Files shared through files.uploadV2, in order, with their bytes and where they went. */
  uploads: UploadedFile[];
  /** The members of a direct message conversations.open opened (the bot included), if it is one. */
  directMessage(channel: string): string[] | undefined;
  /** Take scopes away from the token: calls that need one answer `missing_scope`, and
   * `x-oauth-scopes` no longer lists them. */
  revokeScopes(scopes: string[]): void;
  /** Gives revoked scopes back (the app reinstalled with them). */
  grantScopes(scopes: string[]): void;
  /** The Home tab views.publish last published for `user` (its blocks), if any. */
  home(user: string): { type: string; blocks: unknown[] } | undefined;
  /** Sets up a channel: whether it exists, is private or archived, and whether the bot is in it. */
  setChannel(id: string, state: FakeChannelState): void;
  /** Drops a channel's thread replies posted before `before` (epoch ms), keeping the roots: a
   * long run (the soak) keeps its memory, and its timing, flat. Returns how many went. */
  forgetReplies(channel: string, before: number): number;
  close(): Promise<void>;
}

// Fields the WebClient JSON-encodes into single form fields.
const JSON_FIELDS = new Set(["blocks", "attachments", "metadata", "view"]);
// The scope each method needs, where a test takes it away (revokeScopes).
const METHOD_SCOPES: Record<string, string> = {
  "chat.postMessage": "chat:write",
  "chat.update": "chat:write",
  "reactions.add": "reactions:write",
  "reactions.get": "reactions:read",
  "conversations.open": "im:write",
  "files.getUploadURLExternal": "files:write",
  "files.completeUploadExternal": "files:write",
};

function parseForm(text: string): Args {
  const args: Args = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (JSON_FIELDS.has(key)) {
      try {
        args[key] = JSON.parse(value);
        continue;
      } catch {
        // Slack itself would answer invalid_arguments; keep the raw text so the test sees it.
      }
    }
    args[key] = value;
  }
  return args;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** The Block Kit limits Slack enforces that our renderers could break. */
/** Messages take 50 blocks, views (modals, Home tabs) 100. */
function blocksError(blocks: unknown, max = 50): string | undefined {
  if (blocks === undefined) return undefined;
  if (!Array.isArray(blocks) || blocks.length > max) return "invalid_blocks";
  for (const block of blocks as Record<string, unknown>[]) {
    if (typeof block !== "object" || block === null || typeof block.type !== "string")
      return "invalid_blocks";
    const text = block.text as { type?: unknown; text?: unknown } | undefined;
    if (block.type === "section") {
      // Text, fields (1–10, each at most 2000 characters), or both.
      const fields = block.fields as { text?: unknown }[] | undefined;
      if (text === undefined && fields === undefined) return "invalid_blocks";
      if (text !== undefined && (typeof text.text !== "string" || text.text.length > 3000))
        return "invalid_blocks";
      if (
        fields !== undefined &&
        (!Array.isArray(fields) ||
          fields.length === 0 ||
          fields.length > 10 ||
          fields.some((f) => typeof f?.text !== "string" || f.text.length > 2000))
      )
        return "invalid_blocks";
    }
    if (
      block.type === "header" &&
      (text?.type !== "plain_text" || typeof text.text !== "string" || text.text.length > 150)
    )
      return "invalid_blocks";
    if (block.type === "context") {
      const elements = block.elements as unknown[] | undefined;
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) return "invalid_blocks";
    }
    if (
      block.type === "image" &&
      (typeof block.image_url !== "string" || typeof block.alt_text !== "string")
    ) {
      return "invalid_blocks";
    }
    if (block.type === "actions") {
      const elements = block.elements as Record<string, unknown>[] | undefined;
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) return "invalid_blocks";
      for (const e of elements) {
        if (typeof e.action_id === "string" && e.action_id.length > 255) return "invalid_blocks";
        if (typeof e.value === "string" && e.value.length > 2000) return "invalid_blocks";
      }
    }
  }
  return undefined;
}

export async function startSlackServer(options: SlackServerOptions = {}): Promise<SlackServer> {
  const token = options.token ?? "xoxb-test-token";
  const botId = options.botId ?? "B0BOT";
  const botUserId = options.botUserId ?? "U0BOT";
  const calls: RecordedCall[] = [];
  const responses: { id: string; body: Args }[] = [];
  const channels = new Map<string, FakeMessage[]>();
  const users = new Map((options.users ?? []).map((u) => [u.id, u]));
  const userGroups = new Map<string, string[]>();
  const files = new Map<string, FakeFile>();
  const uploads = new FileUploads();
  const directMessages = new Map<string, string[]>();
  const revokedScopes = new Set<string>();
  const grantedScopes = [...(options.scopes ?? BOT_SCOPES)];
  const channelStates = new Map<string, FakeChannelState>();
  const homeViews = new Map<string, { type: string; blocks: unknown[] }>();
  const faults: (Fault & { left: number })[] = [];
  const buckets = new Map<string, { tokens: number; at: number }>();
  let postRate = options.postRate;
  let counter = 0;
  let base = "";

  // Like Slack's: the posting time in microseconds, strictly increasing.
  let lastMicros = 0;
  const nextTs = () => {
    lastMicros = Math.max(lastMicros + 1, Date.now() * 1000);
    return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, "0")}`;
  };
  const messagesOf = (channel: string) => {
    let list = channels.get(channel);
    if (!list) {
      list = [];
      channels.set(channel, list);
    }
    return list;
  };
  const find = (channel: unknown, ts: unknown) =>
    typeof channel === "string" ? channels.get(channel)?.find((m) => m.ts === ts) : undefined;

  /** Seconds to wait when over the per-channel post limit, or 0. */
  function overPostLimit(channel: string): number {
    if (!postRate) return 0;
    const now = Date.now();
    const bucket = buckets.get(channel) ?? { tokens: postRate.burst, at: now };
    bucket.tokens = Math.min(postRate.burst, bucket.tokens + ((now - bucket.at) / 1000) * postRate.perSecond);
    bucket.at = now;
    buckets.set(channel, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / postRate.perSecond));
  }

  function takeFault(method: string): Fault | undefined {
    // A fault aimed at this method goes before a fault for any method.
    const fault = faults.find((f) => f.method === method) ?? faults.find((f) => f.method === undefined);
    if (!fault) return undefined;
    fault.left -= 1;
    if (fault.left === 0) faults.splice(faults.indexOf(fault), 1);
    return fault;
  }

  function messageJson(m: FakeMessage, withMetadata = false) {
    return {
      ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
      type: "message",
      ts: m.ts,
      user: m.user,
      text: m.text,
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(m.bot_id ? { bot_id: m.bot_id, username: m.username } : {}),
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(m.reactions.size > 0
        ? {
            reactions: [...m.reactions].map(([name, who]) => ({ name, users: [...who], count: who.size })),
          }
        : {}),
    };
  }

  type Answer = Record<string, unknown>;

  /** Slack's refusal of a call in `channel` by a bot outside it, or undefined when it may. Direct
   * messages are the bot's own. */
  function channelRefusal(channel: unknown, write: boolean): Answer | undefined {
    if (typeof channel !== "string" || /^D/.test(channel)) return undefined;
    const state = channelStates.get(channel);
    if (!state) return undefined;
    if (state.exists === false || (state.private && state.member === false))
      return { ok: false, error: "channel_not_found" };
    if (state.member === false) return { ok: false, error: "not_in_channel" };
    if (write && state.archived) return { ok: false, error: "is_archived" };
    return undefined;
  }
  // Methods that act in a channel, and whether they write to it.
  const IN_CHANNEL: Record<string, boolean> = {
    "chat.postMessage": true,
    "chat.update": true,
    "chat.delete": true,
    "chat.postEphemeral": true,
    "reactions.add": true,
    "reactions.remove": true,
    "reactions.get": false,
    "conversations.history": false,
    "conversations.replies": false,
    "chat.getPermalink": false,
  };

  function page(all: FakeMessage[], args: Args): Answer {
    const from = Number(str(args.cursor) ?? "0");
    const limit = Math.min(Number(args.limit ?? 1000) || 1000, 1000);
    const withMetadata = args.include_all_metadata === true || args.include_all_metadata === "true";
    const next = from + limit < all.length ? String(from + limit) : "";
    return {
      messages: all.slice(from, from + limit).map((m) => messageJson(m, withMetadata)),
      has_more: next !== "",
      response_metadata: { next_cursor: next },
    };
  }
  const methods: Record<string, (args: Args) => Answer> = {
    "auth.test": () => ({
      url: "https://fake.slack.com/",
      team: "Fake",
      user: "threadbridge",
      team_id: "T0FAKE",
      user_id: botUserId,
      bot_id: botId,
    }),
    "conversations.info": (args) => {
      const channel = str(args.channel);
      const state = channel ? (channelStates.get(channel) ?? {}) : undefined;
      if (!channel || !state || state.exists === false || (state.private && state.member === false))
        return { ok: false, error: "channel_not_found" };
      const needed = state.private ? "groups:read" : "channels:read";
      if (revokedScopes.has(needed)) return { ok: false, error: "missing_scope", needed };
      return {
        channel: {
          id: channel,
          name: state.name ?? `channel-${channel.toLowerCase()}`,
          is_channel: !state.private,
          is_group: Boolean(state.private),
          is_private: Boolean(state.private),
          is_archived: Boolean(state.archived),
          is_member: state.member !== false,
        },
      };
    },
    "chat.postMessage": (args) => {
      const channel = str(args.channel);
      if (!channel) return { ok: false, error: "channel_not_found" };
      if (!str(args.text) && args.blocks === undefined) return { ok: false, error: "no_text" };
      const invalid = blocksError(args.blocks);
      if (invalid) return { ok: false, error: invalid };
      if (typeof args.text === "string" && args.text.length > 40_000)
        return { ok: false, error: "msg_too_long" };
      const threadTs = str(args.thread_ts);
      if (threadTs && !find(channel, threadTs)) return { ok: false, error: "thread_not_found" };
      const metadata = args.metadata;
      if (
        metadata !== undefined &&
        !(
          typeof metadata === "object" &&
          metadata !== null &&
          typeof (metadata as { event_type?: unknown }).event_type === "string" &&
          typeof (metadata as { event_payload?: unknown }).event_payload === "object"
        )
      )
        return { ok: false, error: "invalid_metadata_format" };
      const message: FakeMessage = {
        channel,
        ts: nextTs(),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(typeof args.text === "string" ? { text: args.text } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
        ...(str(args.username) ? { username: str(args.username) } : {}),
        ...(str(args.icon_url) ? { icon_url: str(args.icon_url) } : {}),
        bot_id: botId,
        user: botUserId,
        reactions: new Map(),
        postedAt: Date.now(),
        ...(metadata ? { metadata: metadata as NonNullable<FakeMessage["metadata"]> } : {}),
      };
      messagesOf(channel).push(message);
      return { channel, ts: message.ts, message: messageJson(message) };
    },
    "chat.update": (args) => {
      const message = find(args.channel, args.ts);
      if (!message) return { ok: false, error: "message_not_found" };
      if (message.bot_id !== botId) return { ok: false, error: "cant_update_message" };
      const invalid = blocksError(args.blocks);
      if (invalid) return { ok: false, error: invalid };
      if (typeof args.text === "string") message.text = args.text;
      if (Array.isArray(args.blocks)) message.blocks = args.blocks;
      message.edited = true;
      return { channel: message.channel, ts: message.ts, text: message.text };
    },
    "chat.delete": (args) => {
      const message = find(args.channel, args.ts);
      if (!message) return { ok: false, error: "message_not_found" };
      if (message.bot_id !== botId) return { ok: false, error: "cant_delete_message" };
      const list = messagesOf(message.channel);
      list.splice(list.indexOf(message), 1);
      return { channel: message.channel, ts: message.ts };
    },
    // One page per call: `limit` messages from `cursor` on (the root first, as Slack gives it,
    // then the replies after `oldest`).
    "conversations.replies": (args) => {
      const root = find(args.channel, args.ts);
      if (!root) return { ok: false, error: "thread_not_found" };
      const oldest = Number(str(args.oldest) ?? "0");
      const replies = messagesOf(root.channel).filter(
        (m) => m.thread_ts === root.ts && m !== root && Number(m.ts) > oldest,
      );
      return page([root, ...replies], args);
    },
    // Top-level messages, newest first, after `oldest`.
    "conversations.history": (args) => {
      const channel = str(args.channel);
      if (!channel) return { ok: false, error: "channel_not_found" };
      const oldest = Number(str(args.oldest) ?? "0");
      const top = messagesOf(channel)
        .filter((m) => (!m.thread_ts || m.thread_ts === m.ts) && Number(m.ts) > oldest)
        .reverse();
      return page(top, args);
    },
    "chat.postEphemeral": (args) => {
      if (!str(args.channel)) return { ok: false, error: "channel_not_found" };
      if (!str(args.user)) return { ok: false, error: "user_not_in_channel" };
      if (!str(args.text) && args.blocks === undefined) return { ok: false, error: "no_text" };
      return { message_ts: nextTs() };
    },
    "chat.getPermalink": (args) => {
      const message = find(args.channel, args.message_ts);
      if (!message) return { ok: false, error: "message_not_found" };
      const thread = message.thread_ts ? `?thread_ts=${message.thread_ts}&cid=${message.channel}` : "";
      return {
        channel: message.channel,
        permalink: `https://fake.slack.com/archives/${message.channel}/p${message.ts.replace(".", "")}${thread}`,
      };
    },
    "reactions.add": (args) => {
      const message = find(args.channel, args.timestamp);
      const name = str(args.name);
      if (!message) return { ok: false, error: "message_not_found" };
      if (!name || !/^[a-z0-9_+'-]+$/.test(name)) return { ok: false, error: "invalid_name" };
      const who = message.reactions.get(name) ?? new Set();
      if (who.has(botUserId)) return { ok: false, error: "already_reacted" };
      who.add(botUserId);
      message.reactions.set(name, who);
      return {};
    },
    "reactions.remove": (args) => {
      const message = find(args.channel, args.timestamp);
      const name = str(args.name);
      if (!message) return { ok: false, error: "message_not_found" };
      const who = name ? message.reactions.get(name) : undefined;
      if (!name || !who?.has(botUserId)) return { ok: false, error: "no_reaction" };
      who.delete(botUserId);
      if (who.size === 0) message.reactions.delete(name);
      return {};
    },
    "reactions.get": (args) => {
      const message = find(args.channel, args.timestamp);
      if (!message) return { ok: false, error: "message_not_found" };
      return { type: "message", channel: message.channel, message: messageJson(message) };
    },
    "usergroups.users.list": (args) => {
      const group = typeof args.usergroup === "string" ? userGroups.get(args.usergroup) : undefined;
      if (!group) return { ok: false, error: "no_such_subteam" };
      return { users: [...group] };
    },
    "users.info": (args) => {
      const user = typeof args.user === "string" ? users.get(args.user) : undefined;
      if (!user) return { ok: false, error: "user_not_found" };
      return {
        user: {
          id: user.id,
          name: user.name,
          real_name: user.real_name ?? user.name,
          profile: { display_name: user.display_name ?? "", real_name: user.real_name ?? user.name },
        },
      };
    },
    "views.open": (args) => {
      if (!str(args.trigger_id)) return { ok: false, error: "invalid_trigger_id" };
      const view = args.view as Record<string, unknown> | undefined;
      if (!view || typeof view !== "object" || view.type !== "modal")
        return { ok: false, error: "invalid_arguments" };
      counter += 1;
      return { view: { id: `V${counter}`, ...view } };
    },
    // A Home tab for one user: Slack keeps the last view published for them.
    "views.publish": (args) => {
      const user = str(args.user_id);
      if (!user || !users.has(user)) return { ok: false, error: "user_not_found" };
      const view = args.view as Record<string, unknown> | undefined;
      if (!view || typeof view !== "object" || view.type !== "home")
        return { ok: false, error: "invalid_arguments" };
      if (blocksError(view.blocks, 100)) return { ok: false, error: "invalid_blocks" };
      homeViews.set(user, { type: "home", blocks: view.blocks as unknown[] });
      counter += 1;
      return { view: { id: `V${counter}`, ...view } };
    },
    // The channels a person is in that the bot may see: public ones, private ones it is in too.
    "users.conversations": (args) => {
      const user = str(args.user);
      if (!user || !users.has(user)) return { ok: false, error: "user_not_found" };
      const types = (str(args.types) ?? "public_channel").split(",");
      const skipArchived = args.exclude_archived === true || args.exclude_archived === "true";
      const all = [...channelStates]
        .filter(
          ([, c]) =>
            c.exists !== false &&
            c.people?.includes(user) &&
            (c.private
              ? types.includes("private_channel") && c.member !== false
              : types.includes("public_channel")) &&
            !(skipArchived && c.archived),
        )
        .map(([id, c]) => ({
          id,
          name: c.name ?? `channel-${id.toLowerCase()}`,
          is_private: Boolean(c.private),
        }));
      const from = Number(str(args.cursor) ?? "0");
      const limit = Math.min(Number(args.limit ?? 100) || 100, 1000);
      const next = from + limit < all.length ? String(from + limit) : "";
      return { channels: all.slice(from, from + limit), response_metadata: { next_cursor: next } };
    },
    "conversations.open": (args) => {
      const existing = str(args.channel);
      if (existing) {
        return directMessages.has(existing)
          ? { no_op: true, already_open: true, channel: { id: existing } }
          : { ok: false, error: "channel_not_found" };
      }
      const wanted = [...new Set((str(args.users) ?? "").split(",").map((u) => u.trim()))].filter(Boolean);
      if (wanted.length === 0) return { ok: false, error: "users_list_not_supplied" };
      if (wanted.length > 8) return { ok: false, error: "too_many_users" };
      if (wanted.some((u) => !users.has(u))) return { ok: false, error: "user_not_found" };
      const members = [botUserId, ...wanted.filter((u) => u !== botUserId)].sort();
      const open = [...directMessages].find(([, m]) => m.join() === members.join());
      if (open) return { no_op: true, already_open: true, channel: { id: open[0] } };
      // One person: an IM (D…); several: a multi-person DM (G…).
      const id = `${wanted.length === 1 ? "D" : "G"}0DM${String(directMessages.size + 1).padStart(5, "0")}`;
      directMessages.set(id, members);
      return { channel: { id } };
    },
    "files.getUploadURLExternal": (args) => uploads.getUploadURL(args, base),
    "files.completeUploadExternal": (args) => {
      const answer = uploads.complete(args, (channel, share) => {
        // Direct messages exist once opened; other channels are taken as existing, as elsewhere here.
        if (/^D/.test(channel) && !directMessages.has(channel)) return { error: "channel_not_found" };
        if (share.threadTs && !find(channel, share.threadTs)) return { error: "invalid_thread_ts" };
        const ts = nextTs();
        messagesOf(channel).push({
          channel,
          ts,
          ...(share.threadTs ? { thread_ts: share.threadTs } : {}),
          text: share.text,
          bot_id: botId,
          user: botUserId,
          reactions: new Map(),
          postedAt: Date.now(),
          files: share.files,
        });
        return { ts };
      });
      for (const u of uploads.uploaded.filter((f) => !files.has(f.id)))
        files.set(u.id, { id: u.id, name: u.name, mimetype: u.mimetype, content: u.bytes });
      return answer;
    },
    "files.info": (args) => {
      const file = typeof args.file === "string" ? files.get(args.file) : undefined;
      if (!file) return { ok: false, error: "file_not_found" };
      const size = Buffer.byteLength(file.content);
      const download = `${base}/files-pri/T0FAKE-${file.id}/download/${encodeURIComponent(file.name)}`;
      return {
        file: {
          id: file.id,
          name: file.name,
          mimetype: file.mimetype,
          size,
          url_private: `${base}/files-pri/T0FAKE-${file.id}/${encodeURIComponent(file.name)}`,
          url_private_download: download,
        },
      };
    },
  };

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      // Slack names the token's scopes on every Web API answer.
      "x-oauth-scopes": grantedScopes.filter((scope) => !revokedScopes.has(scope)).join(","),
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  function serveFile(req: IncomingMessage, res: ServerResponse, path: string) {
    const match = /^\/files-pri\/T0FAKE-([^/]+)\//.exec(path);
    const file = match?.[1] ? files.get(match[1]) : undefined;
    if (req.headers.authorization !== `Bearer ${token}`) {
      // Slack answers an unauthenticated download with its sign-in page.
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body>Sign in to Slack</body></html>");
      return;
    }
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    if (file.redirect) {
      res.writeHead(302, { location: file.redirect }).end();
      return;
    }
    res.writeHead(200, {
      "content-type": file.mimetype,
      "content-length": String(Buffer.byteLength(file.content)),
    });
    res.end(file.content);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if (req.method === "GET" && path.startsWith("/files-pri/")) return serveFile(req, res, path);
      if (req.method === "POST" && path.startsWith("/upload/v1/")) {
        // Upload URLs are pre-signed: no token, and plain-text answers.
        void uploads
          .receive(path, req.headers["content-type"] ?? "", Buffer.concat(chunks))
          .then(({ status, text }) => {
            res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
            res.end(text);
          });
        return;
      }
      const raw = Buffer.concat(chunks).toString("utf8");
      const type = req.headers["content-type"] ?? "";
      let args: Args;
      try {
        args = type.startsWith("application/json") ? (JSON.parse(raw || "{}") as Args) : parseForm(raw);
      } catch {
        return send(res, 200, { ok: false, error: "invalid_json" });
      }
      if (path.startsWith("/response/")) {
        responses.push({ id: decodeURIComponent(path.slice("/response/".length)), body: args });
        return send(res, 200, { ok: true });
      }
      if (!path.startsWith("/api/")) return send(res, 404, { ok: false, error: "not_found" });
      const method = path.slice("/api/".length);
      const bodyToken = args.token;
      delete args.token;
      calls.push({ method, args, at: Date.now() });

      const fault = takeFault(method);
      if (fault) {
        const headers: Record<string, string> =
          fault.status === 429 ? { "retry-after": String(fault.retryAfter ?? 1) } : {};
        return send(
          res,
          fault.status,
          { ok: false, error: fault.status === 429 ? "ratelimited" : "fatal_error" },
          headers,
        );
      }
      const auth = req.headers.authorization;
      if (!auth && !bodyToken) return send(res, 200, { ok: false, error: "not_authed" });
      if (auth !== `Bearer ${token}` && bodyToken !== token)
        return send(res, 200, { ok: false, error: "invalid_auth" });

      const handler = methods[method];
      const needed = METHOD_SCOPES[method];
      if (needed && revokedScopes.has(needed))
        return send(res, 200, { ok: false, error: "missing_scope", needed });
      if (!handler) return send(res, 200, { ok: false, error: "unknown_method" });
      const write = IN_CHANNEL[method];
      const refusal = write === undefined ? undefined : channelRefusal(args.channel, write);
      if (refusal) return send(res, 200, refusal);
      if (method === "chat.postMessage" && typeof args.channel === "string") {
        const wait = overPostLimit(args.channel);
        if (wait > 0)
          return send(res, 429, { ok: false, error: "ratelimited" }, { "retry-after": String(wait) });
      }
      const answer = handler(args);
      send(res, 200, { ok: true, ...answer });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;

  const api: SlackServer = {
    apiUrl: `${base}/api/`,
    url: base,
    token,
    botId,
    botUserId,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method),
    responses,
    responseUrl: (id) => `${base}/response/${encodeURIComponent(id)}`,
    topLevel: (channel) => messagesOf(channel).filter((m) => !m.thread_ts || m.thread_ts === m.ts),
    thread: (channel, ts) =>
      (channels.get(channel) ?? [])
        .filter((m) => m.ts === ts || m.thread_ts === ts)
        .sort((a, b) => (a.ts < b.ts ? -1 : 1)),
    message: (channel, ts) => find(channel, ts),
    reactions: (channel, ts) => {
      const message = find(channel, ts);
      return Object.fromEntries([...(message?.reactions ?? [])].map(([name, who]) => [name, [...who]]));
    },
    seedMessage: (channel, m) => {
      const ts = nextTs();
      messagesOf(channel).push({
        channel,
        ts,
        user: m.user,
        ...(m.text !== undefined ? { text: m.text } : {}),
        ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
        reactions: new Map(),
        postedAt: Date.now(),
      });
      return ts;
    },
    seedReaction: (channel, ts, name, user) => {
      const message = find(channel, ts);
      if (!message) return false;
      message.reactions.set(name, new Set([...(message.reactions.get(name) ?? []), user]));
      return true;
    },
    unseedReaction: (channel, ts, name, user) => {
      const message = find(channel, ts);
      if (!message) return false;
      message.reactions.get(name)?.delete(user);
      return true;
    },
    addUser: (user) => {
      users.set(user.id, user);
    },
    setUserGroup: (id, members) => {
      userGroups.set(id, [...members]);
    },
    addFile: (file) => {
      files.set(file.id, file);
    },
    uploads: uploads.uploaded,
    directMessage: (channel) => directMessages.get(channel),
    home: (user) => homeViews.get(user),
    revokeScopes: (scopes) => {
      for (const scope of scopes) revokedScopes.add(scope);
    },
    grantScopes: (scopes) => {
      for (const scope of scopes) {
        revokedScopes.delete(scope);
        if (!grantedScopes.includes(scope)) grantedScopes.push(scope);
      }
    },
    setChannel: (id, state) => {
      channelStates.set(id, { ...channelStates.get(id), ...state });
    },
    forgetReplies: (channel, before) => {
      const list = messagesOf(channel);
      const kept = list.filter((m) => !m.thread_ts || m.thread_ts === m.ts || m.postedAt >= before);
      const gone = list.length - kept.length;
      list.splice(0, list.length, ...kept);
      return gone;
    },
    setPostRate: (rate) => {
      postRate = rate;
      buckets.clear();
    },
    failNext: (n, fault) => {
      if (n > 0) faults.push({ ...fault, left: n });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
  return api;
}
