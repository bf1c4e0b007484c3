// What a conversation's state changes leave in the database, for the tests of the ways agents
// change it (text commands, the root's buttons and emoji, /ig).

import type { SqlClient } from "../../src/db/database.ts";

export async function conversationState(db: SqlClient, customer: string) {
  const { rows } = await db.query<{ status: string; assignee: string | null; snoozed_until: Date | null }>(
    "SELECT status, assignee, snoozed_until FROM conversations WHERE customer_id = $1",
    [customer],
  );
  return rows[0];
}

/** The audit trail of one target (`customer:…`, `comment:…`) as [action, actor] pairs, oldest first. */
export async function auditTrail(db: SqlClient, target: string): Promise<[string, string | null][]> {
  const { rows } = await db.query<{ action: string; actor_id: string | null }>(
    "SELECT action, actor_id FROM audit_log WHERE target = $1 ORDER BY id",
    [target],
  );
  return rows.map((r) => [r.action, r.actor_id]);
}
