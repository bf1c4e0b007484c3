import type { SqlClient } from "../db/database.ts";

// The append-only trail managers read (issue 8). Every privileged or customer-visible act writes
// one row: who, for which account, what, on what. `details` never holds message text beyond a
// short preview, so an erasure has nothing to chase here but the target ids it re-points.

export type ActorKind = "agent" | "rule" | "system" | "operator" | "customer";

export interface AuditEntry {
  /** `name`: how the actor is shown (an agent's display name), kept as `details.actorName`. */
  actor: { kind: ActorKind; id?: string | undefined; name?: string | undefined };
  account?: string | undefined;
  action: string;
  target?: string | undefined;
  details?: Record<string, unknown>;
}

/** Writes one entry; pass a transaction to make it part of the change it records. */
export async function recordAudit(sql: SqlClient, entry: AuditEntry): Promise<void> {
  await sql.query(
    `INSERT INTO audit_log ${AUDIT_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6)`,
    auditValues(entry),
  );
}

/** The columns of an entry, in the order of `auditValues`: for a statement that writes the entry
 * beside the change it records (its values cast as `$n::text` and `$n::jsonb` for `details`). */
export const AUDIT_COLUMNS = "(actor_kind, actor_id, account_id, action, target, details)";

/** An entry's values, in the order of AUDIT_COLUMNS. */
export function auditValues(entry: AuditEntry): unknown[] {
  return [
    entry.actor.kind,
    entry.actor.id ?? null,
    entry.account ?? null,
    entry.action,
    entry.target ?? null,
    JSON.stringify(
      entry.actor.name ? { ...entry.details, actorName: entry.actor.name } : (entry.details ?? {}),
    ),
  ];
}

/** The most of a message an audit entry may hold: enough to recognise it, not to read it. */
export function auditPreview(text: string): string {
  const t = text.trim().replace(/\s+/g, " ");
  return t.length > 40 ? `${t.slice(0, 39)}…` : t;
}
