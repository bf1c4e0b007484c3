// The guild the fake serves and every change to it. REST handlers and the "people acting in Discord"
// helpers both go through these methods, so each change is stored once and dispatched once, before
// the REST answer leaves (tests that await a REST call can then wait on the event without racing).

import type { Gateway } from "./gateway.ts";
import {
  CHANNEL_FORUM,
  CHANNEL_PRIVATE_THREAD,
  CHANNEL_PUBLIC_THREAD,
  CHANNEL_TEXT,
  channelPayload,
  type FakeAttachment,
  type FakeChannel,
  type FakeCommand,
  type FakeMessage,
  type FakeUser,
  type FakeWebhook,
  iso,
  isThread,
  type Json,
  memberPayload,
  messagePayload,
  snowflake,
  userPayload,
} from "./model.ts";

export interface RecordedFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface InteractionResponse {
  /** `callback` is POST /interactions/:id/:token/callback; the others go through the app's webhook. */
  kind: "callback" | "edit_original" | "delete_original" | "followup" | "edit_followup" | "delete_followup";
  /** The callback type (4 reply, 5 deferred, 6 deferred update, 7 update, 9 modal); null for the others. */
  type: number | null;
  data: Json;
  files: RecordedFile[];
  /** The message the response created or edited, as it stood right after. */
  message?: ResponseMessage;
  at: number;
}

/** A message as an interaction response left it: who sees it (flags 64: only the user who acted)
 * and what it carries. */
export interface ResponseMessage {
  id: string;
  flags: number;
  content: string;
  attachments: FakeAttachment[];
}

export function responseMessage(m: FakeMessage): ResponseMessage {
  return { id: m.id, flags: m.flags, content: m.content, attachments: [...m.attachments] };
}

export interface Interaction {
  id: string;
  token: string;
  /** 2 command, 3 component, 5 modal submit. */
  type: number;
  channelId: string;
  userId: string;
  /** The raw INTERACTION_CREATE payload. */
  payload: Json;
  responses: InteractionResponse[];
  /** The message the reply created (type 4 or 5), once there is one. */
  originalMessageId?: string;
  /** Resolves with the first response (already there or next). */
  waitForResponse(ms?: number): Promise<InteractionResponse>;
  /** Resolves once `count` responses were recorded. */
  waitForResponses(count: number, ms?: number): Promise<InteractionResponse[]>;
}

export interface InteractionRecord extends Interaction {
  createdAt: number;
  /** The component message a button was clicked on (type 7 edits it). */
  sourceMessageId?: string;
  ephemeral: boolean;
  waiters: Array<() => void>;
}

export interface NewMessage {
  content?: string;
  embeds?: Json[];
  components?: Json[];
  author: { id: string; username: string; bot?: boolean };
  webhookId?: string;
  username?: string;
  avatarUrl?: string;
  attachments?: Array<{ filename: string; contentType: string; data: Buffer; description?: string }>;
  replyTo?: string;
  flags?: number;
  interactionId?: string;
  /** Forum starter messages take the thread's id. */
  id?: string;
}

export class PostError extends Error {
  readonly status: number;
  readonly body: Json;
  constructor(status: number, body: Json) {
    super(String(body.message));
    this.status = status;
    this.body = body;
  }
}

const INTENT_GUILDS = 1 << 0;
const INTENT_GUILD_MESSAGES = 1 << 9;
const INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10;
const INTENT_GUILD_MESSAGE_TYPING = 1 << 11;
const INTENT_MESSAGE_CONTENT = 1 << 15;

/** Application flags: the Message Content intent turned on in the Developer Portal. */
export const APP_FLAG_MESSAGE_CONTENT = 1 << 19;

/** Permission bits (Discord's "Permissions" table) the fake enforces. */
export const PERMISSION = {
  ManageChannels: 1n << 4n,
  Administrator: 1n << 3n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  ManageWebhooks: 1n << 29n,
  ManageThreads: 1n << 34n,
  CreatePublicThreads: 1n << 35n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** What a server admin gives the bot's role when inviting it as docs/discord.md says. */
export const BOT_ROLE_PERMISSIONS = Object.values(PERMISSION)
  .filter((bit) => bit !== PERMISSION.Administrator)
  .reduce((a, b) => a | b, 0n);
const EVERYONE_PERMISSIONS = "2248473465835073";

export class DiscordState {
  readonly token: string;
  readonly applicationId: string;
  readonly guildId: string;
  readonly botUserId: string;
  origin = "";
  readonly startedAt = Date.now();
  readonly channels = new Map<string, FakeChannel>();
  readonly messagesByChannel = new Map<string, FakeMessage[]>();
  readonly users = new Map<string, FakeUser>();
  readonly roles: Array<{ id: string; name: string }>;
  /** Other servers the bot is in: their channels only, no roles (a member has none there). */
  readonly otherGuilds: Array<{ id: string; name: string }>;
  readonly webhooks = new Map<string, FakeWebhook>();
  readonly commands: FakeCommand[] = [];
  readonly interactions = new Map<string, InteractionRecord>();
  readonly files = new Map<string, FakeAttachment>();
  gateway: Gateway | undefined;
  /** The role Discord made for the bot when it was invited (managed), and what it grants. */
  readonly botRoleId: string;
  botPermissions = BOT_ROLE_PERMISSIONS;
  /** The Message Content intent, as the Developer Portal's switch has it. */
  messageContentIntent = true;

  constructor(opts: {
    token: string;
    applicationId: string;
    guildId: string;
    botUserId: string;
    roles: Array<{ id: string; name: string }>;
    otherGuilds?: Array<{ id: string; name: string }>;
    botRoleId?: string;
  }) {
    this.token = opts.token;
    this.applicationId = opts.applicationId;
    this.guildId = opts.guildId;
    this.botUserId = opts.botUserId;
    this.roles = opts.roles;
    this.otherGuilds = opts.otherGuilds ?? [];
    this.botRoleId = opts.botRoleId ?? "490000000000000001";
    this.users.set(this.botUserId, {
      id: this.botUserId,
      username: "threadbridge",
      roles: [this.botRoleId],
      bot: true,
    });
  }

  /** The application's flags as `GET /applications/@me` and READY give them. */
  applicationFlags(): number {
    return this.messageContentIntent ? APP_FLAG_MESSAGE_CONTENT : 0;
  }

  /** Whether an IDENTIFY with `intents` asks for the Message Content intent the application lacks
   * (the fake grants the other privileged intents). */
  disallowedIntents(intents: number): boolean {
    return (intents & INTENT_MESSAGE_CONTENT) !== 0 && !this.messageContentIntent;
  }

  /** The bot's permissions in a channel of the main guild, computed as Discord documents it: the
   * @everyone role and the bot's role, then the channel's overwrites for @everyone, for the bot's
   * role and for the bot. A thread takes its parent's. */
  botPermissionsIn(channel: FakeChannel): bigint {
    const parent = isThread(channel) ? this.channels.get(channel.parentId ?? "") : channel;
    let perms = BigInt(EVERYONE_PERMISSIONS) | this.botPermissions;
    if ((perms & PERMISSION.Administrator) !== 0n) return ~0n;
    const apply = (o: { allow: string; deny: string } | undefined) => {
      if (o) perms = (perms & ~BigInt(o.deny)) | BigInt(o.allow);
    };
    const overwrites = parent?.overwrites ?? [];
    apply(overwrites.find((o) => o.type === 0 && o.id === this.guildId));
    apply(overwrites.find((o) => o.type === 0 && o.id === this.botRoleId));
    apply(overwrites.find((o) => o.type === 1 && o.id === this.botUserId));
    return perms;
  }

  get bot(): FakeUser {
    const bot = this.users.get(this.botUserId);
    if (!bot) throw new Error("bot user missing");
    return bot;
  }

  dispatch(t: string, d: Json): void {
    this.gateway?.dispatch(t, d);
  }

  addChannel(c: {
    id: string;
    name: string;
    type: number;
    parentId?: string | null;
    guildId?: string;
  }): FakeChannel {
    const channel: FakeChannel = {
      id: c.id,
      type: c.type,
      name: c.name,
      parentId: c.parentId ?? null,
      archived: false,
      locked: false,
      appliedTags: [],
      availableTags: [],
      ownerId: null,
      createdAt: Date.now(),
      archivedAt: null,
      autoArchiveDuration: 4320,
      unarchives: 0,
    };
    if (c.guildId !== undefined && c.guildId !== this.guildId) channel.guildId = c.guildId;
    this.channels.set(channel.id, channel);
    this.messagesByChannel.set(channel.id, []);
    return channel;
  }

  messages(channelId: string): FakeMessage[] {
    return this.messagesByChannel.get(channelId) ?? [];
  }

  message(channelId: string, id: string): FakeMessage | undefined {
    return this.messages(channelId).find((m) => m.id === id);
  }

  lastMessageId(channelId: string): string | null {
    const list = this.messages(channelId).filter((m) => !m.deleted);
    return list.at(-1)?.id ?? null;
  }

  channelJson(channel: FakeChannel): Json {
    return channelPayload(channel, this.guildOf(channel), this.lastMessageId(channel.id));
  }

  guildOf(channel: FakeChannel): string {
    return channel.guildId ?? this.guildId;
  }

  messageJson(m: FakeMessage): Json {
    const channel = this.channels.get(m.channelId);
    const guildId = channel ? this.guildOf(channel) : this.guildId;
    return messagePayload(m, guildId, this.botUserId, (c, id) => this.message(c, id));
  }

  user(id: string): FakeUser {
    let user = this.users.get(id);
    if (!user) {
      user = { id, username: `user${id}`, roles: [] };
      this.users.set(id, user);
    }
    return user;
  }

  /** Someone starts typing in a channel or thread (Discord's TYPING_START, guild form). */
  typing(channelId: string, userId: string): void {
    this.dispatch("TYPING_START", {
      channel_id: channelId,
      guild_id: this.guildId,
      user_id: userId,
      timestamp: Math.floor(Date.now() / 1000),
      member: this.memberJson(this.user(userId)),
    });
  }

  memberJson(user: FakeUser): Json {
    return memberPayload(user, this.startedAt);
  }

  everyoneRole(): Json {
    return role(this.guildId, "@everyone", 0, EVERYONE_PERMISSIONS);
  }

  readyPayload(sessionId: string, gatewayUrl: string): Json {
    return {
      v: 10,
      user: { ...userPayload(this.bot), verified: true, mfa_enabled: false, email: null },
      guilds: [this.guildId, ...this.otherGuilds.map((g) => g.id)].map((id) => ({ id, unavailable: true })),
      session_id: sessionId,
      session_type: "normal",
      resume_gateway_url: gatewayUrl,
      shard: [0, 1],
      application: { id: this.applicationId, flags: this.applicationFlags() },
      user_settings: {},
      relationships: [],
      private_channels: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      auth_session_id_hash: "",
    };
  }

  guildJson(guildId = this.guildId): Json {
    const other = this.otherGuilds.find((g) => g.id === guildId);
    return {
      id: guildId,
      name: other?.name ?? "threadbridge test guild",
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: "1",
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: other
        ? [role(guildId, "@everyone", 0, "2248473465835073")]
        : [
            this.everyoneRole(),
            ...this.roles.map((r, i) => role(r.id, r.name, i + 1, EVERYONE_PERMISSIONS)),
            {
              ...role(this.botRoleId, "threadbridge", this.roles.length + 1, String(this.botPermissions)),
              managed: true,
              tags: { bot_id: this.botUserId },
            },
          ],
      emojis: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      preferred_locale: "en-US",
      public_updates_channel_id: null,
      nsfw_level: 0,
      stickers: [],
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
    };
  }

  guildCreatePayload(guildId = this.guildId): Json {
    const all = [...this.channels.values()].filter((c) => this.guildOf(c) === guildId);
    return {
      ...this.guildJson(guildId),
      joined_at: iso(this.startedAt),
      large: false,
      unavailable: false,
      member_count: this.users.size,
      voice_states: [],
      members: [this.memberJson(this.bot)],
      channels: all.filter((c) => !isThread(c)).map((c) => this.channelJson(c)),
      threads: all.filter((c) => isThread(c) && !c.archived).map((c) => this.channelJson(c)),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  /** Drops what a session's intents don't grant, the way Discord filters per connection. */
  shape(t: string, d: Json, intents: number): Json | null {
    if (t.startsWith("MESSAGE_REACTION")) return intents & INTENT_GUILD_MESSAGE_REACTIONS ? d : null;
    if (t === "TYPING_START") return intents & INTENT_GUILD_MESSAGE_TYPING ? d : null;
    if (t.startsWith("MESSAGE_")) {
      if (!(intents & INTENT_GUILD_MESSAGES)) return null;
      const author = d.author;
      const fromBot =
        typeof author === "object" && author !== null && "id" in author && author.id === this.botUserId;
      if (intents & INTENT_MESSAGE_CONTENT || fromBot || !("content" in d)) return d;
      return { ...d, content: "", embeds: [], attachments: [], components: [] };
    }
    if (t.startsWith("GUILD_") || t.startsWith("CHANNEL_") || t.startsWith("THREAD_")) {
      return intents & INTENT_GUILDS ? d : null;
    }
    return d;
  }

  createThread(
    parent: FakeChannel,
    opts: {
      name: string;
      type: number;
      ownerId: string;
      appliedTags?: string[];
      autoArchiveDuration?: number;
      id?: string;
    },
  ): FakeChannel {
    const thread = this.addChannel({
      id: opts.id ?? snowflake(),
      name: opts.name,
      type: opts.type,
      parentId: parent.id,
      ...(parent.guildId ? { guildId: parent.guildId } : {}),
    });
    thread.ownerId = opts.ownerId;
    thread.appliedTags = opts.appliedTags ?? [];
    if (opts.autoArchiveDuration) thread.autoArchiveDuration = opts.autoArchiveDuration;
    this.dispatch("THREAD_CREATE", { ...this.channelJson(thread), newly_created: true });
    return thread;
  }

  /** Validates and stores a message, unarchiving its thread first as Discord does. */
  postMessage(channel: FakeChannel, m: NewMessage): FakeMessage {
    if (channel.type === CHANNEL_FORUM) {
      throw new PostError(400, { code: 50008, message: "Cannot send messages in a non-text channel" });
    }
    if (isThread(channel) && channel.archived) {
      if (channel.locked) {
        throw new PostError(403, { code: 50083, message: "Thread is archived" });
      }
      this.setArchived(channel, false);
      channel.unarchives += 1;
    }
    const message: FakeMessage = {
      id: m.id ?? snowflake(),
      channelId: channel.id,
      content: m.content ?? "",
      embeds: m.embeds ?? [],
      components: m.components ?? [],
      author: m.author,
      reactions: new Map(),
      attachments: (m.attachments ?? []).map((a) => this.storeFile(channel.id, a)),
      flags: m.flags ?? 0,
      postedAt: Date.now(),
    };
    if (m.webhookId !== undefined) message.webhookId = m.webhookId;
    if (m.username !== undefined) message.username = m.username;
    if (m.avatarUrl !== undefined) message.avatarUrl = m.avatarUrl;
    if (m.replyTo !== undefined) message.replyTo = m.replyTo;
    if (m.interactionId !== undefined) message.interactionId = m.interactionId;
    this.messages(channel.id).push(message);
    const payload = this.messageJson(message);
    const user = this.users.get(message.author.id);
    if (user && !message.webhookId && !user.bot) payload.member = this.memberJson(user);
    this.dispatch("MESSAGE_CREATE", payload);
    return message;
  }

  storeFile(
    channelId: string,
    a: { filename: string; contentType: string; data: Buffer; description?: string },
  ): FakeAttachment {
    const id = snowflake();
    const file: FakeAttachment = {
      id,
      filename: a.filename,
      contentType: a.contentType,
      size: a.data.length,
      url: `${this.origin}/attachments/${channelId}/${id}/${encodeURIComponent(a.filename)}`,
      data: a.data,
      ...(a.description !== undefined ? { description: a.description } : {}),
    };
    this.files.set(id, file);
    return file;
  }

  editMessage(
    message: FakeMessage,
    patch: {
      content?: string;
      embeds?: Json[];
      components?: Json[];
      attachments?: FakeAttachment[];
      flags?: number;
    },
  ): void {
    if (patch.content !== undefined) message.content = patch.content;
    if (patch.embeds !== undefined) message.embeds = patch.embeds;
    if (patch.components !== undefined) message.components = patch.components;
    if (patch.attachments !== undefined) message.attachments = patch.attachments;
    if (patch.flags !== undefined) message.flags = patch.flags;
    message.editedAt = Date.now();
    this.dispatch("MESSAGE_UPDATE", this.messageJson(message));
  }

  deleteMessage(message: FakeMessage): void {
    message.deleted = true;
    this.dispatch("MESSAGE_DELETE", {
      id: message.id,
      channel_id: message.channelId,
      guild_id: this.guildId,
    });
  }

  setArchived(channel: FakeChannel, archived: boolean): void {
    channel.archived = archived;
    channel.archivedAt = Date.now();
  }

  updateChannel(channel: FakeChannel): void {
    this.dispatch(isThread(channel) ? "THREAD_UPDATE" : "CHANNEL_UPDATE", this.channelJson(channel));
  }

  react(message: FakeMessage, emoji: string, userId: string, add: boolean): void {
    let users = message.reactions.get(emoji);
    if (!users) {
      users = new Set();
      message.reactions.set(emoji, users);
    }
    if (add === users.has(userId)) return;
    if (add) users.add(userId);
    else users.delete(userId);
    if (users.size === 0) message.reactions.delete(emoji);
    const match = /^a?:?([^:]+):(\d+)$/.exec(emoji);
    const payload: Json = {
      user_id: userId,
      channel_id: message.channelId,
      message_id: message.id,
      guild_id: this.guildId,
      emoji: match ? { id: match[2], name: match[1] } : { id: null, name: emoji },
      burst: false,
      type: 0,
    };
    if (add) {
      payload.member = this.memberJson(this.user(userId));
      payload.message_author_id = message.webhookId ?? message.author.id;
    }
    this.dispatch(add ? "MESSAGE_REACTION_ADD" : "MESSAGE_REACTION_REMOVE", payload);
  }

  newInteraction(
    type: number,
    channel: FakeChannel,
    userId: string,
    data: Json,
    message?: FakeMessage,
  ): InteractionRecord {
    const id = snowflake();
    const token = `interaction-${id}-${Math.random().toString(36).slice(2)}`;
    const user = this.user(userId);
    // The server is the channel's: Discord sends where the command was used, not where the user
    // has roles (a member of another server has none of the main guild's roles there).
    const guildId = this.guildOf(channel);
    const member = this.memberJson(user);
    if (guildId !== this.guildId) member.roles = [];
    const payload: Json = {
      id,
      application_id: this.applicationId,
      type,
      data,
      guild_id: guildId,
      guild: { id: guildId, locale: "en-US", features: [] },
      channel: this.channelJson(channel),
      channel_id: channel.id,
      member: { ...member, permissions: "2248473465835073" },
      token,
      version: 1,
      app_permissions: "2248473465835073",
      locale: "en-US",
      guild_locale: "en-US",
      entitlements: [],
      authorizing_integration_owners: { "0": guildId },
      context: 0,
      attachment_size_limit: 10 * 1024 * 1024,
    };
    if (message) payload.message = this.messageJson(message);
    const record: InteractionRecord = {
      id,
      token,
      type,
      channelId: channel.id,
      userId,
      payload,
      responses: [],
      createdAt: Date.now(),
      ephemeral: false,
      waiters: [],
      waitForResponse: (ms = 5000) => waitFor(record, 1, ms).then((r) => r[0] as InteractionResponse),
      waitForResponses: (count, ms = 5000) => waitFor(record, count, ms),
    };
    if (message) record.sourceMessageId = message.id;
    this.interactions.set(token, record);
    this.dispatch("INTERACTION_CREATE", payload);
    return record;
  }

  recordResponse(record: InteractionRecord, response: Omit<InteractionResponse, "at">): void {
    record.responses.push({ ...response, at: Date.now() });
    for (const wake of record.waiters.splice(0)) wake();
  }

  isTextLike(channel: FakeChannel): boolean {
    return (
      channel.type === CHANNEL_TEXT ||
      channel.type === CHANNEL_PUBLIC_THREAD ||
      channel.type === CHANNEL_PRIVATE_THREAD
    );
  }
}

function role(id: string, name: string, position: number, permissions: string): Json {
  return {
    id,
    name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position,
    permissions,
    managed: false,
    mentionable: false,
    flags: 0,
  };
}

function waitFor(record: InteractionRecord, count: number, ms: number): Promise<InteractionResponse[]> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      if (record.responses.length < count) return false;
      clearTimeout(timer);
      resolve(record.responses.slice(0, count));
      return true;
    };
    const timer = setTimeout(() => {
      reject(
        new Error(`interaction ${record.id}: ${record.responses.length}/${count} responses after ${ms} ms`),
      );
    }, ms);
    if (check()) return;
    const wake = (): void => {
      if (!check()) record.waiters.push(wake);
    };
    record.waiters.push(wake);
  });
}
