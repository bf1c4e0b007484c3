import { type ActorKind, recordAudit } from "../audit/audit-log.ts";
import type { Database, SqlClient } from "../db/database.ts";
import { pgJson } from "../db/pg-json.ts";
import type { Snippet, SnippetAttachment, SnippetCard, SnippetQuickReply } from "./snippet.ts";

// Saved replies in the database. An import is an upsert by (account, name) in one transaction:
// what a file does not mention stays, what it changes is reported and audited field by field.
// Where an account has a saved reply of its own and a shared one of the same name, its own wins.

export interface StoredSnippet extends Snippet {
  id: number;
  updatedAt: Date;
}

export interface SnippetChange {
  snippet: { account: string | null; name: string };
  kind: "added" | "changed" | "unchanged";
  /** For `changed`: the fields that differ (text, language, attachments, quick_replies, cards). */
  fields: string[];
}

export interface Actor {
  kind: ActorKind;
  id: string;
  name?: string;
}

interface Row {
  id: number;
  account_id: string | null;
  name: string;
  text: string;
  language: string | null;
  attachments: SnippetAttachment[];
  quick_replies: SnippetQuickReply[];
  cards: SnippetCard[];
  updated_at: Date;
}

function fromRow(r: Row): StoredSnippet {
  const s: StoredSnippet = {
    id: r.id,
    account: r.account_id,
    name: r.name,
    text: r.text,
    attachments: r.attachments,
    quickReplies: r.quick_replies,
    updatedAt: new Date(r.updated_at),
  };
  if (r.language) s.language = r.language;
  if (r.cards.length > 0) s.cards = r.cards;
  return s;
}

const COLUMNS = "id, account_id, name, text, language, attachments, quick_replies, cards, updated_at";

/** JSON with object keys sorted: jsonb gives keys back in its own order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

function differences(before: Row, after: Snippet): string[] {
  const fields: string[] = [];
  if (before.text !== after.text) fields.push("text");
  if ((before.language ?? undefined) !== after.language) fields.push("language");
  if (canonical(before.attachments) !== canonical(after.attachments)) fields.push("attachments");
  if (canonical(before.quick_replies) !== canonical(after.quickReplies)) fields.push("quick_replies");
  if (canonical(before.cards) !== canonical(after.cards ?? [])) fields.push("cards");
  return fields;
}

export async function importSnippets(
  db: Database,
  snippets: readonly Snippet[],
  source: string,
  actor: Actor,
): Promise<SnippetChange[]> {
  return db.transaction(async (tx) => {
    const changes: SnippetChange[] = [];
    for (const s of snippets) {
      const { rows } = await tx.query<Row>(
        `SELECT ${COLUMNS} FROM snippets WHERE account_id IS NOT DISTINCT FROM $1 AND name = $2 FOR UPDATE`,
        [s.account, s.name],
      );
      const before = rows[0];
      const fields = before ? differences(before, s) : [];
      const kind = !before ? "added" : fields.length > 0 ? "changed" : "unchanged";
      changes.push({ snippet: { account: s.account, name: s.name }, kind, fields });
      if (kind === "unchanged") continue;
      await tx.query(
        `INSERT INTO snippets (account_id, name, text, language, attachments, quick_replies, cards, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT ON CONSTRAINT snippets_account_name DO UPDATE SET text = EXCLUDED.text,
           language = EXCLUDED.language, attachments = EXCLUDED.attachments,
           quick_replies = EXCLUDED.quick_replies, cards = EXCLUDED.cards, source = EXCLUDED.source, updated_at = now()`,
        [
          s.account,
          s.name,
          s.text,
          s.language ?? null,
          pgJson(s.attachments),
          pgJson(s.quickReplies),
          pgJson(s.cards ?? []),
          source,
        ],
      );
      await recordAudit(tx, {
        actor,
        account: s.account ?? undefined,
        action: kind === "added" ? "snippet_added" : "snippet_changed",
        target: `snippet:${s.name}`,
        details: { name: s.name, ...(kind === "changed" ? { fields } : {}), source },
      });
    }
    return changes;
  });
}

/** Every saved reply, or those `account` can use (its own and the shared ones), by name. */
export async function listSnippets(db: SqlClient, account?: string): Promise<StoredSnippet[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM snippets
      WHERE $1::text IS NULL OR account_id = $1 OR account_id IS NULL
      ORDER BY name, account_id NULLS FIRST`,
    [account ?? null],
  );
  return rows.map(fromRow);
}

/** Removes one saved reply (`account` null: the shared one); false when there is none. */
export async function removeSnippet(
  db: Database,
  name: string,
  account: string | null,
  actor: Actor,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(
      "DELETE FROM snippets WHERE account_id IS NOT DISTINCT FROM $1 AND name = $2 RETURNING id",
      [account, name],
    );
    if (rows.length === 0) return false;
    await recordAudit(tx, {
      actor,
      account: account ?? undefined,
      action: "snippet_removed",
      target: `snippet:${name}`,
      details: { name },
    });
    return true;
  });
}

/** The saved reply `name` as `account` sends it: its own, else the shared one. */
export async function findSnippet(
  db: SqlClient,
  account: string,
  name: string,
): Promise<StoredSnippet | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM snippets WHERE name = $2 AND (account_id = $1 OR account_id IS NULL)
      ORDER BY account_id NULLS LAST LIMIT 1`,
    [account, name],
  );
  const r = rows[0];
  return r ? fromRow(r) : undefined;
}

/** The saved replies `account` can send whose name contains `typed`, names first that start with
 * it, at most `limit` (a picker's size). */
export async function usableSnippets(
  db: SqlClient,
  account: string,
  typed: string,
  limit: number,
): Promise<StoredSnippet[]> {
  const { rows } = await db.query<Row>(
    `SELECT DISTINCT ON (name) ${COLUMNS} FROM snippets
      WHERE (account_id = $1 OR account_id IS NULL) AND strpos(name, $2) > 0
      ORDER BY name, account_id NULLS LAST LIMIT 1000`,
    [account, typed.trim().toLowerCase()],
  );
  const t = typed.trim().toLowerCase();
  return rows
    .map(fromRow)
    .sort(
      (a, b) => Number(b.name.startsWith(t)) - Number(a.name.startsWith(t)) || a.name.localeCompare(b.name),
    )
    .slice(0, limit);
}

/** For rule imports: which (account, name) pairs can be sent ("*": shared ones only). */
export async function snippetIndex(db: SqlClient): Promise<(account: string, name: string) => boolean> {
  const { rows } = await db.query<{ account_id: string | null; name: string }>(
    "SELECT account_id, name FROM snippets",
  );
  const keys = new Set(rows.map((r) => `${r.account_id ?? "*"}\u0000${r.name}`));
  return (account, name) =>
    keys.has(`*\u0000${name}`) || (account !== "*" && keys.has(`${account}\u0000${name}`));
}
