import { type AuditEntry, recordAudit } from "../audit/audit-log.ts";
import type { Database } from "../db/database.ts";
import { queryNamed } from "../db/query-named.ts";
import type { AccountSettings, Rule, RuleFile } from "./rule.ts";

// Rules in the database: a file's import replaces that file's rules as one change, so what the
// table holds is always some file as it was validated, never a half-applied one.

export interface StoredRule {
  rule: Rule;
  source: string | null;
  enabled: boolean;
}

export interface ImportSummary {
  added: number;
  updated: number;
  removed: number;
  accounts: number;
}

export async function importRules(db: Database, file: RuleFile, source: string): Promise<ImportSummary> {
  return db.transaction(async (tx) => {
    const { rows: existing } = await tx.query<{ id: string; source: string | null }>(
      "SELECT id, source FROM rules",
    );
    const known = new Map(existing.map((r) => [r.id, r.source]));
    const ids = new Set(file.rules.map((r) => r.id));
    let added = 0;
    let updated = 0;
    for (const [position, rule] of file.rules.entries()) {
      if (known.has(rule.id)) updated++;
      else added++;
      await tx.query(
        `INSERT INTO rules (id, account_id, name, enabled, position, definition, source, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now())
         ON CONFLICT (id) DO UPDATE SET account_id = EXCLUDED.account_id, name = EXCLUDED.name,
           enabled = EXCLUDED.enabled, position = EXCLUDED.position, definition = EXCLUDED.definition,
           source = EXCLUDED.source, updated_at = now()`,
        [rule.id, rule.account, rule.name, rule.enabled, position, JSON.stringify(rule), source],
      );
    }
    // Rules this file used to hold and no longer does are gone; other files' rules stay.
    const stale = existing.filter((r) => r.source === source && !ids.has(r.id)).map((r) => r.id);
    if (stale.length) await tx.query("DELETE FROM rules WHERE id = ANY($1::text[])", [stale]);
    for (const [account, settings] of Object.entries(file.accounts))
      await tx.query("UPDATE instagram_accounts SET rule_settings = $2, updated_at = now() WHERE id = $1", [
        account,
        JSON.stringify(settings),
      ]);
    return { added, updated, removed: stale.length, accounts: Object.keys(file.accounts).length };
  });
}

export async function listRules(db: Database): Promise<StoredRule[]> {
  const { rows } = await db.query<{ definition: Rule; source: string | null; enabled: boolean }>(
    "SELECT definition, source, enabled FROM rules ORDER BY account_id, source NULLS FIRST, position, id",
  );
  return rows.map((r) => ({
    rule: { ...r.definition, enabled: r.enabled },
    source: r.source,
    enabled: r.enabled,
  }));
}

/** Turns a rule on or off; false when there is no such rule. */
/** Switches a stored rule on or off and records who did, in one transaction, the same from chat,
 * the console and the CLI. False (and nothing recorded) when no rule has that id. */
export async function setRuleEnabled(
  db: Database,
  id: string,
  enabled: boolean,
  by: Pick<AuditEntry, "actor" | "details">,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(
      "UPDATE rules SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING id",
      [id, enabled],
    );
    if (rows.length === 0) return false;
    await recordAudit(tx, {
      ...by,
      action: enabled ? "rule_enabled" : "rule_disabled",
      target: `rule:${id}`,
    });
    return true;
  });
}

/** The rules that apply to `account` (its own and the "*" ones), in file order, and its settings. */
export async function rulesFor(
  db: Database,
  account: string,
): Promise<{ rules: Rule[]; settings: AccountSettings | undefined; version: string }> {
  // One round trip, named (prepared once per connection): every worker reads it again for each
  // account it meets every CACHE_CHECK_MS (engine.ts), several times a second under load.
  const { rows: read } = await queryNamed<{
    rules: Array<{ definition: Rule; enabled: boolean; updated_at: string }>;
    rule_settings: AccountSettings | null;
    account_updated_at: Date | null;
  }>(
    db,
    "tb_rules_for",
    `SELECT (SELECT coalesce(json_agg(json_build_object('definition', definition, 'enabled', enabled,
                                                        'updated_at', updated_at)
                                      ORDER BY source NULLS FIRST, position, id), '[]'::json)
               FROM rules WHERE account_id IN ($1, '*')) AS rules,
            a.rule_settings, a.updated_at AS account_updated_at
       FROM (VALUES (1)) one LEFT JOIN instagram_accounts a ON a.id = $1`,
    [account],
  );
  const rows = read[0]?.rules ?? [];
  const accountUpdated = read[0]?.account_updated_at;
  const version = [
    rows.length,
    // From JSON, an ISO string; the same instant to the millisecond as a column read gives.
    ...rows.map((r) => new Date(r.updated_at).getTime()),
    accountUpdated ? new Date(accountUpdated).getTime() : 0,
  ].join(":");
  return {
    rules: rows.map((r) => ({ ...r.definition, enabled: r.enabled })),
    settings: read[0]?.rule_settings ?? undefined,
    version,
  };
}
