import type { SqlClient } from "../db/database.ts";

// Notes and labels agents keep about one customer of one account (`!note`, `!label`,
// `!unlabel`). Both are bounded from outside: a note's length, the number of notes shown and of
// labels a customer may carry, and a label is a lowercase slug so it is safe as a rule condition
// and a digest row.

export const NOTE_MAX_LENGTH = 1000;
/** Notes shown on a root, newest last; older ones stay stored and exported. */
export const NOTES_SHOWN = 5;
export const LABELS_MAX = 20;
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export interface CustomerNote {
  text: string;
  author: string;
  at: Date;
}

export interface CustomerContextRows {
  notes: CustomerNote[];
  labels: string[];
}

/** Why `label` is not a usable label, or undefined when it is. */
export function labelError(label: string): string | undefined {
  return LABEL_PATTERN.test(label)
    ? undefined
    : `“${label.slice(0, 40)}” is not a label: use 1-32 lowercase letters, digits, - or _, starting with a letter or digit.`;
}

export async function loadCustomerContext(
  db: SqlClient,
  accountId: string,
  customerId: string,
): Promise<CustomerContextRows> {
  const notes = await db.query<{ text: string; author: string; created_at: Date }>(
    `SELECT text, author, created_at FROM (
       SELECT id, text, author, created_at FROM customer_notes WHERE account_id = $1 AND customer_id = $2
        ORDER BY created_at DESC, id DESC LIMIT ${NOTES_SHOWN}) n ORDER BY created_at, id`,
    [accountId, customerId],
  );
  const labels = await db.query<{ label: string }>(
    "SELECT label FROM customer_labels WHERE account_id = $1 AND customer_id = $2 ORDER BY label",
    [accountId, customerId],
  );
  return {
    notes: notes.rows.map((n) => ({ text: n.text, author: n.author, at: new Date(n.created_at) })),
    labels: labels.rows.map((l) => l.label),
  };
}

export async function customerLabels(
  db: SqlClient,
  accountId: string,
  customerId: string,
): Promise<string[]> {
  const { rows } = await db.query<{ label: string }>(
    "SELECT label FROM customer_labels WHERE account_id = $1 AND customer_id = $2 ORDER BY label",
    [accountId, customerId],
  );
  return rows.map((r) => r.label);
}
