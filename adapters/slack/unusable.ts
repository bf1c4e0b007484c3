// Slack's answers that no retry can fix (issue 19), turned into the core's DestinationUnusable with
// the one sentence that says what to do. Everything else stays as it was thrown: a retry may help.

import { WebAPIPlatformError } from "@slack/web-api";
import { DestinationUnusable, WHOLE_PLATFORM } from "../../src/chat/health.ts";
import { platformErrorCode } from "./slack-errors.ts";

export const TOKEN_FIX =
  "Set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (OAuth & Permissions, xoxb-…); if the app was removed, install it to the workspace again.";

/** Codes that mean the token itself is refused. */
export const TOKEN_CODES = new Set([
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
]);

export function scopeFix(needed: string | undefined): string {
  return `Add ${needed ? `the ${needed} scope` : "the missing scopes"} under OAuth & Permissions (manifest/slack.yaml lists every scope the bridge needs) and reinstall the app to the workspace.`;
}

export function channelFix(code: string, channel: string): string {
  switch (code) {
    case "not_in_channel":
      return `Invite the bot to the channel: type /invite @threadbridge in <#${channel}>.`;
    case "is_archived":
      return `Unarchive <#${channel}>, or send the account's threads elsewhere with \`threadbridge accounts route\`.`;
    default:
      return `Check the channel id ${channel} (it is at the bottom of the channel's details); a private channel shows only once the bot is invited (/invite @threadbridge).`;
  }
}

/** What `err` means for `channel`, when it is an answer no retry can fix. */
export function slackUnusable(err: unknown, channel: string): DestinationUnusable | undefined {
  const code = platformErrorCode(err);
  if (code === undefined) return undefined;
  if (TOKEN_CODES.has(code))
    return new DestinationUnusable("slack", WHOLE_PLATFORM, code, TOKEN_FIX, { cause: err });
  if (code === "missing_scope") {
    const data = err instanceof WebAPIPlatformError ? (err.data as { needed?: unknown }) : {};
    const needed = typeof data.needed === "string" ? data.needed : "";
    return new DestinationUnusable("slack", WHOLE_PLATFORM, code, scopeFix(needed || undefined), {
      cause: err,
      detail: needed ? `missing_scope ${needed}` : code,
    });
  }
  if (code === "not_in_channel" || code === "channel_not_found" || code === "is_archived")
    return new DestinationUnusable("slack", channel, code, channelFix(code, channel), { cause: err });
  return undefined;
}
