import { type AuditEntry, recordAudit } from "../audit/audit-log.ts";
import type { Database, SqlClient } from "../db/database.ts";

// The pause switch (issue 4): global or per account. While paused nothing is sent to Instagram;
// agents' replies wait in a visible "held" state and go out in order on resume.

const GLOBAL_KEY = "pause";

export type PauseScope = { account: string } | "global";

export interface PauseInfo {
  scope: "global" | "account";
  by: string;
  since: Date;
}

/** Sets the switch. False when the account is unknown. `by` is shown on held replies' banner. */
export async function pause(
  db: Database,
  scope: PauseScope,
  by: string,
  actor: AuditEntry["actor"],
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (scope === "global")
      await tx.query(
        `INSERT INTO service_flags (key, value, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        [GLOBAL_KEY, JSON.stringify({ by, since: new Date().toISOString() })],
      );
    else {
      const { rows } = await tx.query(
        "UPDATE instagram_accounts SET paused_at = COALESCE(paused_at, now()), paused_by = $2, updated_at = now() WHERE id = $1 RETURNING id",
        [scope.account, by],
      );
      if (rows.length === 0) return false;
    }
    await recordAudit(tx, {
      actor,
      account: scope === "global" ? undefined : scope.account,
      action: "sending_paused",
    });
    return true;
  });
}

/** Clears the switch. False when the account is unknown. */
export async function resume(db: Database, scope: PauseScope, actor: AuditEntry["actor"]): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (scope === "global") await tx.query("DELETE FROM service_flags WHERE key = $1", [GLOBAL_KEY]);
    else {
      const { rows } = await tx.query(
        "UPDATE instagram_accounts SET paused_at = NULL, paused_by = NULL, updated_at = now() WHERE id = $1 RETURNING id",
        [scope.account],
      );
      if (rows.length === 0) return false;
    }
    await recordAudit(tx, {
      actor,
      account: scope === "global" ? undefined : scope.account,
      action: "sending_resumed",
    });
    return true;
  });
}

/** Whether sending is paused for `account`, and by which switch (global first). */
export async function pauseOf(db: SqlClient, account: string): Promise<PauseInfo | undefined> {
  const { rows } = await db.query<{ scope: "global" | "account"; by: string | null; since: Date }>(
    `SELECT 'global' AS scope, value->>'by' AS by, (value->>'since')::timestamptz AS since
       FROM service_flags WHERE key = $1
     UNION ALL
     SELECT 'account', paused_by, paused_at FROM instagram_accounts WHERE id = $2 AND paused_at IS NOT NULL`,
    [GLOBAL_KEY, account],
  );
  const row = rows[0];
  return row ? { scope: row.scope, by: row.by ?? "unknown", since: new Date(row.since) } : undefined;
}

/** The pause switches and the account's connection: what every send and every mirrored thread
 * header asks (`InstagramGateway.holdReason`). `account` is undefined when no such account is
 * stored. */
export interface SendingState {
  pause: PauseInfo | undefined;
  account: { status: string; hasToken: boolean } | undefined;
}

/** The columns `sendingStateOf` reads, over `instagram_accounts a` (outer-joined: no row reads as
 * no account) and `service_flags g` joined on `g.key = <SENDING_PAUSE_KEY>`: a query that already
 * reads the account (the mirror's route) takes them along instead of asking again. */
export const SENDING_STATE_COLUMNS = `g.key IS NOT NULL AS global_paused, g.value->>'by' AS global_by,
            (g.value->>'since')::timestamptz AS global_since,
            a.status AS sending_status, a.token_ciphertext IS NOT NULL AS has_token, a.paused_by, a.paused_at`;
/** The service flag of the global pause switch. */
export const SENDING_PAUSE_KEY = GLOBAL_KEY;

export interface SendingStateRow {
  global_by: string | null;
  global_since: Date | null;
  global_paused: boolean;
  sending_status: string | null;
  has_token: boolean | null;
  paused_by: string | null;
  paused_at: Date | null;
}

export function sendingStateOf(row: SendingStateRow | undefined): SendingState {
  const pause: PauseInfo | undefined = row?.global_paused
    ? { scope: "global", by: row.global_by ?? "unknown", since: new Date(row.global_since as Date) }
    : row?.paused_at
      ? { scope: "account", by: row.paused_by ?? "unknown", since: new Date(row.paused_at) }
      : undefined;
  return {
    pause,
    account: row?.sending_status
      ? { status: row.sending_status, hasToken: row.has_token === true }
      : undefined,
  };
}

/** The statement `sendingState` runs ($1 the pause flag's key, $2 the account), with
 * `moreColumns` of the account (`a`) read in the same round trip (the gateway's admission reads
 * its sealed token). */
export function sendingStateSql(moreColumns = ""): string {
  return `SELECT ${SENDING_STATE_COLUMNS}${moreColumns ? `, ${moreColumns}` : ""}
       FROM (VALUES (1)) AS one (x)
       LEFT JOIN service_flags g ON g.key = $1
       LEFT JOIN instagram_accounts a ON a.id = $2`;
}

/** The pause switches and the account's connection, in one round trip. */
export async function sendingState(db: SqlClient, account: string): Promise<SendingState> {
  const { rows } = await db.query<SendingStateRow>(sendingStateSql(), [GLOBAL_KEY, account]);
  return sendingStateOf(rows[0]);
}

export interface PauseOverview {
  global: PauseInfo | undefined;
  accounts: Array<{ account: string; by: string; since: Date }>;
}

export async function pauses(db: SqlClient): Promise<PauseOverview> {
  const g = await db.query<{ by: string | null; since: Date }>(
    "SELECT value->>'by' AS by, (value->>'since')::timestamptz AS since FROM service_flags WHERE key = $1",
    [GLOBAL_KEY],
  );
  const a = await db.query<{ id: string; paused_by: string | null; paused_at: Date }>(
    "SELECT id, paused_by, paused_at FROM instagram_accounts WHERE paused_at IS NOT NULL ORDER BY id",
  );
  const gr = g.rows[0];
  return {
    global: gr ? { scope: "global", by: gr.by ?? "unknown", since: new Date(gr.since) } : undefined,
    accounts: a.rows.map((r) => ({
      account: r.id,
      by: r.paused_by ?? "unknown",
      since: new Date(r.paused_at),
    })),
  };
}
