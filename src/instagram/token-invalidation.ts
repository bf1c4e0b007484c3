import { recordAudit } from "../audit/audit-log.ts";
import type { Database } from "../db/database.ts";

// A token Instagram refuses (error 190) or that expired is of no more use: it is deleted and the
// account held as `token_invalid` until an operator connects it again. Shared by the outbound
// gateway and the refresh pass, so both count as the same, single, event.

export interface Invalidation {
  /** `token_invalid`: Instagram refused it; `token_expired`: it ran out before it was refreshed. */
  action: "token_invalid" | "token_expired";
  /** Plain English, for the audit log and `accounts list`. */
  reason: string;
  code?: number | undefined;
  subcode?: number | undefined;
  /** Only while this is still the stored token: one connected meanwhile is not thrown away. */
  ciphertext?: string;
}

/** Deletes the account's token and holds it; true for the one caller that did it (who alerts). */
export async function invalidateToken(db: Database, account: string, what: Invalidation): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `UPDATE instagram_accounts
          SET status = 'token_invalid', token_ciphertext = NULL, token_key_id = NULL, token_problem = $2,
              token_alerted_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'active' AND ($3::text IS NULL OR token_ciphertext = $3)
        RETURNING id`,
      [account, what.reason, what.ciphertext ?? null],
    );
    if (rows.length === 0) return false;
    await recordAudit(tx, {
      actor: { kind: "system" },
      account,
      action: what.action,
      details: {
        reason: what.reason,
        ...(what.code !== undefined ? { code: what.code } : {}),
        ...(what.subcode !== undefined ? { subcode: what.subcode } : {}),
      },
    });
    return true;
  });
}
