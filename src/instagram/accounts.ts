import type { ChatPlatform } from "../chat/chat-port.ts";
import type { Database } from "../db/database.ts";
import type { TokenCipher } from "./token-cipher.ts";

export type { ChatPlatform };

// The connected Instagram professional accounts (table `instagram_accounts`). The access token is
// only ever stored sealed (token-cipher.ts); nothing this module returns carries it, sealed or not.

export interface ChatDestination {
  platform: ChatPlatform;
  channel: string;
}

export interface NewAccount {
  igUserId: string;
  username: string;
  token: string;
  tokenExpiresAt?: Date | undefined;
  chat: ChatDestination;
  digestChannel?: string | undefined;
}

/** What may be shown of an account: no token field, by construction. */
export interface AccountSummary {
  id: string;
  username: string | null;
  status: string;
  chat: ChatDestination | null;
  digestChannel: string | null;
  hasToken: boolean;
  tokenKeyId: string | null;
  tokenExpiresAt: Date | null;
  /** When the stored token was issued (connected) or last refreshed. */
  tokenRefreshedAt: Date | null;
  /** Its last problem, for people: a failed refresh, or why it was found invalid or expired. */
  tokenProblem: string | null;
  lastEventAt: Date | null;
}

const TABLE = "instagram_accounts";

/** Connects an account (or one already seen in a webhook): status active, sealed token, destination. */
export async function addAccount(db: Database, cipher: TokenCipher, account: NewAccount): Promise<void> {
  const { ciphertext, keyId } = cipher.seal(account.token);
  const row = {
    id: account.igUserId,
    username: account.username,
    token_ciphertext: ciphertext,
    token_key_id: keyId,
    token_expires_at: account.tokenExpiresAt ?? null,
    // A new token: refreshable 24 hours from now, with a clean slate of problems and warnings.
    token_refreshed_at: new Date(),
    token_problem: null,
    token_expiry_alerted_at: null,
    status: "active",
    chat_platform: account.chat.platform,
    chat_channel: account.chat.channel,
    digest_channel: account.digestChannel ?? null,
  };
  await db
    .knex(TABLE)
    .insert(row)
    .onConflict("id")
    .merge({ ...row, updated_at: db.knex.fn.now() });
}

export async function listAccounts(db: Database): Promise<AccountSummary[]> {
  const rows: Array<{
    id: string;
    username: string | null;
    status: string;
    chat_platform: ChatPlatform | null;
    chat_channel: string | null;
    digest_channel: string | null;
    has_token: boolean;
    token_key_id: string | null;
    token_expires_at: Date | null;
    token_refreshed_at: Date | null;
    token_problem: string | null;
    last_event_at: Date | null;
  }> = await db
    .knex(TABLE)
    .select(
      "id",
      "username",
      "status",
      "chat_platform",
      "chat_channel",
      "digest_channel",
      db.knex.raw("token_ciphertext IS NOT NULL AS has_token"),
      "token_key_id",
      "token_expires_at",
      "token_refreshed_at",
      "token_problem",
      "last_event_at",
    )
    .orderBy("id");
  return rows.map((r) => ({
    id: r.id,
    username: r.username,
    status: r.status,
    chat: r.chat_platform && r.chat_channel ? { platform: r.chat_platform, channel: r.chat_channel } : null,
    digestChannel: r.digest_channel,
    hasToken: Boolean(r.has_token),
    tokenKeyId: r.token_key_id,
    tokenExpiresAt: r.token_expires_at ? new Date(r.token_expires_at) : null,
    tokenRefreshedAt: r.token_refreshed_at ? new Date(r.token_refreshed_at) : null,
    tokenProblem: r.token_problem,
    lastEventAt: r.last_event_at ? new Date(r.last_event_at) : null,
  }));
}

/** Marks an account removed and deletes its token; the row (and its history) stays. False if unknown. */
export async function removeAccount(db: Database, igUserId: string): Promise<boolean> {
  const n = await db.knex(TABLE).where({ id: igUserId }).update({
    status: "removed",
    token_ciphertext: null,
    token_key_id: null,
    updated_at: db.knex.fn.now(),
  });
  return n > 0;
}

/** Points an account at another chat channel (and digest channel, when given). False if unknown. */
export async function routeAccount(
  db: Database,
  igUserId: string,
  chat: ChatDestination,
  digestChannel?: string,
): Promise<boolean> {
  const n = await db
    .knex(TABLE)
    .where({ id: igUserId })
    .update({
      chat_platform: chat.platform,
      chat_channel: chat.channel,
      ...(digestChannel === undefined ? {} : { digest_channel: digestChannel }),
      updated_at: db.knex.fn.now(),
    });
  return n > 0;
}

/** Re-seals every stored token not under the newest key; returns how many were re-sealed. */
export async function rotateKeys(db: Database, cipher: TokenCipher): Promise<number> {
  const rows: Array<{ id: string; token_ciphertext: string; token_key_id: string }> = await db
    .knex(TABLE)
    .select("id", "token_ciphertext", "token_key_id")
    .whereNotNull("token_ciphertext");
  let count = 0;
  for (const row of rows) {
    if (!cipher.needsRotation(row.token_key_id)) continue;
    const sealed = cipher.seal(cipher.open(row.token_ciphertext, row.token_key_id));
    // Only if nobody changed the token meanwhile (a concurrent add or remove wins).
    const n = await db.knex(TABLE).where({ id: row.id, token_ciphertext: row.token_ciphertext }).update({
      token_ciphertext: sealed.ciphertext,
      token_key_id: sealed.keyId,
      updated_at: db.knex.fn.now(),
    });
    count += n;
  }
  return count;
}
