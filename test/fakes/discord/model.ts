// The state of the fake Discord guild and the JSON shapes Discord gives it on the wire. Payloads are
// built fresh from state each time, so REST answers and gateway dispatches can never disagree.

export type Json = Record<string, unknown>;

export const CHANNEL_TEXT = 0;
export const CHANNEL_PUBLIC_THREAD = 11;
export const CHANNEL_PRIVATE_THREAD = 12;
export const CHANNEL_FORUM = 15;

export interface ForumTag {
  id: string;
  name: string;
  moderated: boolean;
  emoji_id: string | null;
  emoji_name: string | null;
}

export interface FakeChannel {
  id: string;
  /** Discord's numeric channel type: 0 text, 11/12 thread, 15 forum. */
  type: number;
  name: string;
  parentId: string | null;
  archived: boolean;
  locked: boolean;
  appliedTags: string[];
  /** Forum channels only. */
  availableTags: ForumTag[];
  ownerId: string | null;
  createdAt: number;
  archivedAt: number | null;
  autoArchiveDuration: number;
  /** How many times a post (bot, webhook or user) brought this archived thread back. */
  unarchives: number;
  /** Set for a channel of another server the bot is in (`DiscordServerOptions.otherGuilds`);
   * unset: the fake's main guild. */
  guildId?: string;
  /** Permission overwrites (not on threads: they take their parent's permissions). */
  overwrites?: PermissionOverwrite[];
}

/** A channel's permission overwrite as Discord sends it: type 0 a role (the guild's id: @everyone),
 * 1 a member; bitfields as decimal strings. */
export interface PermissionOverwrite {
  id: string;
  type: 0 | 1;
  allow: string;
  deny: string;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  url: string;
  data: Buffer;
  /** Alt text, from the message's `attachments` entry for the file. */
  description?: string;
}

export interface FakeMessage {
  id: string;
  channelId: string;
  content: string;
  embeds: Json[];
  components: Json[];
  author: { id: string; username: string; bot?: boolean };
  webhookId?: string;
  /** The per-message name override of a webhook post. */
  username?: string;
  avatarUrl?: string;
  reactions: Map<string, Set<string>>;
  attachments: FakeAttachment[];
  /** The message this one replies to. */
  replyTo?: string;
  flags: number;
  /** Set when an interaction response created the message. */
  interactionId?: string;
  postedAt: number;
  editedAt?: number;
  deleted?: boolean;
}

export interface FakeUser {
  id: string;
  username: string;
  globalName?: string;
  roles: string[];
  bot?: boolean;
  /** Accepts no direct messages (Discord answers 50007). */
  dmsClosed?: boolean;
}

export interface FakeWebhook {
  id: string;
  token: string;
  channelId: string;
  name: string;
  avatar: string | null;
}

export interface FakeCommand {
  id: string;
  guildId: string | null;
  body: Json;
}

// Discord's epoch: snowflakes carry their creation time, which discord.js reads back
// (createdTimestamp), so ids are real snowflakes and strictly increasing.
const DISCORD_EPOCH = 1420070400000n;
let lastSnowflake = 0n;

export function snowflake(): string {
  let next = (BigInt(Date.now()) - DISCORD_EPOCH) << 22n;
  if (next <= lastSnowflake) next = lastSnowflake + 1n;
  lastSnowflake = next;
  return next.toString();
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isThread(channel: FakeChannel): boolean {
  return channel.type === CHANNEL_PUBLIC_THREAD || channel.type === CHANNEL_PRIVATE_THREAD;
}

export function userPayload(user: FakeUser): Json {
  return {
    id: user.id,
    username: user.username,
    global_name: user.globalName ?? null,
    discriminator: "0",
    avatar: null,
    bot: user.bot === true,
    system: false,
    flags: 0,
    public_flags: 0,
  };
}

export function memberPayload(user: FakeUser, joinedAt: number): Json {
  return {
    user: userPayload(user),
    nick: null,
    avatar: null,
    roles: user.roles,
    joined_at: iso(joinedAt),
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
  };
}

export function channelPayload(channel: FakeChannel, guildId: string, lastMessageId: string | null): Json {
  const base: Json = {
    id: channel.id,
    type: channel.type,
    guild_id: guildId,
    name: channel.name,
    last_message_id: lastMessageId,
    rate_limit_per_user: 0,
    flags: 0,
  };
  if (isThread(channel)) {
    return {
      ...base,
      parent_id: channel.parentId,
      owner_id: channel.ownerId,
      message_count: 0,
      member_count: 1,
      total_message_sent: 0,
      applied_tags: channel.appliedTags,
      thread_metadata: {
        archived: channel.archived,
        auto_archive_duration: channel.autoArchiveDuration,
        archive_timestamp: iso(channel.archivedAt ?? channel.createdAt),
        locked: channel.locked,
        create_timestamp: iso(channel.createdAt),
        ...(channel.type === CHANNEL_PRIVATE_THREAD ? { invitable: true } : {}),
      },
    };
  }
  const guildChannel: Json = {
    ...base,
    position: 0,
    permission_overwrites: channel.overwrites ?? [],
    parent_id: channel.parentId,
    nsfw: false,
    topic: null,
  };
  if (channel.type === CHANNEL_FORUM) {
    return {
      ...guildChannel,
      available_tags: channel.availableTags,
      default_reaction_emoji: null,
      default_sort_order: null,
      default_forum_layout: 0,
      default_thread_rate_limit_per_user: 0,
    };
  }
  return guildChannel;
}

export function attachmentPayload(a: FakeAttachment): Json {
  return {
    id: a.id,
    filename: a.filename,
    size: a.size,
    url: a.url,
    proxy_url: a.url,
    content_type: a.contentType,
    ...(a.description !== undefined ? { description: a.description } : {}),
  };
}

export function messagePayload(
  m: FakeMessage,
  guildId: string,
  botUserId: string,
  lookup: (channelId: string, id: string) => FakeMessage | undefined,
  depth = 0,
): Json {
  const author: Json = m.webhookId
    ? {
        id: m.webhookId,
        username: m.username ?? m.author.username,
        avatar: null,
        discriminator: "0000",
        bot: true,
        global_name: null,
      }
    : {
        id: m.author.id,
        username: m.author.username,
        global_name: null,
        discriminator: "0",
        avatar: null,
        bot: m.author.bot === true,
      };
  const reactions = [...m.reactions.entries()]
    .filter(([, users]) => users.size > 0)
    .map(([emoji, users]) => ({
      count: users.size,
      count_details: { burst: 0, normal: users.size },
      me: users.has(botUserId),
      me_burst: false,
      burst_colors: [],
      emoji: emojiPayload(emoji),
    }));
  const payload: Json = {
    id: m.id,
    channel_id: m.channelId,
    guild_id: guildId,
    author,
    content: m.content,
    timestamp: iso(m.postedAt),
    edited_timestamp: m.editedAt === undefined ? null : iso(m.editedAt),
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: m.attachments.map(attachmentPayload),
    embeds: m.embeds,
    components: m.components,
    pinned: false,
    type: m.replyTo ? 19 : 0,
    flags: m.flags,
  };
  if (reactions.length > 0) payload.reactions = reactions;
  if (m.webhookId) payload.webhook_id = m.webhookId;
  if (m.replyTo) {
    payload.message_reference = {
      type: 0,
      message_id: m.replyTo,
      channel_id: m.channelId,
      guild_id: guildId,
    };
    const ref = depth === 0 ? lookup(m.channelId, m.replyTo) : undefined;
    payload.referenced_message =
      ref && !ref.deleted ? messagePayload(ref, guildId, botUserId, lookup, depth + 1) : null;
  }
  return payload;
}

/** `name:id` is a custom emoji, anything else a unicode one. */
export function emojiPayload(emoji: string): Json {
  const match = /^a?:?([^:]+):(\d+)$/.exec(emoji);
  if (match) return { id: match[2], name: match[1], animated: emoji.startsWith("a:") };
  return { id: null, name: emoji };
}

/** Discord's "Invalid Form Body" error, one field at a time. */
export function formError(field: string, code: string, message: string): Json {
  const errors: Json = {};
  let cursor: Json = errors;
  const parts = field.split(".");
  parts.forEach((part, i) => {
    if (i === parts.length - 1) cursor[part] = { _errors: [{ code, message }] };
    else {
      const next: Json = {};
      cursor[part] = next;
      cursor = next;
    }
  });
  return { code: 50035, message: "Invalid Form Body", errors };
}

export function embedTextLength(embed: Json): number {
  const str = (v: unknown): number => (typeof v === "string" ? v.length : 0);
  let total = str(embed.title) + str(embed.description);
  const footer = embed.footer;
  if (isObject(footer)) total += str(footer.text);
  const author = embed.author;
  if (isObject(author)) total += str(author.name);
  if (Array.isArray(embed.fields)) {
    for (const f of embed.fields) if (isObject(f)) total += str(f.name) + str(f.value);
  }
  return total;
}

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function asString(v: unknown): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}
