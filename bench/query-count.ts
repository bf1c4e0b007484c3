// A probe for `node --import ./bench/query-count.ts`: counts the SQL statements the process sends
// through node-postgres, by statement text. On SIGUSR2 it writes the counts since the last mark to
// $QUERY_COUNT_DIR/queries-<pid>-<n>.txt (total first, then count and text, most frequent first) and
// starts over. bench/mirror-capacity.ts marks its workers around a run with BENCH_SIGNAL_WORKERS=1;
// dividing by the events of the run gives statements (round trips) per event.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import pg from "pg";

const dir = process.env.QUERY_COUNT_DIR ?? tmpdir();
let counts = new Map<string, number>();
let total = 0;
let marks = 0;
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const q = args[0] as string | { text?: string } | undefined;
  const text = (typeof q === "string" ? q : (q?.text ?? "?")).replace(/\s+/g, " ").trim().slice(0, 200);
  counts.set(text, (counts.get(text) ?? 0) + 1);
  total++;
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;
process.on("SIGUSR2", () => {
  const rows = [...counts].sort((a, b) => b[1] - a[1]).map(([text, n]) => `${n}\t${text}`);
  writeFileSync(`${dir}/queries-${process.pid}-${marks++}.txt`, `${total}\n${rows.join("\n")}\n`);
  counts = new Map();
  total = 0;
});
