import { recordAudit } from "../audit/audit-log.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { GraphClient } from "./graph-client.ts";
import type { OwnerAlert } from "./owner-alerts.ts";
import type { TokenCipher } from "./token-cipher.ts";
import { type Invalidation, invalidateToken } from "./token-invalidation.ts";

// The refresh pass (issue 9, reference 5.4): every active account's long-lived token is exchanged
// for a new one once it is at least 24 hours old and expires within the configured margin, and
// sealed under the newest key. A token Instagram refuses, or one that ran out, is deleted and its
// owners alerted once; any other failure is left for the next pass, with one warning to the owners
// when the token has a week left. Neither token ever reaches a log line, an error or the audit log.

export interface TokenRefreshDeps {
  db: Database;
  graph: GraphClient;
  cipher: TokenCipher;
  log: Logger;
  /** Refresh a token once it expires within this many days (TOKEN_REFRESH_DAYS). */
  refreshDays: number;
  /** Tells the account's owners in chat; called once per problem. */
  alert: (account: string, alert: OwnerAlert) => Promise<void>;
  metrics?: Metrics;
}

export interface RefreshCounts {
  refreshed: number;
  /** Younger than 24 hours, not yet within the margin, or replaced while the pass ran. */
  notDue: number;
  /** Refused by Instagram (error 190): deleted, account held. */
  invalid: number;
  /** Ran out before it could be refreshed: deleted, account held. */
  expired: number;
  /** Not refreshed this time (Instagram or the network failed, the key is missing): tried again next pass. */
  failed: number;
}

const DAY_MS = 86_400_000;
/** Instagram refreshes a token only once it is this old (reference 5.4). */
const MIN_AGE_MS = DAY_MS;
/** Owners are warned this long before a token that cannot be refreshed runs out. */
const WARN_MS = 7 * DAY_MS;

interface TokenRow {
  id: string;
  token_ciphertext: string;
  token_key_id: string;
  token_expires_at: Date | null;
  token_refreshed_at: Date | null;
  token_expiry_alerted_at: Date | null;
}

type Outcome = keyof RefreshCounts;

const day = (d: Date) => d.toISOString().slice(0, 10);

export async function refreshTokens(deps: TokenRefreshDeps, now = new Date()): Promise<RefreshCounts> {
  const { rows } = await deps.db.query<TokenRow>(
    `SELECT id, token_ciphertext, token_key_id, token_expires_at, token_refreshed_at, token_expiry_alerted_at
       FROM instagram_accounts
      WHERE status = 'active' AND token_ciphertext IS NOT NULL
      ORDER BY id`,
  );
  const counts: RefreshCounts = { refreshed: 0, notDue: 0, invalid: 0, expired: 0, failed: 0 };
  for (const row of rows) counts[await refreshOne(deps, row, now)] += 1;
  return counts;
}

async function refreshOne(deps: TokenRefreshDeps, row: TokenRow, now: Date): Promise<Outcome> {
  const expires = row.token_expires_at ? new Date(row.token_expires_at) : undefined;
  if (expires && expires.getTime() <= now.getTime()) {
    await invalidate(deps, row, {
      action: "token_expired",
      reason: `the token expired on ${day(expires)} before it was refreshed; an expired token cannot be refreshed`,
    });
    return "expired";
  }
  // An unknown expiry is refreshed as soon as allowed: the answer tells us the expiry.
  if (expires && expires.getTime() - now.getTime() > deps.refreshDays * DAY_MS) return "notDue";
  const refreshable = row.token_refreshed_at ? new Date(row.token_refreshed_at).getTime() + MIN_AGE_MS : 0;
  if (now.getTime() < refreshable) {
    if (expires && expires.getTime() <= refreshable)
      await warnExpiring(
        deps,
        row,
        now,
        "it runs out before it is 24 hours old, when Instagram first allows a refresh",
      );
    return "notDue";
  }

  let token: string;
  try {
    token = deps.cipher.open(row.token_ciphertext, row.token_key_id);
  } catch (err) {
    // Names key ids, never the token (token-cipher.ts).
    const reason = err instanceof Error ? err.message : String(err);
    deps.log.error({ account: row.id, reason }, "cannot open the token to refresh it");
    return failed(deps, row, now, reason);
  }
  const result = await deps.graph.refreshToken(token);
  deps.metrics?.graphCalls.inc({ class: "token_refresh", outcome: result.ok ? "ok" : result.error.kind });
  if (!result.ok) {
    const error = result.error;
    if (error.kind !== "token_invalid") {
      deps.log.warn(
        { account: row.id, kind: error.kind, code: error.code, status: error.status },
        "instagram token refresh failed",
      );
      return failed(deps, row, now, error.reason);
    }
    await invalidate(deps, row, {
      action: "token_invalid",
      reason: error.reason,
      code: error.code,
      subcode: error.subcode,
    });
    return "invalid";
  }

  const sealed = deps.cipher.seal(result.value.accessToken);
  const expiresAt = new Date(now.getTime() + result.value.expiresIn * 1000);
  const stored = await deps.db.transaction(async (tx) => {
    // Only over the token that was refreshed: one connected meanwhile is newer still.
    const { rows } = await tx.query(
      `UPDATE instagram_accounts
          SET token_ciphertext = $3, token_key_id = $4, token_expires_at = $5, token_refreshed_at = $6,
              token_problem = NULL, token_expiry_alerted_at = NULL, updated_at = now()
        WHERE id = $1 AND token_ciphertext = $2
        RETURNING id`,
      [row.id, row.token_ciphertext, sealed.ciphertext, sealed.keyId, expiresAt, now],
    );
    if (rows.length === 0) return false;
    await recordAudit(tx, {
      actor: { kind: "system" },
      account: row.id,
      action: "token_refreshed",
      details: { expiresAt: expiresAt.toISOString(), keyId: sealed.keyId },
    });
    return true;
  });
  if (!stored) {
    deps.log.info({ account: row.id }, "token replaced while it was refreshed; the newer one is kept");
    return "notDue";
  }
  deps.log.info({ account: row.id, expiresAt, keyId: sealed.keyId }, "instagram token refreshed");
  return "refreshed";
}

async function invalidate(deps: TokenRefreshDeps, row: TokenRow, what: Invalidation): Promise<void> {
  const marked = await invalidateToken(deps.db, row.id, { ...what, ciphertext: row.token_ciphertext });
  if (!marked) return;
  deps.log.error(
    { account: row.id, action: what.action, reason: what.reason, code: what.code, subcode: what.subcode },
    "instagram token deleted; account held until it is reconnected",
  );
  await tell(
    deps,
    row.id,
    what.action === "token_expired" && row.token_expires_at
      ? { kind: "token_expired", expiredAt: new Date(row.token_expires_at) }
      : { kind: "token_invalid" },
  );
}

/** Keeps the token for the next pass; says why in `accounts list`; warns a week ahead, once. */
async function failed(deps: TokenRefreshDeps, row: TokenRow, now: Date, reason: string): Promise<Outcome> {
  await deps.db.query(
    "UPDATE instagram_accounts SET token_problem = $3 WHERE id = $1 AND token_ciphertext = $2",
    [row.id, row.token_ciphertext, `refresh failed: ${reason}`],
  );
  await warnExpiring(deps, row, now, reason);
  return "failed";
}

async function warnExpiring(deps: TokenRefreshDeps, row: TokenRow, now: Date, reason: string): Promise<void> {
  const expires = row.token_expires_at ? new Date(row.token_expires_at) : undefined;
  if (!expires || expires.getTime() - now.getTime() > WARN_MS || row.token_expiry_alerted_at) return;
  const claimed = await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `UPDATE instagram_accounts SET token_expiry_alerted_at = $3
        WHERE id = $1 AND token_ciphertext = $2 AND token_expiry_alerted_at IS NULL
        RETURNING id`,
      [row.id, row.token_ciphertext, now],
    );
    if (rows.length === 0) return false;
    await recordAudit(tx, {
      actor: { kind: "system" },
      account: row.id,
      action: "token_expiring",
      details: { expiresAt: expires.toISOString(), reason },
    });
    return true;
  });
  if (!claimed) return;
  deps.log.warn(
    { account: row.id, expiresAt: expires, reason },
    "instagram token expires soon and cannot be refreshed",
  );
  await tell(deps, row.id, { kind: "token_expiring", expiresAt: expires, reason });
}

async function tell(deps: TokenRefreshDeps, account: string, alert: OwnerAlert): Promise<void> {
  try {
    await deps.alert(account, alert);
  } catch (err) {
    deps.log.error(
      { account, err: err instanceof Error ? err.message : String(err) },
      "could not alert the owners",
    );
  }
}
