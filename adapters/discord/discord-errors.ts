// Discord API errors the adapter tells apart, and what of an error may be logged (never the request
// body: it holds message text).

import { DiscordAPIError, HTTPError, RateLimitError } from "discord.js";

/** JSON error codes (Discord's "JSON Error Codes" table). */
export const ErrorCode = {
  UnknownChannel: 10003,
  UnknownMessage: 10008,
  UnknownEmoji: 10014,
  UnknownWebhook: 10015,
  MissingAccess: 50001,
  MissingPermissions: 50013,
  /** The user accepts no direct messages from this server's members (or the bot). */
  CannotMessageUser: 50007,
  ThreadArchived: 50083,
  MaxWebhooks: 30007,
  MaxForumTags: 30021,
} as const;

export function discordCode(err: unknown): number | undefined {
  return err instanceof DiscordAPIError && typeof err.code === "number" ? err.code : undefined;
}

export function isDiscordError(err: unknown, ...codes: number[]): boolean {
  const code = discordCode(err);
  return code !== undefined && codes.includes(code);
}

/** Loggable facts about an error: class, code, status, method and route without the query. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof DiscordAPIError)
    return {
      type: "DiscordAPIError",
      code: err.code,
      status: err.status,
      method: err.method,
      route: route(err.url),
    };
  if (err instanceof HTTPError)
    return { type: "HTTPError", status: err.status, method: err.method, route: route(err.url) };
  if (err instanceof RateLimitError)
    return { type: "RateLimitError", route: err.route, retryAfter: err.retryAfter };
  if (err instanceof Error) return { type: err.name, message: err.message };
  return { type: typeof err };
}

// Webhook routes carry the webhook's token in the path.
function route(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split("?")[0] ?? "";
  }
  return path
    .replace(/(\/webhooks\/\d+\/)[^/]+/, "$1[token]")
    .replace(/(\/interactions\/\d+\/)[^/]+/, "$1[token]");
}
