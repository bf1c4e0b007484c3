import type { ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";

// Tells an account's owners, in its channel (and digest channel), that its Instagram connection
// stopped working or is about to. Callers decide that it is the first time; this only posts.

export type OwnerAlert =
  | { kind: "token_invalid" }
  | { kind: "deauthorized" }
  | { kind: "token_expired"; expiredAt: Date }
  | { kind: "token_expiring"; expiresAt: Date; reason: string };

const day = (d: Date) => d.toISOString().slice(0, 10);

function alertText(name: string, account: string, alert: OwnerAlert): string {
  const reconnect = `an operator uses Reconnect in the console (Business Login), or runs \`threadbridge accounts add --ig-user-id ${account} … --token-stdin\` with a new token`;
  switch (alert.kind) {
    case "deauthorized":
      return `⚠️ ${name} removed threadbridge on Instagram: its token is deleted and nothing more can be sent. Reconnect it to go on.`;
    case "token_invalid":
      return `⚠️ The Instagram connection of ${name} stopped working (token invalid or expired). Replies to its customers are held until it is reconnected: ${reconnect}.`;
    case "token_expired":
      return `⚠️ The Instagram token of ${name} expired on ${day(alert.expiredAt)} before it could be refreshed, so it is deleted. Replies to its customers are held until it is reconnected: ${reconnect}.`;
    case "token_expiring":
      return `⏳ The Instagram token of ${name} expires on ${day(alert.expiresAt)} and could not be refreshed (${alert.reason}). threadbridge keeps trying daily; to be safe, reconnect before then: ${reconnect}.`;
  }
}

export async function alertOwners(
  db: Database,
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>,
  account: string,
  log: Logger,
  alert: OwnerAlert = { kind: "token_invalid" },
): Promise<void> {
  const { rows } = await db.query<{
    username: string | null;
    chat_platform: ChatPlatform | null;
    chat_channel: string | null;
    digest_channel: string | null;
  }>("SELECT username, chat_platform, chat_channel, digest_channel FROM instagram_accounts WHERE id = $1", [
    account,
  ]);
  const row = rows[0];
  const adapter = row?.chat_platform ? adapters.get(row.chat_platform) : undefined;
  if (!row || !adapter) return;
  const text = alertText(row.username ? `@${row.username}` : account, account, alert);
  for (const channel of new Set(
    [row.chat_channel, row.digest_channel].filter((c): c is string => Boolean(c)),
  ))
    await adapter
      .alert(channel, text)
      .catch((err: unknown) => log.error({ err, account }, "could not alert the owners"));
}
