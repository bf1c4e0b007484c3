// Discord as the core sees it (src/chat/platform.ts): REST in every process, the gateway in the
// elected one, and `threadbridge discord register-commands`. discord.js loads only when Discord
// is created in a worker, when its command runs (bridge.ts), or with the first call a process
// without the worker role makes.

import { z } from "zod";
import { classifying, lazyProbe } from "../../src/chat/health.ts";
import { LazyAdapter } from "../../src/chat/lazy-adapter.ts";
import { definePlatform } from "../../src/chat/platform.ts";
import { credential, url, variable } from "../../src/config/env-schema.ts";

const discordEnv = {
  DISCORD_TOKEN: variable(z.string().min(10), {
    secret: true,
    doc: "the Discord bot's token (Developer Portal, Bot)",
    example: "your-discord-bot-token",
  }),
  DISCORD_APP_ID: variable(
    z.string().regex(/^\d+$/, { error: "expected the numeric Discord application id" }),
    {
      doc: "the Discord application's id (digits), for `threadbridge discord register-commands`",
      example: "123456789012345678",
    },
  ),
  DISCORD_API_URL: variable(url("an http(s) URL such as https://discord.com/api"), {
    doc: "Discord REST base (tests point it at a local fake)",
    unset: "discord.js's: `https://discord.com/api`",
    example: "https://discord.com/api",
  }),
};

export interface DiscordSettings {
  token: string;
  appId: string;
  apiUrl: string | undefined;
}

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
    user: { prefix: "discord", example: "80351110224678912", what: "a Discord user" },
    // Roles arrive with each interaction and message as the agent's roles.
    group: { prefix: "discord-role", example: "80351110224678000", what: "a Discord role" },
  },
  settings: (e) => ({
    token: credential(e.DISCORD_TOKEN, "DISCORD_TOKEN"),
    appId: credential(e.DISCORD_APP_ID, "DISCORD_APP_ID"),
    apiUrl: e.DISCORD_API_URL,
  }),
  summary: (s, { leaderIntervalMs }) =>
    `REST ${s.apiUrl ?? "discord.com"}; the gateway runs in one worker, elected every ${leaderIntervalMs / 1000} s`,
  async create(s, { log, inbox, roles }) {
    const options = {
      token: s.token,
      appId: s.appId,
      ...(s.apiUrl ? { apiUrl: s.apiUrl } : {}),
      log,
      inbox,
    };
    const { discordUnusable } = await import("./unusable.ts");
    if (!roles.worker) {
      // Without the worker role there is no gateway here, and this process posts to Discord only
      // now and then (an owner's alert, the console): discord.js, the largest SDK of the build,
      // loads with the first call.
      const adapter = new LazyAdapter("discord", async () => {
        const { createDiscord } = await import("./bridge.ts");
        return createDiscord(options).adapter;
      });
      return { adapter: classifying(adapter, discordUnusable), files: adapter };
    }
    const { createDiscord } = await import("./bridge.ts");
    const bridge = createDiscord(options);
    return {
      // Answers no retry can fix (missing access or permissions, token refused …) reach the core
      // classified; the gateway keeps the adapter itself.
      adapter: classifying(bridge.adapter, discordUnusable),
      files: bridge.adapter,
      members: bridge.adapter,
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
  probe: (s) =>
    lazyProbe(async () =>
      (await import("./probe.ts")).discordProbe({ token: s.token, appId: s.appId, apiUrl: s.apiUrl }),
    ),
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
        const [{ REST }, { registerCommands }] = await Promise.all([
          import("discord.js"),
          import("./commands.ts"),
        ]);
        const rest = new REST(s.apiUrl ? { api: s.apiUrl } : {}).setToken(s.token);
        const count = await registerCommands(rest, s.appId, opts.guild);
        process.stdout.write(
          `registered ${count} command${count === 1 ? "" : "s"} ${opts.guild ? `in server ${opts.guild}` : "globally"}\n`,
        );
      });
  },
});
