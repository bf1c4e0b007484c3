// A protocol-level fake Discord: one local port serving the REST API under /api/v10, the gateway
// (WebSocket upgrade on the same port) and attachment files, so the real discord.js Client logs in,
// receives events and makes REST calls against it. Tests act as Discord's users through the helpers
// (userMessage, clickButton, …) and assert on stored state and recorded calls.
//
// Give discord.js `rest: { api: server.apiUrl }` and `client.login(server.token)`.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Gateway, type GatewayStats } from "./discord/gateway.ts";
import {
  CHANNEL_FORUM,
  CHANNEL_TEXT,
  type FakeAttachment,
  type FakeChannel,
  type FakeCommand,
  type FakeMessage,
  type FakeUser,
  type FakeWebhook,
  isObject,
  type Json,
  snowflake,
} from "./discord/model.ts";
import { type RecordedCall, Rest } from "./discord/rest.ts";
import {
  DiscordState,
  type Interaction,
  type InteractionResponse,
  type RecordedFile,
  type ResponseMessage,
} from "./discord/state.ts";

export { BOT_ROLE_PERMISSIONS, PERMISSION } from "./discord/state.ts";
export type {
  FakeAttachment,
  FakeChannel,
  FakeCommand,
  FakeMessage,
  FakeUser,
  FakeWebhook,
  Interaction,
  InteractionResponse,
  RecordedCall,
  RecordedFile,
  ResponseMessage,
};

export interface DiscordServerOptions {
  token?: string;
  applicationId?: string;
  guildId?: string;
  botUserId?: string;
  /** Default: one text channel `100000000000000001` named "instagram". */
  channels?: Array<{ id: string; name: string; type: "text" | "forum" }>;
  roles?: Array<{ id: string; name: string }>;
  /** Other servers the bot was added to, with their own channels: a member's command there comes
   * with that server's id and channel, as Discord sends it. */
  otherGuilds?: Array<{ id: string; name: string; channels: Array<{ id: string; name: string }> }>;
  /** HELLO's heartbeat_interval; default 41250 like Discord. */
  heartbeatIntervalMs?: number;
  /** The Message Content intent's switch in the Developer Portal; default on. */
  messageContentIntent?: boolean;
  /** What the bot's role grants (a bitfield); default what docs/discord.md asks for. */
  botPermissions?: bigint;
}

export interface SlashOption {
  name: string;
  type: number;
  value?: string | number;
  options?: unknown[];
}

export interface DiscordServer {
  /** Give to `rest: { api }`: http://127.0.0.1:PORT/api. */
  apiUrl: string;
  /** ws://127.0.0.1:PORT, what GET /gateway/bot answers. */
  gatewayUrl: string;
  /** http://127.0.0.1:PORT; attachments are served under `${url}/attachments/…`. */
  url: string;
  token: string;
  applicationId: string;
  guildId: string;
  botUserId: string;
  calls: RecordedCall[];
  callsOf(method: string, path: RegExp): RecordedCall[];
  /** Channels and threads (archived ones too); undefined once deleted. */
  channel(id: string): FakeChannel | undefined;
  threads(parentId: string): FakeChannel[];
  /** Oldest first, deleted ones included (flagged `deleted`). Ephemeral interaction replies are not here. */
  messages(channelId: string): FakeMessage[];
  message(channelId: string, id: string): FakeMessage | undefined;
  webhooks(channelId?: string): FakeWebhook[];
  commands(guildId?: string | null): FakeCommand[];
  interactions(): Interaction[];
  /** What the bot wrote to `userId` in direct messages, oldest first. */
  directMessages(userId: string): FakeMessage[];
  addUser(user: {
    id: string;
    username: string;
    globalName?: string;
    roles?: string[];
    /** The user accepts no direct messages. */
    dmsClosed?: boolean;
  }): void;
  /** Adds a forum tag directly (as a guild admin would), returning its id. */
  addForumTag(forumId: string, name: string): string;
  /** Creates a thread as a user would (THREAD_CREATE dispatched). */
  userThread(parentId: string, name: string, authorId: string): Promise<FakeChannel>;
  userMessage(
    channelId: string,
    m: {
      authorId: string;
      content: string;
      attachments?: Array<{ filename: string; contentType: string; data: Buffer }>;
      replyTo?: string;
    },
  ): Promise<FakeMessage>;
  /** Someone starts typing in a channel or thread (TYPING_START). */
  userTyping(channelId: string, userId: string): Promise<void>;
  userEdit(channelId: string, id: string, content: string): Promise<void>;
  userDelete(channelId: string, id: string): Promise<void>;
  userReact(
    channelId: string,
    messageId: string,
    emoji: string,
    userId: string,
    add?: boolean,
  ): Promise<void>;
  /** Archives (or locks) a thread from Discord's side, e.g. auto-archive after inactivity. */
  archiveThread(threadId: string, opts?: { locked?: boolean }): Promise<void>;
  clickButton(channelId: string, messageId: string, customId: string, userId: string): Promise<Interaction>;
  /** Picks `values` in a message's string select (they must be among its options). */
  selectMenu(
    channelId: string,
    messageId: string,
    customId: string,
    values: string[],
    userId: string,
  ): Promise<Interaction>;
  submitModal(
    channelId: string,
    customId: string,
    fields: Record<string, string>,
    userId: string,
  ): Promise<Interaction>;
  slashCommand(channelId: string, name: string, options: SlashOption[], userId: string): Promise<Interaction>;
  /** A member typing in an autocomplete option: `options` as for slashCommand, the option being
   * typed marked `focused: true`; the answer is a type 8 callback with `data.choices`. */
  autocomplete(
    channelId: string,
    name: string,
    options: Array<SlashOption & { focused?: boolean }>,
    userId: string,
  ): Promise<Interaction>;
  /** Closes every gateway socket: 4000 keeps sessions resumable (default), 1000 ends them. */
  dropConnections(opts?: { resumable?: boolean }): void;
  /** Sends op 7 RECONNECT to every connected session. */
  requestReconnect(): void;
  /** Forgets all sessions: the next RESUME gets INVALID_SESSION (false) and discord.js re-identifies. */
  invalidateSessions(): void;
  sessions(): GatewayStats;
  /** Query strings the gateway was opened with, in order. */
  gatewayConnections(): Array<{ query: string; at: number }>;
  setRateLimit(routePattern: RegExp, opts: { remainingBeforeLimit: number; retryAfterMs: number }): void;
  /** The role Discord made for the bot when it was invited. */
  botRoleId: string;
  /** Changes what the bot's role grants in the whole server. */
  setBotPermissions(bits: bigint): void;
  /** Sets (or, with both empty, removes) a channel overwrite for the bot (`member`), its role
   * (`role`) or @everyone (`everyone`): `allow` and `deny` are bitfields. */
  setOverwrite(channelId: string, who: "member" | "role" | "everyone", allow: bigint, deny: bigint): void;
  /** The Message Content intent's switch in the Developer Portal. */
  setMessageContentIntent(on: boolean): void;
  failNext(n: number, opts: { status: 500 | 502 | 429; path?: RegExp }): void;
  close(): Promise<void>;
}

export async function startDiscordServer(options: DiscordServerOptions = {}): Promise<DiscordServer> {
  const state = new DiscordState({
    token: options.token ?? "fake-discord-bot-token",
    applicationId: options.applicationId ?? "200000000000000001",
    guildId: options.guildId ?? "300000000000000001",
    botUserId: options.botUserId ?? "200000000000000001",
    roles: options.roles ?? [],
    otherGuilds: (options.otherGuilds ?? []).map((g) => ({ id: g.id, name: g.name })),
  });
  if (options.messageContentIntent !== undefined) state.messageContentIntent = options.messageContentIntent;
  if (options.botPermissions !== undefined) state.botPermissions = options.botPermissions;
  for (const c of options.channels ?? [{ id: "100000000000000001", name: "instagram", type: "text" }]) {
    state.addChannel({ id: c.id, name: c.name, type: c.type === "forum" ? CHANNEL_FORUM : CHANNEL_TEXT });
  }
  for (const g of options.otherGuilds ?? [])
    for (const c of g.channels)
      state.addChannel({ id: c.id, name: c.name, type: CHANNEL_TEXT, guildId: g.id });
  const rest = new Rest(state);
  const http = createServer((req, res) => {
    rest.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: 0, message: `fake discord: ${String(err)}` }));
    });
  });
  let gatewayUrl = "";
  const gateway = new Gateway(http, {
    token: state.token,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
    ready: (sessionId) => state.readyPayload(sessionId, gatewayUrl),
    afterReady: () =>
      [state.guildId, ...state.otherGuilds.map((g) => g.id)].map((id) => ({
        t: "GUILD_CREATE",
        d: state.guildCreatePayload(id),
      })),
    membersChunk: (request) => membersChunk(state, request),
    disallowed: (intents) => state.disallowedIntents(intents),
    shape: (t, d, intents) => state.shape(t, d, intents),
  });
  state.gateway = gateway;
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  gatewayUrl = `ws://127.0.0.1:${port}`;
  state.origin = url;
  rest.gatewayUrl = gatewayUrl;

  const existing = (id: string): FakeChannel => {
    const channel = state.channels.get(id);
    if (!channel) throw new Error(`fake discord: no channel ${id}`);
    return channel;
  };
  const existingMessage = (channelId: string, id: string): FakeMessage => {
    const message = state.message(channelId, id);
    if (!message || message.deleted) throw new Error(`fake discord: no message ${id} in ${channelId}`);
    return message;
  };

  return {
    apiUrl: `${url}/api`,
    gatewayUrl,
    url,
    token: state.token,
    applicationId: state.applicationId,
    guildId: state.guildId,
    botUserId: state.botUserId,
    calls: rest.calls,
    callsOf: (method, path) =>
      rest.calls.filter((c) => c.method === method.toUpperCase() && path.test(c.path)),
    channel: (id) => state.channels.get(id),
    threads: (parentId) => [...state.channels.values()].filter((c) => c.parentId === parentId),
    messages: (channelId) => state.messages(channelId),
    message: (channelId, id) => state.message(channelId, id),
    webhooks: (channelId) =>
      [...state.webhooks.values()].filter((w) => !channelId || w.channelId === channelId),
    commands: (guildId = null) => state.commands.filter((c) => c.guildId === guildId),
    interactions: () => [...state.interactions.values()],
    directMessages: (userId) =>
      [...rest.dms.values()].filter((d) => d.recipientId === userId).flatMap((d) => d.messages),
    addUser(user) {
      const fake: FakeUser = { id: user.id, username: user.username, roles: user.roles ?? [] };
      if (user.globalName !== undefined) fake.globalName = user.globalName;
      if (user.dmsClosed) fake.dmsClosed = true;
      state.users.set(user.id, fake);
    },
    addForumTag(forumId, name) {
      const forum = existing(forumId);
      const id = snowflake();
      forum.availableTags.push({ id, name, moderated: false, emoji_id: null, emoji_name: null });
      state.updateChannel(forum);
      return id;
    },
    async userThread(parentId, name, authorId) {
      return state.createThread(existing(parentId), { name, type: 11, ownerId: authorId });
    },
    async userMessage(channelId, m) {
      const user = state.user(m.authorId);
      const input: Parameters<DiscordState["postMessage"]>[1] = {
        content: m.content,
        author: { id: user.id, username: user.username },
      };
      if (m.attachments) input.attachments = m.attachments;
      if (m.replyTo) input.replyTo = m.replyTo;
      return state.postMessage(existing(channelId), input);
    },
    async userTyping(channelId, userId) {
      existing(channelId);
      state.typing(channelId, userId);
    },
    async userEdit(channelId, id, content) {
      state.editMessage(existingMessage(channelId, id), { content });
    },
    async userDelete(channelId, id) {
      state.deleteMessage(existingMessage(channelId, id));
    },
    async userReact(channelId, messageId, emoji, userId, add = true) {
      state.react(existingMessage(channelId, messageId), emoji, userId, add);
    },
    async archiveThread(threadId, opts = {}) {
      const thread = existing(threadId);
      state.setArchived(thread, true);
      if (opts.locked !== undefined) thread.locked = opts.locked;
      state.updateChannel(thread);
    },
    async clickButton(channelId, messageId, customId, userId) {
      const message = existingMessage(channelId, messageId);
      if (!hasComponent(message.components, customId)) {
        throw new Error(`fake discord: message ${messageId} has no component ${customId}`);
      }
      return state.newInteraction(
        3,
        existing(channelId),
        userId,
        { custom_id: customId, component_type: 2 },
        message,
      );
    },
    async selectMenu(channelId, messageId, customId, values, userId) {
      const message = existingMessage(channelId, messageId);
      const select = findComponent(message.components, customId);
      if (select?.type !== 3) {
        throw new Error(`fake discord: message ${messageId} has no string select ${customId}`);
      }
      const offered = (Array.isArray(select.options) ? select.options : []).map((o) =>
        isObject(o) ? o.value : undefined,
      );
      const unknown = values.find((v) => !offered.includes(v));
      if (unknown !== undefined) throw new Error(`fake discord: ${customId} offers no option ${unknown}`);
      return state.newInteraction(
        3,
        existing(channelId),
        userId,
        { custom_id: customId, component_type: 3, values },
        message,
      );
    },
    async submitModal(channelId, customId, fields, userId) {
      const components = Object.entries(fields).map(([id, value]) => ({
        type: 1,
        components: [{ type: 4, custom_id: id, value }],
      }));
      return state.newInteraction(5, existing(channelId), userId, { custom_id: customId, components });
    },
    async slashCommand(channelId, name, options, userId) {
      const command =
        state.commands.find((c) => c.guildId === state.guildId && c.body.name === name) ??
        state.commands.find((c) => c.guildId === null && c.body.name === name);
      const data: Json = { id: command?.id ?? snowflake(), name, type: 1, options };
      if (command?.guildId) data.guild_id = command.guildId;
      return state.newInteraction(2, existing(channelId), userId, data);
    },
    async autocomplete(channelId, name, options, userId) {
      const command =
        state.commands.find((c) => c.guildId === state.guildId && c.body.name === name) ??
        state.commands.find((c) => c.guildId === null && c.body.name === name);
      const data: Json = { id: command?.id ?? snowflake(), name, type: 1, options };
      if (command?.guildId) data.guild_id = command.guildId;
      return state.newInteraction(4, existing(channelId), userId, data);
    },
    dropConnections: (opts = {}) => gateway.drop(opts.resumable ?? true),
    requestReconnect: () => gateway.requestReconnect(),
    invalidateSessions: () => gateway.invalidateSessions(),
    sessions: () => gateway.sessionStats,
    gatewayConnections: () => gateway.connections,
    setRateLimit: (pattern, opts) => rest.setRateLimit(pattern, opts),
    botRoleId: state.botRoleId,
    setBotPermissions(bits) {
      state.botPermissions = bits;
    },
    setOverwrite(channelId, who, allow, deny) {
      const channel = existing(channelId);
      const id = who === "member" ? state.botUserId : who === "role" ? state.botRoleId : state.guildId;
      const kept = (channel.overwrites ?? []).filter((o) => o.id !== id);
      channel.overwrites =
        allow === 0n && deny === 0n
          ? kept
          : [...kept, { id, type: who === "member" ? 1 : 0, allow: String(allow), deny: String(deny) }];
      state.updateChannel(channel);
    },
    setMessageContentIntent(on) {
      state.messageContentIntent = on;
    },
    failNext: (n, opts) => rest.failNext(n, opts),
    async close() {
      await gateway.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function hasComponent(components: unknown[], customId: string): boolean {
  return findComponent(components, customId) !== undefined;
}

function findComponent(components: unknown[], customId: string): Json | undefined {
  for (const c of components) {
    if (!isObject(c)) continue;
    if (c.custom_id === customId) return c;
    const inner = Array.isArray(c.components)
      ? findComponent(c.components, customId)
      : "component" in c
        ? findComponent([c.component], customId)
        : undefined;
    if (inner) return inner;
  }
  return undefined;
}

function membersChunk(state: DiscordState, request: Json): Json {
  const ids = Array.isArray(request.user_ids) ? request.user_ids.map(String) : undefined;
  const query = typeof request.query === "string" ? request.query.toLowerCase() : "";
  const users = [...state.users.values()].filter((u) =>
    ids ? ids.includes(u.id) : u.username.toLowerCase().startsWith(query),
  );
  return {
    guild_id: state.guildId,
    members: users.map((u) => state.memberJson(u)),
    chunk_index: 0,
    chunk_count: 1,
    not_found: ids ? ids.filter((id) => !state.users.has(id)) : [],
    ...(typeof request.nonce === "string" ? { nonce: request.nonce } : {}),
  };
}
