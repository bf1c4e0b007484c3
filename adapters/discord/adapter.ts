// ChatAdapter over Discord's REST API (no gateway: it works in every process). Threads are forum
// posts or public threads of a text channel; customers' messages go through a webhook of the
// parent channel under their name and picture; the bot itself writes roots, notices and marks.
// Errors left after @discordjs/rest's bounded retries are thrown: the core's durable jobs retry
// them. Only answers that mean "already so" count as done.

import {
  type APIChannel,
  type APIEmbed,
  type APIGuildForumTag,
  type APIGuildMember,
  type APIMessage,
  type APIThreadChannel,
  type APIUser,
  type APIWebhook,
  ChannelType,
  type REST,
  Routes,
  SnowflakeUtil,
  ThreadAutoArchiveDuration,
} from "discord.js";
import type {
  AgentFile,
  ChatAdapter,
  ChatMessageRef,
  Digest,
  DigestChart,
  FileSource,
  GroupMember,
  Idempotency,
  Mark,
  MemberDirectory,
  MirrorPost,
  NoticeOptions,
  ThreadHeader,
  ThreadRef,
} from "../../src/chat/chat-port.ts";
import { fetchFileWithin } from "../../src/chat/file-fetch.ts";
import type { Logger } from "../../src/log/logger.ts";
import { discordCode, ErrorCode, errorFields, isDiscordError } from "./discord-errors.ts";
import { discordReaction, FALLBACK_REACTION, MARK_REACTIONS, sameEmoji } from "./emoji.ts";
import { CONTENT_MAX, escapeMarkdown, truncate, truncateMarkdown, USERNAME_MAX } from "./markdown.ts";
import {
  ALERT_THREAD_NAME,
  CONTINUATION_FLAG,
  NO_MENTIONS,
  type RenderedMessage,
  type RenderedPart,
  renderAlert,
  renderNotice,
  renderPost,
} from "./render.ts";
import { renderDigest } from "./render-digest.ts";
import {
  headerTags,
  renderHeader,
  TAG_NAMES,
  type TagName,
  threadName,
  threadNames,
} from "./render-header.ts";

export interface DiscordAdapterDeps {
  rest: REST;
  appId: string;
  log: Logger;
  fetch: typeof fetch;
  /** Origins besides Discord's CDN that may serve attachments (the configured REST origin). */
  fileOrigins: string[];
}

interface ParentInfo {
  kind: "forum" | "text";
  type: ChannelType;
  guildId: string | undefined;
}

/** Looking for an earlier attempt's post starts this long before it began (clocks differ). */
const CLOCK_SKEW_MS = 60_000;

interface Webhook {
  id: string;
  token: string;
}

const WEBHOOK_NAME = "threadbridge";
const MARK_EMOJI = Object.values(MARK_REACTIONS);
const HEADER_CACHE_MAX = 5_000;
/** Hosts Discord serves attachments from. The bot token is never sent to any of them. */
const CDN_HOSTS = new Set(["cdn.discordapp.com", "media.discordapp.net"]);

/** Webhook display names: 1–80 characters, and Discord refuses any containing "discord" or
 * "clyde" (a Cyrillic "с" keeps the look). */
export function webhookUsername(name: string): string {
  const cleaned = name
    .replace(/\s+/g, " ")
    .replace(/```/g, "")
    .replace(/(dis)c(ord)/gi, "$1\u0441$2")
    .replace(/c(lyde)/gi, "\u0441$1")
    .trim();
  return truncate(cleaned, USERNAME_MAX) || "Instagram";
}

/** A message body as the REST API wants it, without empty content. */
function body(message: RenderedMessage | (RenderedPart & { allowed_mentions?: unknown })) {
  const out: Record<string, unknown> = { ...message };
  if (out.content === "") delete out.content;
  return out;
}

/** The smallest snowflake of a moment a little before `at` (clocks differ). */
function snowflakeAt(at: Date): bigint {
  return SnowflakeUtil.generate({ timestamp: Math.max(at.getTime() - CLOCK_SKEW_MS, 1_420_070_400_000) });
}

/** What a mirrored part shows, as Discord gives it back: the text and the embeds' fields the
 * bridge sets (Discord adds its own, such as proxy URLs and sizes). */
function fingerprint(content: string | undefined, embeds: readonly APIEmbed[] | undefined): string {
  return JSON.stringify([
    content ?? "",
    (embeds ?? []).map((e) => [
      e.title,
      e.description,
      e.url,
      e.image?.url,
      e.thumbnail?.url,
      e.footer?.text,
    ]),
  ]);
}

function threadQuery(threadId: string, extra: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams({ ...extra, thread_id: threadId });
}

function byId(a: { id: string }, b: { id: string }): number {
  const x = BigInt(a.id);
  const y = BigInt(b.id);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A page of GET /guilds/{id}/members, and how many pages one pool read may take. */
const MEMBERS_PAGE = 1000;
const MEMBERS_PAGES = 10;

export class DiscordAdapter implements ChatAdapter, FileSource, MemberDirectory {
  readonly platform = "discord" as const;
  readonly #deps: DiscordAdapterDeps;
  readonly #parents = new Map<string, Promise<ParentInfo>>();
  readonly #webhooks = new Map<string, Promise<Webhook>>();
  readonly #tags = new Map<string, Promise<Map<TagName, string>>>();
  /** Forums whose tags Discord refused to create: said once (readiness and `doctor` name the
   * missing Manage Channels meanwhile), again only after a creation has succeeded. */
  readonly #tagsRefused = new Set<string>();
  /** Text-channel threads: the id of the bot's header message (forum posts: the thread id). */
  readonly #headers = new Map<string, string>();
  #botUser: Promise<string> | undefined;

  constructor(deps: DiscordAdapterDeps) {
    this.#deps = deps;
  }

  get rest(): REST {
    return this.#deps.rest;
  }

  async openThread(channel: string, header: ThreadHeader, once?: Idempotency): Promise<ThreadRef> {
    const { rest } = this.#deps;
    const parent = await this.parent(channel);
    const rendered = renderHeader(header);
    const name = threadName(header);
    const earlier =
      once?.since && (await this.#findThread(channel, parent, threadNames(header), once, once.since));
    if (earlier) {
      // A text channel's thread and its header are two calls: the attempt may have died between.
      if (parent.kind === "text" && !(await this.#headerMessage(earlier))) {
        const root = (await rest.post(Routes.channelMessages(earlier), {
          body: body(rendered),
        })) as APIMessage;
        this.#rememberHeader(earlier, root.id);
      }
      return { channel, thread: earlier };
    }
    if (parent.kind === "forum") {
      const tags = await this.#forumTags(channel);
      const applied = headerTags(header)
        .map((t) => tags.get(t))
        .filter((id): id is string => id !== undefined);
      const thread = (await rest.post(Routes.threads(channel), {
        body: {
          name,
          auto_archive_duration: ThreadAutoArchiveDuration.OneWeek,
          applied_tags: applied,
          message: body(rendered),
        },
      })) as APIThreadChannel;
      return { channel, thread: thread.id };
    }
    const thread = (await rest.post(Routes.threads(channel), {
      body: {
        name,
        type:
          parent.type === ChannelType.GuildAnnouncement
            ? ChannelType.AnnouncementThread
            : ChannelType.PublicThread,
        auto_archive_duration: ThreadAutoArchiveDuration.OneWeek,
      },
    })) as APIThreadChannel;
    try {
      const root = (await rest.post(Routes.channelMessages(thread.id), {
        body: body(rendered),
      })) as APIMessage;
      this.#rememberHeader(thread.id, root.id);
    } catch (err) {
      // The core retries openThread as a whole: leave no empty thread behind.
      await rest.delete(Routes.channel(thread.id)).catch((cleanup: unknown) => {
        this.#deps.log.warn(
          { thread: thread.id, err: errorFields(cleanup) },
          "discord empty thread not removed",
        );
      });
      throw err;
    }
    return { channel, thread: thread.id };
  }

  async updateHeader(thread: ThreadRef, header: ThreadHeader): Promise<void> {
    const { rest, log } = this.#deps;
    const parent = await this.parent(thread.channel);
    const current = await this.#thread(thread.thread);
    if (!current) {
      log.warn({ channel: thread.channel, thread: thread.thread }, "discord thread to update is gone");
      return;
    }
    const archived = current.thread_metadata?.archived === true;
    const patch: Record<string, unknown> = {};
    const name = threadName(header);
    if (current.name !== name) patch.name = name;
    if (parent.kind === "forum") {
      const tags = await this.#forumTags(thread.channel);
      const ours = new Set(tags.values());
      const existing = current.applied_tags ?? [];
      const wanted = [
        ...existing.filter((id) => !ours.has(id)),
        ...headerTags(header)
          .map((t) => tags.get(t))
          .filter((id): id is string => id !== undefined),
      ].slice(0, 5);
      if (wanted.length !== existing.length || wanted.some((id) => !existing.includes(id)))
        patch.applied_tags = wanted;
    }
    // An archived thread takes no edit but being reopened, so reopen it in the same call.
    if (Object.keys(patch).length > 0 || archived) {
      if (archived) patch.archived = false;
      await rest.patch(Routes.channel(thread.thread), { body: patch });
    }

    const headerId = await this.headerMessageId(thread);
    if (!headerId) {
      log.warn({ channel: thread.channel, thread: thread.thread }, "discord thread header not found");
      return;
    }
    const rendered = renderHeader(header);
    try {
      await this.#inThread(thread.thread, () =>
        rest.patch(Routes.channelMessage(thread.thread, headerId), {
          body: { embeds: rendered.embeds, components: rendered.components, allowed_mentions: NO_MENTIONS },
        }),
      );
    } catch (err) {
      if (!isDiscordError(err, ErrorCode.UnknownMessage)) throw err;
      this.#headers.delete(thread.thread);
      log.warn({ channel: thread.channel, thread: thread.thread }, "discord thread header is gone");
    }
  }

  async post(thread: ThreadRef, post: MirrorPost, once?: Idempotency): Promise<ChatMessageRef> {
    const parts = renderPost(post);
    const identity: Record<string, string> = { username: webhookUsername(post.author.name) };
    if (post.author.iconUrl?.startsWith("https://") || post.author.iconUrl?.startsWith("http://"))
      identity.avatar_url = post.author.iconUrl;
    let first: string | undefined;
    let done = 0;
    const earlier = once?.since && (await this.#findPost(thread, parts[0], once, once.since));
    if (earlier) {
      // Parts of a long message the interrupted attempt did not get to still follow it.
      first = earlier.id;
      done = 1 + earlier.continuations;
    }
    for (const [i, part] of parts.entries()) {
      if (i < done) continue;
      const message = await this.#inThread(thread.thread, () =>
        this.#webhookCall(thread.channel, (hook) =>
          this.#deps.rest.post(Routes.webhook(hook.id, hook.token), {
            body: {
              ...body(part),
              ...identity,
              allowed_mentions: NO_MENTIONS,
              ...(i > 0 ? { flags: CONTINUATION_FLAG } : {}),
            },
            query: threadQuery(thread.thread, { wait: "true" }),
            auth: false,
          }),
        ),
      );
      first ??= (message as APIMessage).id;
    }
    if (!first) throw new Error("discord webhook answered without a message");
    return first;
  }

  async update(thread: ThreadRef, message: ChatMessageRef, post: MirrorPost): Promise<void> {
    const hook = await this.#webhook(thread.channel);
    const continuations = await this.#continuations(thread.thread, message, hook.id);
    let parts = renderPost(post);
    const room = 1 + continuations.length;
    if (parts.length > room) {
      // An edit cannot insert messages in the middle of a thread: the text ends where room does.
      const kept = parts.slice(0, room);
      const last = kept[room - 1] as RenderedPart;
      kept[room - 1] = {
        content: truncateMarkdown(`${last.content}…`, CONTENT_MAX),
        embeds: parts.at(-1)?.embeds ?? [],
      };
      parts = kept;
    }
    const edits = parts.map((part, i) => ({
      id: i === 0 ? message : (continuations[i - 1] as string),
      part,
    }));
    for (const { id, part } of edits) {
      try {
        await this.#inThread(thread.thread, () =>
          this.#webhookCall(thread.channel, (h) =>
            this.#deps.rest.patch(Routes.webhookMessage(h.id, h.token, id), {
              body: { content: part.content, embeds: part.embeds, allowed_mentions: NO_MENTIONS },
              query: threadQuery(thread.thread),
              auth: false,
            }),
          ),
        );
      } catch (err) {
        if (!isDiscordError(err, ErrorCode.UnknownMessage)) throw err;
        this.#deps.log.warn({ thread: thread.thread, message: id }, "discord message to update is gone");
        if (id === message) return;
      }
    }
    for (const id of continuations.slice(parts.length - 1)) await this.#deleteWebhookMessage(thread, id);
  }

  async remove(thread: ThreadRef, message: ChatMessageRef): Promise<void> {
    const hook = await this.#webhook(thread.channel);
    const continuations = await this.#continuations(thread.thread, message, hook.id);
    for (const id of [message, ...continuations]) await this.#deleteWebhookMessage(thread, id);
  }

  async removeThread(thread: ThreadRef): Promise<void> {
    // A thread channel goes whole with every message in it, the header and notices included.
    try {
      await this.#deps.rest.delete(Routes.channel(thread.thread));
    } catch (err) {
      if (!isDiscordError(err, ErrorCode.UnknownChannel)) throw err;
    }
    this.#headers.delete(thread.thread);
  }

  async react(thread: ThreadRef, message: ChatMessageRef, emoji: string, on: boolean): Promise<void> {
    const wanted = discordReaction(emoji);
    const call = (e: string) =>
      this.#inThread(thread.thread, () =>
        on
          ? this.#deps.rest.put(
              Routes.channelMessageOwnReaction(thread.thread, message, encodeURIComponent(e)),
            )
          : this.#deps.rest.delete(
              Routes.channelMessageOwnReaction(thread.thread, message, encodeURIComponent(e)),
            ),
      );
    try {
      try {
        await call(wanted);
      } catch (err) {
        if (!isDiscordError(err, ErrorCode.UnknownEmoji) || wanted === FALLBACK_REACTION) throw err;
        await call(FALLBACK_REACTION);
      }
    } catch (err) {
      if (!isDiscordError(err, ErrorCode.UnknownMessage)) throw err;
      this.#deps.log.warn({ thread: thread.thread, message }, "discord reaction target is gone");
    }
  }

  // Reads the message's reactions first: one read plus at most one add and the removals needed,
  // instead of blindly removing every other mark (reaction routes have tight rate limits).
  async mark(thread: ThreadRef, message: ChatMessageRef, mark: Mark | undefined): Promise<void> {
    const { rest, log } = this.#deps;
    let current: APIMessage;
    try {
      current = (await rest.get(Routes.channelMessage(thread.thread, message))) as APIMessage;
    } catch (err) {
      if (!isDiscordError(err, ErrorCode.UnknownMessage, ErrorCode.UnknownChannel)) throw err;
      log.warn({ thread: thread.thread, message }, "discord message to mark is gone");
      return;
    }
    const mine = (current.reactions ?? [])
      .filter((r) => r.me && r.emoji.name)
      .map((r) => r.emoji.name as string);
    const want = mark ? MARK_REACTIONS[mark] : undefined;
    const route = (e: string) =>
      Routes.channelMessageOwnReaction(thread.thread, message, encodeURIComponent(e));
    if (want && !mine.some((e) => sameEmoji(e, want)))
      await this.#inThread(thread.thread, () => rest.put(route(want)));
    for (const emoji of mine) {
      if ((want && sameEmoji(emoji, want)) || !MARK_EMOJI.some((m) => sameEmoji(m, emoji))) continue;
      await this.#inThread(thread.thread, () => rest.delete(route(emoji)));
    }
  }

  async notice(thread: ThreadRef, text: string, options: NoticeOptions = {}): Promise<ChatMessageRef> {
    return this.noticeReplying(thread, text, options);
  }

  /** A notice, optionally as a reply to the agent message it answers. */
  async noticeReplying(
    thread: ThreadRef,
    text: string,
    options: NoticeOptions = {},
    replyTo?: string,
  ): Promise<ChatMessageRef> {
    const rendered = renderNotice({ text, ...options });
    const message = (await this.#inThread(thread.thread, () =>
      this.#deps.rest.post(Routes.channelMessages(thread.thread), {
        body: {
          ...body(rendered),
          ...(replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {}),
        },
      }),
    )) as APIMessage;
    return message.id;
  }

  /**
   * A line for one person only, about a thread: a message has no ephemeral answer on Discord (only
   * an interaction has), so it goes to their direct messages, linking the thread. When they accept
   * no direct messages, it falls back to a notice in the thread answering their message and
   * mentioning them: seen by the thread, but never lost.
   */
  async tellPrivately(userId: string, thread: ThreadRef, text: string, replyTo?: string): Promise<void> {
    const rest = this.#deps.rest;
    try {
      const dm = (await rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as {
        id: string;
      };
      await rest.post(Routes.channelMessages(dm.id), {
        body: {
          content: truncateMarkdown(`In <#${thread.thread}>: ${escapeMarkdown(text)}`, CONTENT_MAX),
          allowed_mentions: NO_MENTIONS,
        },
      });
    } catch (err) {
      if (!isDiscordError(err, ErrorCode.CannotMessageUser, ErrorCode.MissingAccess)) throw err;
      this.#deps.log.info(
        { user: userId, err: errorFields(err) },
        "discord direct message refused; answering in the thread",
      );
      await this.noticeReplying(thread, text, { mention: [userId] }, replyTo);
    }
  }

  async alert(channel: string, text: string): Promise<void> {
    const parent = await this.parent(channel);
    const rendered = body(renderAlert(text));
    if (parent.kind === "forum")
      await this.#deps.rest.post(Routes.threads(channel), {
        body: {
          name: ALERT_THREAD_NAME,
          auto_archive_duration: ThreadAutoArchiveDuration.OneWeek,
          message: rendered,
        },
      });
    else await this.#deps.rest.post(Routes.channelMessages(channel), { body: rendered });
  }

  /** An embed with the chart attached and shown in it; in a forum, a post of its own (as alerts). */
  /** The thread in Discord's web and desktop client (`/channels/<server>/<thread>`); undefined once
   * the thread is gone. */
  async threadLink(thread: ThreadRef): Promise<string | undefined> {
    const channel = await this.#thread(thread.thread);
    return channel?.guild_id ? `https://discord.com/channels/${channel.guild_id}/${channel.id}` : undefined;
  }

  async postDigest(channel: string, digest: Digest, chart?: DigestChart): Promise<void> {
    const parent = await this.parent(channel);
    const { message, postName } = renderDigest(digest, chart);
    const files = chart ? [{ name: chart.name, data: chart.png, contentType: "image/png" }] : undefined;
    if (parent.kind === "forum")
      await this.#deps.rest.post(Routes.threads(channel), {
        body: {
          name: postName,
          auto_archive_duration: ThreadAutoArchiveDuration.OneWeek,
          message: body(message),
        },
        files,
      });
    else await this.#deps.rest.post(Routes.channelMessages(channel), { body: body(message), files });
  }

  /** Streams an agent's upload (AgentFile.id is the attachment's URL); handed on, never stored. */
  async fetchFile(file: AgentFile): Promise<Response> {
    const url = this.#allowedFileUrl(file.id);
    if (!url) throw new Error("discord file is served from an unexpected host");
    // Redirects are followed only to where a first URL could point (src/chat/file-fetch.ts).
    const allowed = (next: URL) => this.#allowedFileUrl(next.href) !== undefined;
    const get = (target: URL) => fetchFileWithin(this.#deps.fetch, target, {}, allowed);
    let res = await get(url);
    // Attachment links are signed and expire; Discord renews them on request.
    if ((res.status === 403 || res.status === 404) && CDN_HOSTS.has(url.hostname)) {
      await res.body?.cancel();
      const renewed = await this.#refreshUrl(url.href);
      if (renewed) res = await get(new URL(renewed));
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`discord file download failed with HTTP ${res.status}`);
    }
    return res;
  }

  /** The members of a role in the server of `channel`. Discord has no "members of a role" call:
   * the server's member list is read in pages (it needs the Server Members intent). */
  async groupMembers(group: string, channel: string): Promise<GroupMember[]> {
    const { guildId } = await this.parent(channel);
    if (!guildId) throw new Error(`channel ${channel} is in no server`);
    const found: GroupMember[] = [];
    let after = "0";
    for (let page = 0; page < MEMBERS_PAGES; page++) {
      const members = (await this.#deps.rest.get(Routes.guildMembers(guildId), {
        query: new URLSearchParams({ limit: String(MEMBERS_PAGE), after }),
      })) as APIGuildMember[];
      for (const m of members)
        if (m.user && !m.user.bot && m.roles.includes(group))
          found.push({ id: m.user.id, name: m.nick ?? m.user.global_name ?? m.user.username });
      const last = members.at(-1)?.user?.id;
      if (members.length < MEMBERS_PAGE || !last) break;
      after = last;
    }
    return found;
  }

  // ——— shared with the gateway side ———

  /** The parent channel's kind, read once per process (a channel's type never changes). */
  parent(channelId: string): Promise<ParentInfo> {
    let info = this.#parents.get(channelId);
    if (!info) {
      info = (async () => {
        const channel = (await this.#deps.rest.get(Routes.channel(channelId))) as APIChannel;
        const forum = channel.type === ChannelType.GuildForum || channel.type === ChannelType.GuildMedia;
        const guildId = "guild_id" in channel ? channel.guild_id : undefined;
        return { kind: forum ? "forum" : "text", type: channel.type, guildId } as ParentInfo;
      })();
      info.catch(() => this.#parents.delete(channelId));
      this.#parents.set(channelId, info);
    }
    return info;
  }

  /** The message that shows a thread's header: a forum post's starter message has the thread's
   * id; in a text channel's thread it is the bot's first message. */
  async headerMessageId(thread: ThreadRef): Promise<string | undefined> {
    const parent = await this.parent(thread.channel);
    return parent.kind === "forum" ? thread.thread : this.#headerMessage(thread.thread);
  }

  /** The bot's own user id (REST only: works without the gateway). */
  botUserId(): Promise<string> {
    if (!this.#botUser) {
      const attempt = (async () => ((await this.#deps.rest.get(Routes.user("@me"))) as APIUser).id)();
      attempt.catch(() => {
        if (this.#botUser === attempt) this.#botUser = undefined;
      });
      this.#botUser = attempt;
    }
    return this.#botUser;
  }

  // ——— internals ———

  /** Ids of our forum tags, read (and the missing ones created) once per forum and process. */
  #forumTags(forumId: string): Promise<Map<TagName, string>> {
    let tags = this.#tags.get(forumId);
    if (!tags) {
      tags = this.#loadForumTags(forumId);
      tags.then(
        (map) => {
          if (map.size < TAG_NAMES.length) this.#tags.delete(forumId);
        },
        () => this.#tags.delete(forumId),
      );
      this.#tags.set(forumId, tags);
    }
    return tags;
  }

  /** Creates the missing tags (a forum holds at most 20). */
  async #loadForumTags(forumId: string): Promise<Map<TagName, string>> {
    const { rest, log } = this.#deps;
    const forum = (await rest.get(Routes.channel(forumId))) as { available_tags?: APIGuildForumTag[] };
    let tags = forum.available_tags ?? [];
    const missing = TAG_NAMES.filter((name) => !tags.some((t) => t.name === name));
    if (missing.length > 0 && tags.length + missing.length <= 20) {
      try {
        const updated = (await rest.patch(Routes.channel(forumId), {
          body: { available_tags: [...tags, ...missing.map((name) => ({ name }))] },
        })) as { available_tags?: APIGuildForumTag[] };
        tags = updated.available_tags ?? tags;
        this.#tagsRefused.delete(forumId);
      } catch (err) {
        // Posts go on untagged; each new post tries again, so the refusal is said once, not each time.
        if (!this.#tagsRefused.has(forumId)) {
          this.#tagsRefused.add(forumId);
          log.warn(
            { channel: forumId, err: errorFields(err) },
            "discord forum tags could not be created: posts go untagged (give the bot Manage Channels in the forum)",
          );
        }
      }
    }
    const map = new Map<TagName, string>();
    for (const name of TAG_NAMES) {
      const tag = tags.find((t) => t.name === name);
      if (tag) map.set(name, tag.id);
    }
    return map;
  }

  async #thread(threadId: string): Promise<APIThreadChannel | undefined> {
    try {
      return (await this.#deps.rest.get(Routes.channel(threadId))) as APIThreadChannel;
    } catch (err) {
      if (isDiscordError(err, ErrorCode.UnknownChannel)) return undefined;
      throw err;
    }
  }

  #rememberHeader(threadId: string, messageId: string): void {
    if (this.#headers.size >= HEADER_CACHE_MAX) {
      const oldest = this.#headers.keys().next().value;
      if (oldest !== undefined) this.#headers.delete(oldest);
    }
    this.#headers.set(threadId, messageId);
  }

  /** A text-channel thread's header: the first message a bot (not a webhook) wrote in it, with
   * embeds. The bot posts it right after creating the thread, so nothing else comes first. */
  async #headerMessage(threadId: string): Promise<string | undefined> {
    const known = this.#headers.get(threadId);
    if (known) return known;
    const messages = (await this.#deps.rest.get(Routes.channelMessages(threadId), {
      query: new URLSearchParams({ after: threadId, limit: "20" }),
    })) as APIMessage[];
    const root = [...messages]
      .sort(byId)
      .find((m) => m.author.bot === true && !m.webhook_id && (m.embeds?.length ?? 0) > 0);
    if (root) this.#rememberHeader(threadId, root.id);
    return root?.id;
  }

  async #webhook(parentId: string): Promise<Webhook> {
    let hook = this.#webhooks.get(parentId);
    if (!hook) {
      hook = this.#findOrCreateWebhook(parentId);
      hook.catch(() => this.#webhooks.delete(parentId));
      this.#webhooks.set(parentId, hook);
    }
    return hook;
  }

  async #findOrCreateWebhook(parentId: string): Promise<Webhook> {
    const { rest, log } = this.#deps;
    const ours = await this.#ourWebhooks(parentId);
    const oldest = ours[0];
    if (oldest?.token) return { id: oldest.id, token: oldest.token };
    const created = (await rest.post(Routes.channelWebhooks(parentId), {
      body: { name: WEBHOOK_NAME },
    })) as APIWebhook;
    if (!created.token) throw new Error("discord created a webhook without a token");
    // Workers that found none at the same moment each made one: all keep the oldest, so that one
    // channel's posts come from one webhook (edits, continuations and retries look for its id).
    const winner = (await this.#ourWebhooks(parentId))[0];
    if (winner?.token && winner.id !== created.id) {
      await rest.delete(Routes.webhook(created.id)).catch((err: unknown) => {
        log.warn(
          { channel: parentId, webhook: created.id, err: errorFields(err) },
          "discord extra webhook not removed",
        );
      });
      return { id: winner.id, token: winner.token };
    }
    log.info({ channel: parentId, webhook: created.id }, "discord webhook created");
    return { id: created.id, token: created.token };
  }

  /** The channel's webhooks this application made and can post through, oldest first. */
  async #ourWebhooks(parentId: string): Promise<APIWebhook[]> {
    const all = (await this.#deps.rest.get(Routes.channelWebhooks(parentId))) as APIWebhook[];
    return all.filter((w) => w.token && w.application_id === this.#deps.appId).sort(byId);
  }

  /** Runs a webhook call; a webhook deleted meanwhile is found or created again, once. */
  async #webhookCall<T>(parentId: string, call: (hook: Webhook) => Promise<T>): Promise<T> {
    const hook = await this.#webhook(parentId);
    try {
      return await call(hook);
    } catch (err) {
      if (!isDiscordError(err, ErrorCode.UnknownWebhook)) throw err;
      if (this.#webhooks.get(parentId) && (await this.#webhooks.get(parentId))?.id === hook.id)
        this.#webhooks.delete(parentId);
      return call(await this.#webhook(parentId));
    }
  }

  /** The thread an earlier attempt opened: an active thread of `channel` with one of these names,
   * made after `since`, that the core has not stored for anything else. Discord has no field to
   * carry a key on a thread, so the name and the time stand in for it. */
  async #findThread(
    channel: string,
    parent: ParentInfo,
    names: readonly string[],
    once: Idempotency,
    since: Date,
  ): Promise<string | undefined> {
    if (!parent.guildId) return undefined;
    const { threads } = (await this.#deps.rest.get(Routes.guildActiveThreads(parent.guildId))) as {
      threads: APIThreadChannel[];
    };
    const after = snowflakeAt(since);
    const candidates = threads
      .filter((t) => t.parent_id === channel && names.includes(t.name ?? "") && BigInt(t.id) > after)
      .sort(byId);
    for (const t of candidates)
      if (!(await once.taken(t.id))) {
        this.#deps.log.info(
          { channel, thread: t.id, key: once.key },
          "discord thread of an interrupted attempt found; not opened again",
        );
        return t.id;
      }
    return undefined;
  }

  /** The post an earlier attempt made: our webhook's first part with the same text and embeds,
   * made after `since`, that the core has not stored for another message (webhook messages have
   * no field for a key, so identical content stands in for it). */
  async #findPost(
    thread: ThreadRef,
    part: RenderedPart | undefined,
    once: Idempotency,
    since: Date,
  ): Promise<{ id: string; continuations: number } | undefined> {
    if (!part) return undefined;
    const hook = await this.#webhook(thread.channel);
    // The earlier attempt may have run in another process that posted through a webhook of ours
    // made at the same moment (see #findOrCreateWebhook): any of them counts.
    const hooks = new Set([hook.id, ...(await this.#ourWebhooks(thread.channel)).map((w) => w.id)]);
    let messages: APIMessage[];
    try {
      messages = (await this.#deps.rest.get(Routes.channelMessages(thread.thread), {
        query: new URLSearchParams({ after: String(snowflakeAt(since)), limit: "100" }),
      })) as APIMessage[];
    } catch (err) {
      if (isDiscordError(err, ErrorCode.UnknownChannel)) return undefined;
      throw err;
    }
    const wanted = fingerprint(part.content, part.embeds);
    for (const m of [...messages].sort(byId)) {
      if (!m.webhook_id || !hooks.has(m.webhook_id) || ((m.flags ?? 0) & CONTINUATION_FLAG) !== 0) continue;
      if (fingerprint(m.content, m.embeds) !== wanted || (await once.taken(m.id))) continue;
      this.#deps.log.info(
        { thread: thread.thread, message: m.id, key: once.key },
        "discord post of an interrupted attempt found; not posted again",
      );
      const continuations = await this.#continuations(thread.thread, m.id, m.webhook_id);
      return { id: m.id, continuations: continuations.length };
    }
    return undefined;
  }

  /** Runs a call that an archived thread refuses; reopens the thread and tries once more. */
  async #inThread<T>(threadId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (discordCode(err) !== ErrorCode.ThreadArchived) throw err;
      await this.#deps.rest.patch(Routes.channel(threadId), { body: { archived: false } });
      this.#deps.log.info({ thread: threadId }, "discord thread reopened");
      return call();
    }
  }

  /** The later parts of a long mirrored message: our webhook's continuation messages after it. */
  async #continuations(threadId: string, first: string, webhookId: string): Promise<string[]> {
    let messages: APIMessage[];
    try {
      messages = (await this.#deps.rest.get(Routes.channelMessages(threadId), {
        query: new URLSearchParams({ after: first, limit: "20" }),
      })) as APIMessage[];
    } catch (err) {
      if (isDiscordError(err, ErrorCode.UnknownChannel)) return [];
      throw err;
    }
    const found: string[] = [];
    for (const m of [...messages].sort(byId)) {
      if (m.webhook_id !== webhookId) continue;
      if (((m.flags ?? 0) & CONTINUATION_FLAG) === 0) break;
      found.push(m.id);
    }
    return found;
  }

  async #deleteWebhookMessage(thread: ThreadRef, id: string): Promise<void> {
    try {
      await this.#inThread(thread.thread, () =>
        this.#webhookCall(thread.channel, (h) =>
          this.#deps.rest.delete(Routes.webhookMessage(h.id, h.token, id), {
            query: threadQuery(thread.thread),
            auth: false,
          }),
        ),
      );
    } catch (err) {
      if (!isDiscordError(err, ErrorCode.UnknownMessage, ErrorCode.UnknownChannel)) throw err;
    }
  }

  #allowedFileUrl(raw: string): URL | undefined {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return undefined;
    }
    if (this.#deps.fileOrigins.includes(url.origin)) return url;
    return url.protocol === "https:" && CDN_HOSTS.has(url.hostname) ? url : undefined;
  }

  async #refreshUrl(url: string): Promise<string | undefined> {
    try {
      const res = (await this.#deps.rest.post("/attachments/refresh-urls", {
        body: { attachment_urls: [url] },
      })) as { refreshed_urls?: { original: string; refreshed: string }[] };
      const renewed = res.refreshed_urls?.[0]?.refreshed;
      return renewed && this.#allowedFileUrl(renewed) ? renewed : undefined;
    } catch (err) {
      this.#deps.log.warn({ err: errorFields(err) }, "discord attachment link could not be renewed");
      return undefined;
    }
  }
}
