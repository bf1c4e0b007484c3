// ChatAdapter over the Slack Web API. Errors the WebClient still has after its bounded retries are
// thrown: the core's durable jobs retry them. Only answers that mean "already so" count as done.

import type { WebClient } from "@slack/web-api";
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
import type { Pace } from "./channel-pacer.ts";
import { MARK_REACTIONS, slackReactionName } from "./emoji.ts";
import { postDigest } from "./post-digest.ts";
import { renderAlert, renderNotice, renderPost } from "./render.ts";
import { renderHeader } from "./render-header.ts";
import { platformErrorCode, tolerating } from "./slack-errors.ts";

export interface SlackAdapterDeps {
  client: WebClient;
  botToken: string;
  /** The bot's own user id, to tell its reactions from everyone else's. */
  botUserId: () => Promise<string>;
  /** The same fetch the WebClient uses. */
  fetch: typeof fetch;
  /** Hosts other than Slack's that may receive the bot token for file downloads (the test fake). */
  fileOrigins: string[];
  log: Logger;
  /** Waits for the channel's turn to post (channel-pacer.ts). */
  pace: Pace;
}

const MARK_NAMES = new Set(Object.values(MARK_REACTIONS));
const USERNAME_MAX = 80;
/** The metadata event type that carries the core's idempotency key on what the bridge posts. */
const COPY_EVENT = "threadbridge_copy";
/** Looking for an earlier attempt's post starts this long before it began (clocks differ). */
const CLOCK_SKEW_MS = 60_000;
/** Pages of 200 read while looking; a thread or channel busier than that since the first attempt
 * is not searched further (the post is made again, and the miss is logged). */
const LOOKUP_PAGES = 5;

/** Members of a user group read per assignment at most: users.info for each name. */
const GROUP_NAMES_MAX = 200;

export class SlackAdapter implements ChatAdapter, FileSource, MemberDirectory {
  readonly platform = "slack" as const;
  readonly #deps: SlackAdapterDeps;

  constructor(deps: SlackAdapterDeps) {
    this.#deps = deps;
  }

  /** A user group's members (usergroups.users.list, the same call ADMIN_USERS groups use), with
   * the names threads show them under. */
  async groupMembers(group: string): Promise<GroupMember[]> {
    const { client } = this.#deps;
    const res = await client.usergroups.users.list({ usergroup: group });
    const ids = (res.users ?? []).slice(0, GROUP_NAMES_MAX);
    return Promise.all(
      ids.map(async (id) => {
        const info = await client.users.info({ user: id }).catch(() => undefined);
        const profile = info?.user?.profile;
        const name =
          profile?.display_name || profile?.real_name || info?.user?.real_name || info?.user?.name || id;
        return { id, name };
      }),
    );
  }

  async openThread(channel: string, header: ThreadHeader, once?: Idempotency): Promise<ThreadRef> {
    const earlier = once?.since && (await this.#findCopy(channel, undefined, once, once.since));
    if (earlier) return { channel, thread: earlier };
    await this.#deps.pace(channel);
    const res = await this.#deps.client.chat.postMessage({
      channel,
      ...renderHeader(header),
      ...keyed(once),
      unfurl_links: false,
      unfurl_media: false,
    });
    return { channel: res.channel ?? channel, thread: requireTs(res.ts, "chat.postMessage") };
  }

  async updateHeader(thread: ThreadRef, header: ThreadHeader): Promise<void> {
    await this.#update(thread.channel, thread.thread, renderHeader(header), "header");
  }

  async post(thread: ThreadRef, post: MirrorPost, once?: Idempotency): Promise<ChatMessageRef> {
    const earlier = once?.since && (await this.#findCopy(thread.channel, thread.thread, once, once.since));
    if (earlier) return earlier;
    await this.#deps.pace(thread.channel);
    const res = await this.#deps.client.chat.postMessage({
      channel: thread.channel,
      thread_ts: thread.thread,
      ...renderPost(post),
      ...keyed(once),
      username: post.author.name.slice(0, USERNAME_MAX) || "Instagram",
      ...(post.author.iconUrl ? { icon_url: post.author.iconUrl } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    return requireTs(res.ts, "chat.postMessage");
  }

  async update(thread: ThreadRef, message: ChatMessageRef, post: MirrorPost): Promise<void> {
    await this.#update(thread.channel, message, renderPost(post), "post");
  }

  async remove(thread: ThreadRef, message: ChatMessageRef): Promise<void> {
    await tolerating(["message_not_found"], () =>
      this.#deps.client.chat.delete({ channel: thread.channel, ts: message }),
    );
  }

  async removeThread(thread: ThreadRef): Promise<void> {
    const { client } = this.#deps;
    const replies: string[] = [];
    let cursor: string | undefined;
    do {
      let page: Awaited<ReturnType<typeof client.conversations.replies>>;
      try {
        page = await client.conversations.replies({
          channel: thread.channel,
          ts: thread.thread,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        });
      } catch (err) {
        if (platformErrorCode(err) === "thread_not_found") return; // the root is gone, and its replies with it
        throw err;
      }
      // People's replies cannot be deleted with a bot token; trying would only cost rate limit.
      for (const m of page.messages ?? []) if (m.ts && m.ts !== thread.thread && m.bot_id) replies.push(m.ts);
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    for (const ts of replies) await this.remove(thread, ts);
    await this.remove(thread, thread.thread);
  }

  async react(thread: ThreadRef, message: ChatMessageRef, emoji: string, on: boolean): Promise<void> {
    const name = slackReactionName(emoji);
    const args = { channel: thread.channel, timestamp: message, name };
    const gone = on
      ? await tolerating(["already_reacted", "message_not_found"], () =>
          this.#deps.client.reactions.add(args),
        )
      : await tolerating(["no_reaction", "message_not_found"], () =>
          this.#deps.client.reactions.remove(args),
        );
    if (gone === "message_not_found")
      this.#deps.log.warn({ channel: thread.channel, message }, "slack reaction target is gone");
  }

  // Reads the message's reactions first: one read plus at most one add and one remove, instead of
  // blindly removing every other mark (reactions.remove has a low rate tier).
  async mark(thread: ThreadRef, message: ChatMessageRef, mark: Mark | undefined): Promise<void> {
    const { client } = this.#deps;
    const present = await this.#botReactions(thread.channel, message);
    if (present === undefined) {
      this.#deps.log.warn({ channel: thread.channel, message }, "slack message to mark is gone");
      return;
    }
    const want = mark ? MARK_REACTIONS[mark] : undefined;
    if (want && !present.has(want)) {
      await tolerating(["already_reacted"], () =>
        client.reactions.add({ channel: thread.channel, timestamp: message, name: want }),
      );
    }
    for (const name of present) {
      if (name === want || !MARK_NAMES.has(name)) continue;
      await tolerating(["no_reaction"], () =>
        client.reactions.remove({ channel: thread.channel, timestamp: message, name }),
      );
    }
  }

  async notice(thread: ThreadRef, text: string, options: NoticeOptions = {}): Promise<ChatMessageRef> {
    await this.#deps.pace(thread.channel);
    const res = await this.#deps.client.chat.postMessage({
      channel: thread.channel,
      thread_ts: thread.thread,
      ...renderNotice({ text, ...options }),
      unfurl_links: false,
      unfurl_media: false,
    });
    return requireTs(res.ts, "chat.postMessage");
  }

  async alert(channel: string, text: string): Promise<void> {
    await this.#deps.pace(channel);
    await this.#deps.client.chat.postMessage({
      channel,
      ...renderAlert(text),
      unfurl_links: false,
      unfurl_media: false,
    });
  }

  async postDigest(channel: string, digest: Digest, chart?: DigestChart): Promise<void> {
    await postDigest(this.#deps, channel, digest, chart);
  }

  /** The thread's root as Slack links it (chat.getPermalink, which needs no scope of its own);
   * undefined when Slack has no such message any more. */
  async threadLink(thread: ThreadRef): Promise<string | undefined> {
    try {
      const res = await this.#deps.client.chat.getPermalink({
        channel: thread.channel,
        message_ts: thread.thread,
      });
      return res.permalink;
    } catch (err) {
      if (platformErrorCode(err) === "message_not_found" || platformErrorCode(err) === "channel_not_found")
        return undefined;
      throw err;
    }
  }

  /** Streams an agent's upload; the response is handed on, never stored. */
  async fetchFile(file: AgentFile): Promise<Response> {
    const info = await this.#deps.client.files.info({ file: file.id });
    const raw = info.file?.url_private_download ?? info.file?.url_private;
    if (!raw) throw new Error(`slack file ${file.id} has no download URL`);
    const url = URL.canParse(raw) ? new URL(raw) : undefined;
    if (!url || !this.#mayReceiveToken(url))
      throw new Error(`slack file ${file.id} is served from an unexpected host`);
    // Each redirect hop is checked like the first URL: the token goes to Slack's hosts only.
    const res = await fetchFileWithin(
      this.#deps.fetch,
      url,
      { authorization: `Bearer ${this.#deps.botToken}` },
      (next) => this.#mayReceiveToken(next),
    );
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`slack file ${file.id} download failed with HTTP ${res.status}`);
    }
    // Without files:read Slack answers 200 with its sign-in page instead of the file.
    const type = res.headers.get("content-type") ?? "";
    if (type.startsWith("text/html") && !file.mimeType.startsWith("text/html")) {
      await res.body?.cancel();
      throw new Error(
        `slack file ${file.id}: Slack served a web page instead of the file (is files:read granted?)`,
      );
    }
    return res;
  }

  /** The message an earlier attempt posted with `once.key`: in `thread`, or at the top of the
   * channel when there is none. */
  async #findCopy(
    channel: string,
    thread: string | undefined,
    once: Idempotency,
    since: Date,
  ): Promise<string | undefined> {
    const { client, log } = this.#deps;
    const oldest = ((since.getTime() - CLOCK_SKEW_MS) / 1000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < LOOKUP_PAGES; page++) {
      const args = { channel, oldest, include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) };
      let res: Awaited<ReturnType<typeof client.conversations.history>>;
      try {
        res = thread
          ? await client.conversations.replies({ ...args, ts: thread })
          : await client.conversations.history(args);
      } catch (err) {
        if (platformErrorCode(err) === "thread_not_found") return undefined;
        throw err;
      }
      for (const m of res.messages ?? []) {
        // The SDK types the payload as `{}`; ours is `{ key }`.
        const payload = m.metadata?.event_payload as { key?: unknown } | undefined;
        if (m.metadata?.event_type !== COPY_EVENT || payload?.key !== once.key || !m.ts) continue;
        if (!(await once.taken(m.ts))) {
          log.info(
            { channel, message: m.ts, key: once.key },
            "slack post of an interrupted attempt found; not posted again",
          );
          return m.ts;
        }
      }
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    log.warn(
      { channel, thread, key: once.key },
      "slack lookup for an interrupted attempt's post stopped after 1,000 messages",
    );
    return undefined;
  }

  async #update(channel: string, ts: string, rendered: ReturnType<typeof renderPost>, what: string) {
    const gone = await tolerating(["message_not_found"], () =>
      this.#deps.client.chat.update({ channel, ts, ...rendered }),
    );
    if (gone) this.#deps.log.warn({ channel, message: ts, what }, "slack message to update is gone");
  }

  /** The reactions the bot itself has on a message, or undefined when the message is gone. */
  async #botReactions(channel: string, ts: string): Promise<Set<string> | undefined> {
    const bot = await this.#deps.botUserId();
    try {
      const res = await this.#deps.client.reactions.get({ channel, timestamp: ts, full: true });
      const reactions = res.message?.reactions ?? [];
      return new Set(reactions.filter((r) => r.name && r.users?.includes(bot)).map((r) => r.name as string));
    } catch (err) {
      if (platformErrorCode(err) === "message_not_found") return undefined;
      throw err;
    }
  }

  // The bot token only goes to Slack's own hosts over https, or to the origin of the configured
  // SLACK_API_URL (the fake, in tests).
  #mayReceiveToken(parsed: URL): boolean {
    if (this.#deps.fileOrigins.includes(parsed.origin)) return true;
    return (
      parsed.protocol === "https:" &&
      (parsed.hostname === "slack.com" || parsed.hostname.endsWith(".slack.com"))
    );
  }
}

/** Slack message metadata carrying the core's key, so a retry can tell its own earlier post. */
function keyed(once: Idempotency | undefined) {
  return once ? { metadata: { event_type: COPY_EVENT, event_payload: { key: once.key } } } : {};
}

function requireTs(ts: string | undefined, method: string): string {
  if (!ts) throw new Error(`slack ${method} answered without a ts`);
  return ts;
}
