// What a statement's plan read, from EXPLAIN (ANALYZE, FORMAT JSON): the tests that hold a query
// to a bounded read (a page of the thread list, the successor test) count it the same way.

import type { Database, SqlClient } from "../../src/db/database.ts";

type PlanNode = Record<string, unknown>;

/** Thrown to roll a transaction back with what it found. */
class RolledBack extends Error {
  readonly found: unknown;
  constructor(found: unknown) {
    super("rolled back");
    this.found = found;
  }
}

/**
 * `fn`'s result, in a transaction that is then rolled back: for an EXPLAIN ANALYZE of a statement
 * that writes (a fetch, a completion), which leaves nothing behind. Any other error is thrown.
 */
export async function inRolledBackTransaction<T>(
  db: Database,
  fn: (tx: SqlClient) => Promise<T>,
): Promise<T> {
  try {
    await db.transaction(async (tx) => {
      throw new RolledBack(await fn(tx));
    });
  } catch (err) {
    if (err instanceof RolledBack) return err.found as T;
    throw err;
  }
  throw new Error("unreachable: the transaction always throws");
}

/**
 * Rows the plan's scans produced or threw away (filters, index rechecks; with no `relations`, join
 * filters and bitmap index scans' entries too). With `relations`, the scans of those tables only.
 * `plan` is the EXPLAIN's one value, parsed or as text (PGlite gives text).
 */
export function rowsRead(plan: unknown, relations?: readonly string[]): number {
  let read = 0;
  const walk = (node: PlanNode) => {
    const relation = node["Relation Name"];
    const scan = relations
      ? typeof relation === "string" && relations.includes(relation)
      : typeof relation === "string" || typeof node["Index Name"] === "string";
    if (scan)
      read +=
        Number(node["Actual Rows"] ?? 0) +
        Number(node["Rows Removed by Filter"] ?? 0) +
        Number(node["Rows Removed by Index Recheck"] ?? 0);
    if (!relations) read += Number(node["Rows Removed by Join Filter"] ?? 0);
    for (const child of (node.Plans as PlanNode[] | undefined) ?? []) walk(child);
  };
  walk((typeof plan === "string" ? JSON.parse(plan) : plan)[0].Plan);
  return read;
}
