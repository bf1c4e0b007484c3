import type { ChatAdapter, ChatPlatform, ThreadRef } from "./chat-port.ts";

// What a chat platform says about its own health (issue 19): typed check results its probe returns,
// and the errors its adapter throws when a destination answers something no retry can fix. The core
// holds mirror work on those instead of retrying it toward the dead-letter queue, and lets it go
// once the platform's probe passes again.

/** One check's outcome. */
export interface CheckResult {
  ok: boolean;
  /** What was found, one line; on failure it starts with the platform's own code where there is one
   * (`invalid_auth: …`, `missing_permissions: …`). */
  detail: string;
  /** On failure: what to do about it, one sentence. */
  fix?: string;
}

/** A check with its name, for lists (`doctor`, the start-up line): "token", "scopes". */
export interface NamedCheck extends CheckResult {
  name: string;
}

/** How the core asks a configured platform whether it can work (descriptor `probe`). Each call asks
 * the platform afresh; a network failure is a failed check whose detail says so. */
export interface PlatformProbe {
  /** The credentials and the app's setup: the token is accepted, the permissions the product needs
   * (Slack scopes, Discord intents) are granted. At least one check; a refused token ends the list. */
  auth(): Promise<NamedCheck[]>;
  /** Whether the bot can do in `channel` what the product does there (post, open threads, react …). */
  destination(channel: string): Promise<CheckResult>;
}

export const passed = (detail: string): CheckResult => ({ ok: true, detail });
export const failed = (detail: string, fix: string): CheckResult => ({ ok: false, detail, fix });

/** The key of a hold on every destination of a platform (a refused token, a missing scope). */
export const WHOLE_PLATFORM = "*";

/**
 * Thrown by an adapter when the platform answered something that a retry cannot fix: the bot is not
 * in the channel, the channel is gone, the token is refused, a scope or permission is missing.
 * `channel` is the destination it concerns, or WHOLE_PLATFORM when every destination is affected.
 */
export class DestinationUnusable extends Error {
  override name = "DestinationUnusable";
  readonly platform: ChatPlatform;
  readonly channel: string;
  /** The platform's own code or a short one of ours: `not_in_channel`, `missing_permissions`. */
  readonly reason: string;
  readonly fix: string;

  constructor(
    platform: ChatPlatform,
    channel: string,
    reason: string,
    fix: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(
      `${platform} ${channel === WHOLE_PLATFORM ? "" : `channel ${channel} `}unusable: ${options?.detail ?? reason}`,
      {
        cause: options?.cause,
      },
    );
    this.platform = platform;
    this.channel = channel;
    this.reason = reason;
    this.fix = fix;
  }
}

/** Thrown by the core before it calls a destination that is held: the work waits its turn. */
export class DestinationHeld extends Error {
  override name = "DestinationHeld";
  readonly platform: ChatPlatform;
  readonly channel: string;
  readonly reason: string;

  constructor(platform: ChatPlatform, channel: string, reason: string) {
    super(`${platform} destination ${channel} is held (${reason}) until a recheck passes`);
    this.platform = platform;
    this.channel = channel;
    this.reason = reason;
  }
}

/** A probe whose implementation loads on first use (a platform's SDK only when it is asked). */
export function lazyProbe(load: () => Promise<PlatformProbe>): PlatformProbe {
  let loaded: Promise<PlatformProbe> | undefined;
  const probe = () => {
    loaded ??= load();
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
  return {
    auth: async () => (await probe()).auth(),
    destination: async (channel) => (await probe()).destination(channel),
  };
}

/** What an adapter's error means for one destination: a DestinationUnusable, or undefined when a
 * retry may help (it is rethrown as it was). */
export type Classify = (err: unknown, channel: string) => DestinationUnusable | undefined;

/** `adapter`, with every call's error classified for the destination it was made for. */
export function classifying(adapter: ChatAdapter, classify: Classify): ChatAdapter {
  const guard = async <T>(where: string | ThreadRef, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw classify(err, typeof where === "string" ? where : where.channel) ?? err;
    }
  };
  const classified: ChatAdapter = {
    platform: adapter.platform,
    openThread: (channel, header, once) => guard(channel, () => adapter.openThread(channel, header, once)),
    updateHeader: (thread, header) => guard(thread, () => adapter.updateHeader(thread, header)),
    post: (thread, post, once) => guard(thread, () => adapter.post(thread, post, once)),
    update: (thread, message, post) => guard(thread, () => adapter.update(thread, message, post)),
    remove: (thread, message) => guard(thread, () => adapter.remove(thread, message)),
    removeThread: (thread) => guard(thread, () => adapter.removeThread(thread)),
    react: (thread, message, emoji, on) => guard(thread, () => adapter.react(thread, message, emoji, on)),
    mark: (thread, message, mark) => guard(thread, () => adapter.mark(thread, message, mark)),
    notice: (thread, text, options) => guard(thread, () => adapter.notice(thread, text, options)),
    alert: (channel, text) => guard(channel, () => adapter.alert(channel, text)),
    postDigest: (channel, digest, chart) => guard(channel, () => adapter.postDigest(channel, digest, chart)),
  };
  // Optional: kept only where the platform gives thread links (`/ig find`, the root's earlier threads).
  const link = adapter.threadLink?.bind(adapter);
  if (link) classified.threadLink = (thread) => guard(thread, () => link(thread));
  return classified;
}
