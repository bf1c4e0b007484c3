import type { Database } from "../../db/database.ts";
import type { TokenCipher } from "../../instagram/token-cipher.ts";
import { digest, matchesDigest, randomToken } from "./secrets.ts";

// The Business Login an operator started from the console (table `oauth_logins`): the state that
// must come back from Instagram to the same console session, once, within ten minutes; then the
// account's sealed token, held until the operator says where its threads go (half an hour).

const STATE_MS = 10 * 60_000;
const PENDING_MS = 30 * 60_000;

export type StateRefusal = "missing" | "unknown" | "other_session" | "expired" | "reused";

export type StateCheck = { ok: true; loginId: string } | { ok: false; reason: StateRefusal };

export interface PendingAccount {
  loginId: string;
  igUserId: string;
  username: string;
  tokenExpiresAt: Date;
}

/** Starts a login for this session; the state goes into the authorize URL. */
export async function beginLogin(db: Database, sessionId: string): Promise<{ state: string }> {
  await db.query("DELETE FROM oauth_logins WHERE expires_at < now()");
  const loginId = randomToken();
  const state = randomToken();
  await db.query(
    "INSERT INTO oauth_logins (id, session_id, state_hash, expires_at) VALUES ($1, $2, $3, $4)",
    [loginId, sessionId, digest(state), new Date(Date.now() + STATE_MS)],
  );
  return { state };
}

/**
 * Checks the state Instagram sent back against the logins this session started, in constant time,
 * and marks the match used so a replayed callback is refused.
 */
export async function consumeState(
  db: Database,
  sessionId: string,
  state: string | undefined,
): Promise<StateCheck> {
  if (!state) return { ok: false, reason: "missing" };
  const { rows } = await db.query<{ id: string; state_hash: string; expired: boolean; used: boolean }>(
    `SELECT id, state_hash, expires_at <= now() AS expired, consumed_at IS NOT NULL AS used
       FROM oauth_logins WHERE session_id = $1`,
    [sessionId],
  );
  // Every row is compared, so timing does not tell how many logins the session has open.
  let match: (typeof rows)[number] | undefined;
  for (const row of rows) if (matchesDigest(state, row.state_hash) && !match) match = row;
  if (!match) {
    // Only to name the refusal in the log: a state of another session is a stronger signal.
    const other = await db.query("SELECT 1 FROM oauth_logins WHERE state_hash = $1", [digest(state)]);
    return { ok: false, reason: other.rows.length > 0 ? "other_session" : "unknown" };
  }
  if (match.used) return { ok: false, reason: "reused" };
  if (match.expired) return { ok: false, reason: "expired" };
  const { rows: taken } = await db.query(
    "UPDATE oauth_logins SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL AND expires_at > now() RETURNING id",
    [match.id],
  );
  return taken.length > 0 ? { ok: true, loginId: match.id } : { ok: false, reason: "reused" };
}

/** Keeps the new account's token, sealed, until the operator picks its channel. */
export async function holdToken(
  db: Database,
  cipher: TokenCipher,
  loginId: string,
  account: { igUserId: string; username: string; token: string; tokenExpiresAt: Date },
): Promise<void> {
  const sealed = cipher.seal(account.token);
  await db.query(
    `UPDATE oauth_logins SET ig_user_id = $2, username = $3, token_ciphertext = $4, token_key_id = $5,
            token_expires_at = $6, expires_at = $7
      WHERE id = $1`,
    [
      loginId,
      account.igUserId,
      account.username,
      sealed.ciphertext,
      sealed.keyId,
      account.tokenExpiresAt,
      new Date(Date.now() + PENDING_MS),
    ],
  );
}

/** The account waiting for a channel, if this session has one that has not lapsed. */
export async function pendingAccount(
  db: Database,
  loginId: string,
  sessionId: string,
): Promise<PendingAccount | undefined> {
  const { rows } = await db.query<{ ig_user_id: string; username: string; token_expires_at: Date }>(
    `SELECT ig_user_id, username, token_expires_at FROM oauth_logins
      WHERE id = $1 AND session_id = $2 AND token_ciphertext IS NOT NULL AND expires_at > now()`,
    [loginId, sessionId],
  );
  const r = rows[0];
  return r
    ? { loginId, igUserId: r.ig_user_id, username: r.username, tokenExpiresAt: new Date(r.token_expires_at) }
    : undefined;
}

/** The held token, opened, for handing to `addAccount`. */
export async function heldToken(
  db: Database,
  cipher: TokenCipher,
  loginId: string,
): Promise<string | undefined> {
  const { rows } = await db.query<{ token_ciphertext: string; token_key_id: string }>(
    "SELECT token_ciphertext, token_key_id FROM oauth_logins WHERE id = $1 AND token_ciphertext IS NOT NULL",
    [loginId],
  );
  const r = rows[0];
  return r ? cipher.open(r.token_ciphertext, r.token_key_id) : undefined;
}

/** Forgets the held token once the account has it; false when another request already did. */
export async function finishLogin(db: Database, loginId: string): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE oauth_logins SET token_ciphertext = NULL, token_key_id = NULL
      WHERE id = $1 AND token_ciphertext IS NOT NULL RETURNING id`,
    [loginId],
  );
  return rows.length > 0;
}

/** Drops whatever a session left pending (sign-out). */
export async function dropLogins(db: Database, sessionId: string): Promise<void> {
  await db.query("DELETE FROM oauth_logins WHERE session_id = $1", [sessionId]);
}
