import type { SqlClient } from "../db/database.ts";

// Reading the audit trail (`threadbridge audit`): newest first, filtered by account, time, actor
// and action, bounded so a year of history never floods a terminal.

export interface AuditFilter {
  account?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** `slack:U…`, `discord:…`, `rule:…`, or a prefix ending in `*` (`slack:*`). */
  actor?: string | undefined;
  /** An action name, or a prefix ending in `*` (`comment_*`). */
  action?: string | undefined;
  /** What the entry is about, exactly: `customer:…`, `comment:…`. */
  target?: string | undefined;
  /** Any of these targets (a comment thread's comments), at most a few hundred. */
  targets?: readonly string[] | undefined;
  limit?: number | undefined;
}

export interface AuditRow {
  id: number;
  at: Date;
  actorKind: string;
  actorId: string | null;
  account: string | null;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

/** `7d`, `24h`, `30m` back from `now`, or an ISO date/time; undefined when it is neither. */
export function parseSince(text: string, now = new Date()): Date | undefined {
  const rel = /^(\d{1,5})([mhdw])$/.exec(text.trim());
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[
      rel[2] as "m" | "h" | "d" | "w"
    ];
    return new Date(now.getTime() - Number(rel[1]) * unit);
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const at = new Date(text.trim());
  return Number.isNaN(at.getTime()) ? undefined : at;
}

function pattern(value: string): { op: "=" | "LIKE"; value: string } {
  if (!value.endsWith("*")) return { op: "=", value };
  const prefix = value.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`);
  return { op: "LIKE", value: `${prefix}%` };
}

export async function queryAudit(sql: SqlClient, filter: AuditFilter): Promise<AuditRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (filter.account) add((p) => `account_id = ${p}`, filter.account);
  if (filter.since) add((p) => `at >= ${p}`, filter.since.toISOString());
  if (filter.until) add((p) => `at < ${p}`, filter.until.toISOString());
  if (filter.actor) {
    const m = pattern(filter.actor);
    add((p) => `actor_id ${m.op} ${p}`, m.value);
  }
  if (filter.action) {
    const m = pattern(filter.action);
    add((p) => `action ${m.op} ${p}`, m.value);
  }
  if (filter.target) add((p) => `target = ${p}`, filter.target);
  if (filter.targets) add((p) => `target = ANY(${p}::text[])`, [...filter.targets]);
  params.push(Math.min(Math.max(filter.limit ?? 200, 1), 10_000));
  const { rows } = await sql.query<{
    id: string;
    at: Date;
    actor_kind: string;
    actor_id: string | null;
    account_id: string | null;
    action: string;
    target: string | null;
    details: Record<string, unknown>;
  }>(
    `SELECT id, at, actor_kind, actor_id, account_id, action, target, details FROM audit_log
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.at,
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    account: r.account_id,
    action: r.action,
    target: r.target,
    details: r.details,
  }));
}
