// Discord's health checks (src/chat/health.ts): the token (`GET /users/@me`), the application the
// token belongs to and its Message Content intent (`GET /applications/@me`, `flags`), and the bot's
// computed permissions in a channel against those the adapter needs there (permissions.ts).

import {
  type APIApplication,
  type APIChannel,
  type APIGuild,
  type APIGuildMember,
  type APIUser,
  ApplicationFlags,
  ChannelType,
  DiscordAPIError,
  REST,
  Routes,
} from "discord.js";
import {
  type CheckResult,
  failed,
  type NamedCheck,
  type PlatformProbe,
  passed,
} from "../../src/chat/health.ts";
import { ErrorCode } from "./discord-errors.ts";
import { channelPermissions, isForum, neededPermissions, type Overwrite } from "./permissions.ts";
import { permissionsFix, TOKEN_FIX, unknownChannelFix } from "./unusable.ts";

export interface DiscordProbeOptions {
  token: string;
  appId: string;
  apiUrl?: string | undefined;
  timeoutMs?: number;
}

const INTENT_FIX =
  "Turn on Message Content Intent (Developer Portal → your application → Bot → Privileged Gateway Intents); without it agents' replies arrive empty.";
const UNREACHABLE_FIX =
  "Check that this host reaches DISCORD_API_URL (network, proxy, DNS); Discord's status is at https://discordstatus.com.";

const TEXT_TYPES = new Set<number>([
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.GuildForum,
  ChannelType.GuildMedia,
]);

function unreachable(what: string, err: unknown): CheckResult {
  const why =
    err instanceof DiscordAPIError
      ? `${err.status} ${err.message}`
      : err instanceof Error
        ? err.message
        : String(err);
  return failed(`unreachable: ${what} failed (${why})`, UNREACHABLE_FIX);
}

const refused = (err: unknown) => err instanceof DiscordAPIError && err.status === 401;

export function discordProbe(options: DiscordProbeOptions): PlatformProbe {
  const rest = new REST({
    version: "10",
    retries: 0,
    timeout: options.timeoutMs ?? 5_000,
    ...(options.apiUrl ? { api: options.apiUrl } : {}),
  }).setToken(options.token);
  let botId: Promise<string> | undefined;
  const me = () => {
    botId ??= (rest.get(Routes.user("@me")) as Promise<APIUser>).then((u) => u.id);
    botId.catch(() => {
      botId = undefined;
    });
    return botId;
  };

  return {
    async auth(): Promise<NamedCheck[]> {
      let user: APIUser;
      try {
        user = (await rest.get(Routes.user("@me"))) as APIUser;
      } catch (err) {
        return [
          {
            name: "token",
            ...(refused(err)
              ? failed("invalid_token: Discord refused DISCORD_TOKEN (401)", TOKEN_FIX)
              : unreachable("GET /users/@me", err)),
          },
        ];
      }
      botId = Promise.resolve(user.id);
      const token = { name: "token", ...passed(`bot ${user.username} (${user.id})`) };
      let app: APIApplication;
      try {
        app = (await rest.get(Routes.currentApplication())) as APIApplication;
      } catch (err) {
        return [token, { name: "message content intent", ...unreachable("GET /applications/@me", err) }];
      }
      const checks: NamedCheck[] = [token];
      if (app.id !== options.appId)
        checks.push({
          name: "application",
          ...failed(
            `wrong_application: the token belongs to application ${app.id}, DISCORD_APP_ID is ${options.appId}`,
            `Set DISCORD_APP_ID to ${app.id} (General Information → Application ID), or use that application's bot token.`,
          ),
        });
      const flags = BigInt(app.flags ?? 0);
      const intent = ApplicationFlags.GatewayMessageContent | ApplicationFlags.GatewayMessageContentLimited;
      checks.push({
        name: "message content intent",
        ...((flags & BigInt(intent)) !== 0n
          ? passed("Message Content intent on")
          : failed("missing_intent: the Message Content intent is off", INTENT_FIX)),
      });
      return checks;
    },

    async destination(channelId: string): Promise<CheckResult> {
      let channel: APIChannel;
      try {
        channel = (await rest.get(Routes.channel(channelId))) as APIChannel;
      } catch (err) {
        if (refused(err)) return failed("invalid_token: Discord refused DISCORD_TOKEN (401)", TOKEN_FIX);
        if (err instanceof DiscordAPIError && err.code === ErrorCode.UnknownChannel)
          return failed(`unknown_channel: no channel ${channelId}`, unknownChannelFix(channelId));
        if (err instanceof DiscordAPIError && err.code === ErrorCode.MissingAccess)
          return failed(
            `missing_access: the bot cannot see channel ${channelId}`,
            permissionsFix(channelId, "View Channel"),
          );
        return unreachable(`GET /channels/${channelId}`, err);
      }
      const name = "name" in channel && channel.name ? `#${channel.name}` : channelId;
      if (!TEXT_TYPES.has(channel.type) || !("guild_id" in channel) || !channel.guild_id)
        return failed(
          `wrong_channel_type: ${name} is not a server's text, announcement or forum channel`,
          unknownChannelFix(channelId),
        );
      let guild: APIGuild;
      let member: APIGuildMember;
      let bot: string;
      try {
        bot = await me();
        [guild, member] = (await Promise.all([
          rest.get(Routes.guild(channel.guild_id)),
          rest.get(Routes.guildMember(channel.guild_id, bot)),
        ])) as [APIGuild, APIGuildMember];
      } catch (err) {
        return unreachable("reading the server's roles", err);
      }
      const perms = channelPermissions({
        guildId: channel.guild_id,
        ownerId: guild.owner_id,
        roles: guild.roles.map((r) => ({ id: r.id, permissions: r.permissions })),
        member: { id: bot, roles: member.roles },
        overwrites: ("permission_overwrites" in channel
          ? (channel.permission_overwrites ?? [])
          : []) as Overwrite[],
      });
      const missing = neededPermissions(channel.type).filter((p) => (perms & p.bit) === 0n);
      if (missing.length)
        return failed(
          `missing_permissions: ${missing.map((p) => `${p.name} (${p.use})`).join(", ")} in ${name}`,
          permissionsFix(channelId, missing.map((p) => p.name).join(", ")),
        );
      return passed(
        `every permission the bridge needs in ${name}${isForum(channel.type) ? " (a forum)" : ""}`,
      );
    },
  };
}
