/** One line of a results table: a figure beside its baseline measured in the same run. */
export interface BenchRow {
  scenario: string;
  target: string;
  threadbridge: string;
  baseline: string;
  ratio: string;
}

/** A results table in Markdown. */
export function benchTable(rows: readonly BenchRow[]): string[] {
  return [
    "| scenario | target | threadbridge | baseline | ratio |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.scenario} | ${r.target} | ${r.threadbridge} | ${r.baseline} | ${r.ratio} |`),
  ];
}

/** A section's results table, then its notes as a list: what each bench returns. */
export function tableAndNotes(result: { rows: readonly BenchRow[]; notes: readonly string[] }): string[] {
  return [...benchTable(result.rows), "", ...result.notes.map((n) => `- ${n}`)];
}
