// The Discord side of threadbridge: a REST-only ChatAdapter (plus FileSource) usable in every
// process, the gateway connection the elected process runs (agents' messages, edits, deletions,
// buttons, modals and `/ig`), and the registration of the slash commands.

import { REST, RESTEvents, type RESTOptions } from "discord.js";
import { z } from "zod";
import type { ChatAdapter, ChatInbox, FileSource } from "../../src/bridge/chat-port.ts";
import { credential, definePlatform } from "../../src/chat/platform.ts";
import { optional, url } from "../../src/config/env-schema.ts";
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
  adapter: ChatAdapter & FileSource;
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

const discordEnv = {
  DISCORD_TOKEN: optional(z.string().min(10)),
  DISCORD_APP_ID: optional(
    z.string().regex(/^\d+$/, { error: "expected the numeric Discord application id" }),
  ),
  DISCORD_API_URL: optional(url("an http(s) URL such as https://discord.com/api")),
};

export interface DiscordSettings {
  token: string;
  appId: string;
  apiUrl: string | undefined;
}

/** Discord as the core sees it (src/chat/platform.ts): REST in every process, the gateway in the
 * elected one, and `threadbridge discord register-commands`. */
export const discord = definePlatform<DiscordSettings, typeof discordEnv>({
  name: "discord",
  label: "Discord",
  env: discordEnv,
  credentials: ["DISCORD_TOKEN", "DISCORD_APP_ID"],
  channel: {
    pattern: /^\d{17,20}$/,
    example: "a number of 17 to 20 digits",
    hint: "enable Developer Mode, then Copy Channel ID (digits).",
  },
  refs: {
    user: { prefix: "discord", example: "80351110224678912" },
    // Roles arrive with each interaction and message as the agent's roles.
    group: { prefix: "discord-role", example: "80351110224678000" },
  },
  settings: (e) => ({
    token: credential(e.DISCORD_TOKEN, "DISCORD_TOKEN"),
    appId: credential(e.DISCORD_APP_ID, "DISCORD_APP_ID"),
    apiUrl: e.DISCORD_API_URL,
  }),
  summary: (s, { leaderIntervalMs }) =>
    `REST ${s.apiUrl ?? "discord.com"}; the gateway runs in one worker, elected every ${leaderIntervalMs / 1000} s`,
  create(s, { log, inbox }) {
    const bridge = createDiscord({
      token: s.token,
      appId: s.appId,
      ...(s.apiUrl ? { apiUrl: s.apiUrl } : {}),
      log,
      inbox,
    });
    return {
      adapter: bridge.adapter,
      files: bridge.adapter,
      // The gateway (agents' messages, buttons, commands) runs in one replica; every process posts
      // through REST. A new leader reads what agents wrote while nobody listened.
      leader: {
        role: "discord-gateway",
        connect: (since) => bridge.connect(since ? { catchUpSince: since } : {}),
        disconnect: () => bridge.disconnect(),
      },
      close: () => bridge.close(),
    };
  },
  cli(program, context) {
    program
      .command("discord")
      .description("the Discord app")
      .command("register-commands")
      .description("register the /ig slash command from manifest/discord-commands.json")
      .option("--guild <id>", "in this server only (takes effect at once; global commands can take a while)")
      .action(async (opts: { guild?: string }) => {
        const s = context.settings();
        if (opts.guild !== undefined && !/^\d{15,21}$/.test(opts.guild))
          throw context.usage(`--guild takes a server id (digits), not ${opts.guild}`);
        const rest = new REST(s.apiUrl ? { api: s.apiUrl } : {}).setToken(s.token);
        const count = await registerCommands(rest, s.appId, opts.guild);
        process.stdout.write(
          `registered ${count} command${count === 1 ? "" : "s"} ${opts.guild ? `in server ${opts.guild}` : "globally"}\n`,
        );
      });
  },
});
