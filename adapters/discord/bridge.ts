// The Discord side of threadbridge: a REST-only ChatAdapter (plus FileSource) usable in every
// process, the gateway connection the elected process runs (agents' messages, edits, deletions,
// buttons, modals and `/ig`), and the registration of the slash commands.

import { REST, RESTEvents, type RESTOptions } from "discord.js";
import type { ChatAdapter, ChatInbox, FileSource, MemberDirectory } from "../../src/chat/chat-port.ts";
import type { Logger } from "../../src/log/logger.ts";
import { DiscordAdapter } from "./adapter.ts";
import { background } from "./background.ts";
import { registerCommands } from "./commands.ts";
import { DiscordGateway } from "./gateway.ts";

export interface DiscordOptions {
  token: string;
  appId: string;
  /** REST base for `rest.api` (e.g. http://127.0.0.1:PORT/api in tests); undefined = Discord's. */
  apiUrl?: string;
  log: Logger;
  inbox: ChatInbox;
  /** How far before the hand-over time catching up reads back. Default 5 minutes. */
  catchUpMarginMs?: number;
  /** Retries of 5xx and timeouts per REST call (the core's durable jobs are the real retry). Default 2. */
  retries?: number;
}

export interface DiscordBridge {
  /** REST only; safe in every process. */
  adapter: ChatAdapter & FileSource & MemberDirectory;
  /** Opens the gateway; resolves when ready, then catches up in the background. */
  connect(options?: { catchUpSince?: Date }): Promise<void>;
  disconnect(): Promise<void>;
  /** Registers manifest/discord-commands.json in a guild (instant) or globally; returns the count. */
  registerCommands(guildId?: string): Promise<number>;
  /** Disconnects and waits for handlers still running. */
  close(): Promise<void>;
}

const DEFAULT_CATCH_UP_MARGIN_MS = 5 * 60_000;

export function createDiscord(options: DiscordOptions): DiscordBridge {
  const log = options.log.child({ component: "discord" });
  const restOptions: Partial<RESTOptions> = {
    version: "10",
    retries: options.retries ?? 2,
    timeout: 10_000,
    ...(options.apiUrl ? { api: options.apiUrl } : {}),
  };
  const rest = new REST(restOptions).setToken(options.token);
  rest.on(RESTEvents.RateLimited, (info) => {
    log.warn(
      { route: info.route, method: info.method, retryAfterMs: info.retryAfter, global: info.global },
      "discord rate limited; waiting",
    );
  });
  // Captured once so file downloads go through one fetch (tests may wrap it).
  const fetchFn = globalThis.fetch;
  const adapter = new DiscordAdapter({
    rest,
    appId: options.appId,
    log,
    fetch: fetchFn,
    fileOrigins: options.apiUrl ? [new URL(options.apiUrl).origin] : [],
  });
  const work = background(log);
  const gateway = new DiscordGateway({
    token: options.token,
    rest: restOptions,
    adapter,
    inbox: options.inbox,
    log,
    background: work,
    catchUpMarginMs: options.catchUpMarginMs ?? DEFAULT_CATCH_UP_MARGIN_MS,
  });

  return {
    adapter,
    connect: (connectOptions) => gateway.connect(connectOptions),
    disconnect: () => gateway.disconnect(),
    registerCommands: (guildId) => registerCommands(rest, options.appId, guildId),
    async close() {
      await gateway.disconnect();
      await work.drain();
    },
  };
}
