// Discord's answers that no retry can fix (issue 19), turned into the core's DestinationUnusable
// with the one sentence that says what to do: Missing Access (50001), Missing Permissions (50013),
// Unknown Channel (10003) for the routed channel itself, and a refused token (401).

import { DiscordAPIError } from "discord.js";
import { DestinationUnusable, WHOLE_PLATFORM } from "../../src/chat/health.ts";
import { ErrorCode } from "./discord-errors.ts";

export const TOKEN_FIX =
  "Set DISCORD_TOKEN to the bot's token (Developer Portal → your application → Bot → Reset Token).";

export function permissionsFix(channel: string, missing?: string): string {
  return `Give the bot's role ${missing ?? "the permissions docs/discord.md lists"} in channel ${channel} (Edit Channel → Permissions), or invite the bot again with the URL in docs/discord.md.`;
}

export function unknownChannelFix(channel: string): string {
  return `Check the channel id ${channel} (Developer Mode → Copy Channel ID), or send the account's threads elsewhere with \`threadbridge accounts route\`.`;
}

/** Whether the failed request was about `channel` itself (not one of its threads). */
function aboutChannel(err: DiscordAPIError, channel: string): boolean {
  let path: string;
  try {
    path = new URL(err.url).pathname;
  } catch {
    path = err.url;
  }
  const prefix = `/channels/${channel}`;
  const at = path.indexOf(prefix);
  return at >= 0 && [undefined, "/"].includes(path[at + prefix.length]);
}

/** What `err` means for `channel`, when it is an answer no retry can fix. */
export function discordUnusable(err: unknown, channel: string): DestinationUnusable | undefined {
  if (!(err instanceof DiscordAPIError)) return undefined;
  if (err.status === 401)
    return new DestinationUnusable("discord", WHOLE_PLATFORM, "invalid_token", TOKEN_FIX, { cause: err });
  if (err.code === ErrorCode.MissingAccess)
    return new DestinationUnusable(
      "discord",
      channel,
      "missing_access",
      permissionsFix(channel, "View Channel"),
      {
        cause: err,
      },
    );
  if (err.code === ErrorCode.MissingPermissions)
    return new DestinationUnusable("discord", channel, "missing_permissions", permissionsFix(channel), {
      cause: err,
    });
  // A deleted thread answers Unknown Channel too; only the routed channel's own absence holds work.
  if (err.code === ErrorCode.UnknownChannel && aboutChannel(err, channel))
    return new DestinationUnusable("discord", channel, "unknown_channel", unknownChannelFix(channel), {
      cause: err,
    });
  return undefined;
}
