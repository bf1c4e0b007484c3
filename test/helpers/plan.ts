// What a statement's plan read, from EXPLAIN (ANALYZE, FORMAT JSON): the tests that hold a query
// to a bounded read (a page of the thread list, the successor test) count it the same way.

type PlanNode = Record<string, unknown>;

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
