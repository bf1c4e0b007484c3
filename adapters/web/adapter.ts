// The web inbox's ChatAdapter: what the core asks to show, stored as rows (store.ts) and told to the
// pages watching (live.ts). Retries are safe the way the port asks: what is created carries the
// core's idempotency key, and a retry finds it by that key first.

import type {
  AgentFile,
  ChatAdapter,
  ChatMessageRef,
  Digest,
  DigestChart,
  FileSource,
  Idempotency,
  Mark,
  MirrorPost,
  NoticeOptions,
  ThreadHeader,
  ThreadRef,
} from "../../src/chat/chat-port.ts";
import type { LiveHub } from "./live.ts";
import { renderDigest, renderHeader, renderNotice, renderPost } from "./render.ts";
import type { NewPost, WebStore } from "./store.ts";
import { PLATFORM, threadHref, type WebPost, type WebView } from "./view.ts";

export class WebAdapter implements ChatAdapter, FileSource {
  readonly platform = PLATFORM;
  readonly #store: WebStore;
  readonly #live: LiveHub;

  constructor(store: WebStore, live: LiveHub) {
    this.#store = store;
    this.#live = live;
  }

  /** Makes a message and tells the pages; with `once`, a retry finds the one made before. */
  async add(p: NewPost, once?: Idempotency): Promise<WebPost> {
    if (once?.since) {
      const earlier = await this.#store.byKey(once.key);
      if (earlier) return earlier;
    }
    if (p.thread !== undefined && p.thread !== "root" && !(await this.#store.get(p.thread)))
      throw new Error(`web: thread ${p.thread} is gone`);
    const post = await this.#store.add({ ...p, ...(once ? { key: once.key } : {}) });
    await this.#live.publish({ kind: "post", post });
    return post;
  }

  async #inThread(thread: ThreadRef, id: string): Promise<WebPost> {
    const post = await this.#store.get(id);
    if (!post || post.thread !== thread.thread)
      throw new Error(`web: no message ${id} in thread ${thread.thread}`);
    return post;
  }

  async #changed(post: WebPost | undefined): Promise<void> {
    if (post) await this.#live.publish({ kind: "post", post });
  }

  async #setView(thread: ThreadRef, id: string, view: WebView): Promise<void> {
    await this.#inThread(thread, id);
    await this.#changed(await this.#store.setView(id, view, true));
  }

  async openThread(channel: string, header: ThreadHeader, once?: Idempotency): Promise<ThreadRef> {
    const root = await this.add(
      { channel, thread: "root", author: { kind: "bridge" }, view: renderHeader(header) },
      once,
    );
    return { channel, thread: root.id };
  }

  async updateHeader(thread: ThreadRef, header: ThreadHeader): Promise<void> {
    await this.#setView(thread, thread.thread, renderHeader(header));
  }

  async post(thread: ThreadRef, post: MirrorPost, once?: Idempotency): Promise<ChatMessageRef> {
    const made = await this.add(
      { channel: thread.channel, thread: thread.thread, author: { kind: "bridge" }, view: renderPost(post) },
      once,
    );
    return made.id;
  }

  async update(thread: ThreadRef, message: ChatMessageRef, post: MirrorPost): Promise<void> {
    await this.#setView(thread, message, renderPost(post));
  }

  async remove(thread: ThreadRef, message: ChatMessageRef): Promise<void> {
    if (await this.#store.remove(message))
      await this.#live.publish({
        kind: "gone",
        channel: thread.channel,
        thread: thread.thread,
        post: message,
      });
  }

  async removeThread(thread: ThreadRef): Promise<void> {
    // The root's row takes every message of the thread with it (ON DELETE CASCADE), files included:
    // nothing of an erased customer stays in the inbox.
    await this.remove(thread, thread.thread);
  }

  async react(thread: ThreadRef, message: ChatMessageRef, emoji: string, on: boolean): Promise<void> {
    await this.#inThread(thread, message);
    await this.#changed(await this.#store.react(message, emoji, "bridge", on));
  }

  async mark(thread: ThreadRef, message: ChatMessageRef, mark: Mark | undefined): Promise<void> {
    await this.#inThread(thread, message);
    await this.#changed(await this.#store.setMark(message, mark ?? null));
  }

  async notice(thread: ThreadRef, text: string, options: NoticeOptions = {}): Promise<ChatMessageRef> {
    const mention = [...(options.mention ?? []), ...(options.mentionGroups ?? [])];
    const made = await this.add({
      channel: thread.channel,
      thread: thread.thread,
      author: { kind: "bridge" },
      view: renderNotice(text, mention, options.retryMessageId),
    });
    return made.id;
  }

  async alert(channel: string, text: string): Promise<void> {
    await this.add({
      channel,
      thread: undefined,
      author: { kind: "bridge" },
      view: { kind: "alert", text: `⚠️ ${text}`, buttons: [] },
    });
  }

  async postDigest(channel: string, digest: Digest, chart?: DigestChart): Promise<void> {
    // The chart's picture is not kept: the digest's numbers are its text, and the console's digest
    // preview draws the chart.
    await this.add({
      channel,
      thread: undefined,
      author: { kind: "bridge" },
      view: renderDigest(digest, chart),
    });
  }

  /** The thread's page in the inbox, on the console's own origin. */
  async threadLink(thread: ThreadRef): Promise<string | undefined> {
    return threadHref(thread.channel, thread.thread);
  }

  async fetchFile(file: AgentFile): Promise<Response> {
    const stored = await this.#store.file(file.id);
    if (!stored) return new Response("no such file", { status: 404 });
    return new Response(new Uint8Array(stored.data), { headers: { "content-type": stored.mimeType } });
  }
}
