import type {
  AgentFile,
  ChatAdapter,
  ChatMessageRef,
  ChatPlatform,
  Digest,
  DigestChart,
  FileSource,
  Idempotency,
  Mark,
  MirrorPost,
  NoticeOptions,
  ThreadHeader,
  ThreadRef,
} from "./chat-port.ts";

/**
 * A platform's adapter whose SDK loads with its first call: for a process that may post now and then
 * (the web role alerting an account's owners, say) but should not hold a chat SDK of tens of MiB from
 * start-up for it. `load` runs once; a failed load is tried again on the next call.
 */
export class LazyAdapter implements ChatAdapter, FileSource {
  readonly platform: ChatPlatform;
  private readonly load: () => Promise<ChatAdapter & FileSource>;
  private loading: Promise<ChatAdapter & FileSource> | undefined;

  constructor(platform: ChatPlatform, load: () => Promise<ChatAdapter & FileSource>) {
    this.platform = platform;
    this.load = load;
  }

  private adapter(): Promise<ChatAdapter & FileSource> {
    if (!this.loading) {
      const attempt = this.load();
      this.loading = attempt;
      attempt.catch(() => {
        if (this.loading === attempt) this.loading = undefined;
      });
    }
    return this.loading;
  }

  async openThread(channel: string, header: ThreadHeader, once?: Idempotency): Promise<ThreadRef> {
    return (await this.adapter()).openThread(channel, header, once);
  }
  async updateHeader(thread: ThreadRef, header: ThreadHeader): Promise<void> {
    return (await this.adapter()).updateHeader(thread, header);
  }
  async post(thread: ThreadRef, post: MirrorPost, once?: Idempotency): Promise<ChatMessageRef> {
    return (await this.adapter()).post(thread, post, once);
  }
  async update(thread: ThreadRef, message: ChatMessageRef, post: MirrorPost): Promise<void> {
    return (await this.adapter()).update(thread, message, post);
  }
  async remove(thread: ThreadRef, message: ChatMessageRef): Promise<void> {
    return (await this.adapter()).remove(thread, message);
  }
  async removeThread(thread: ThreadRef): Promise<void> {
    return (await this.adapter()).removeThread(thread);
  }
  async react(thread: ThreadRef, message: ChatMessageRef, emoji: string, on: boolean): Promise<void> {
    return (await this.adapter()).react(thread, message, emoji, on);
  }
  async mark(thread: ThreadRef, message: ChatMessageRef, mark: Mark | undefined): Promise<void> {
    return (await this.adapter()).mark(thread, message, mark);
  }
  async notice(thread: ThreadRef, text: string, options?: NoticeOptions): Promise<ChatMessageRef> {
    return (await this.adapter()).notice(thread, text, options);
  }
  async alert(channel: string, text: string): Promise<void> {
    return (await this.adapter()).alert(channel, text);
  }
  async postDigest(channel: string, digest: Digest, chart?: DigestChart): Promise<void> {
    return (await this.adapter()).postDigest(channel, digest, chart);
  }
  async threadLink(thread: ThreadRef): Promise<string | undefined> {
    const adapter = await this.adapter();
    return adapter.threadLink ? adapter.threadLink(thread) : undefined;
  }
  async fetchFile(file: AgentFile): Promise<Response> {
    return (await this.adapter()).fetchFile(file);
  }
}
