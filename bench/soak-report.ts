// The soak's verdict and bench/soak.md: growth per hour over the samples taken after warm-up, and
// the samples themselves. The verdict reads the Theil–Sen slope: RSS does not only grow, it also
// drops for a while when the allocator hands memory back, and a least-squares line through such a
// dip reports growth that is not there (the first hour-long run: web RSS 277 MiB at minute 10 and
// 279 at minute 60, a dip to 165 between, "67 MiB/h"). The least-squares slope is shown beside it.
import { slope, theilSen } from "./stats.ts";

export interface SoakSample {
  /** Minutes since the load started. */
  minute: number;
  webRss: number;
  workerRss: number;
  ackP50: number;
  ackP99: number;
  mirrorP50: number;
  mirrorP99: number;
  queueDepth: number;
  webhooks: number;
  replies: number;
  /** The driver's own event-loop delay p99 and heap: the latencies are timed in the driver, which
   * also hosts the fake Slack and Graph servers, so a slow driver reads as a slow service. */
  driverLoopP99: number;
  driverHeap: number;
}

export interface SoakTotals {
  acked: number;
  refused: number;
  mirrored: number;
  duplicates: number;
  replies: number;
  repliesSent: number;
}

type Figure = "webRss" | "workerRss" | "ackP99" | "mirrorP99";

export interface Verdict {
  ok: boolean;
  /** Theil–Sen slope per hour: what the verdict reads. */
  growth: Record<Figure, number>;
  /** Least-squares slope per hour, for comparison. */
  leastSquares: Record<Figure, number>;
  reasons: string[];
}

export interface SoakLimits {
  /** MiB per hour, per process. */
  rssGrowth: number;
  /** Milliseconds per hour, for the ack p99 and the webhook → Slack p99. */
  p99Growth: number;
}

export function judge(
  samples: SoakSample[],
  totals: SoakTotals,
  warmupMinutes: number,
  limits: SoakLimits,
): Verdict {
  const steady = samples.filter((s) => s.minute >= warmupMinutes);
  const perHour = (estimate: typeof slope) => (field: Figure) =>
    estimate(steady.map((s) => ({ x: s.minute / 60, y: s[field] })));
  const figures = (estimate: typeof slope) => ({
    webRss: perHour(estimate)("webRss"),
    workerRss: perHour(estimate)("workerRss"),
    ackP99: perHour(estimate)("ackP99"),
    mirrorP99: perHour(estimate)("mirrorP99"),
  });
  const growth = figures(theilSen);
  const leastSquares = figures(slope);
  const reasons: string[] = [];
  if (steady.length < 3) reasons.push(`only ${steady.length} samples after warm-up: run longer`);
  for (const field of ["webRss", "workerRss"] as const)
    if (!(growth[field] <= limits.rssGrowth))
      reasons.push(`${field} grows ${growth[field].toFixed(1)} MiB/h (limit ${limits.rssGrowth} MiB/h)`);
  for (const field of ["ackP99", "mirrorP99"] as const)
    if (!(growth[field] <= limits.p99Growth))
      reasons.push(`${field} grows ${growth[field].toFixed(1)} ms/h (limit ${limits.p99Growth} ms/h)`);
  if (totals.refused > 0) reasons.push(`${totals.refused} webhooks not answered 200`);
  if (totals.mirrored < totals.acked)
    reasons.push(`${totals.acked - totals.mirrored} acknowledged webhooks never reached Slack`);
  if (totals.duplicates > 0) reasons.push(`${totals.duplicates} webhooks mirrored more than once`);
  if (totals.repliesSent < totals.replies)
    reasons.push(`${totals.replies - totals.repliesSent} agent replies never reached Instagram`);
  return { ok: reasons.length === 0, growth, leastSquares, reasons };
}

export function soakMarkdown(o: {
  /** When the run ended. */
  runAt: Date;
  machine: string;
  setup: string;
  samples: SoakSample[];
  totals: SoakTotals;
  verdict: Verdict;
  warmupMinutes: number;
  limits: SoakLimits;
}): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "—");
  const { growth, verdict } = { growth: o.verdict.growth, verdict: o.verdict };
  const ls = o.verdict.leastSquares;
  return [
    "# Soak results",
    "",
    `Run ${o.runAt.toISOString()} by \`npm run soak\`. Machine: ${o.machine}.`,
    "",
    o.setup,
    "",
    `**Verdict: ${verdict.ok ? "PASS" : "FAIL"}**${verdict.reasons.length ? ` — ${verdict.reasons.join("; ")}` : ""}.`,
    "",
    `Growth per hour over the samples from minute ${o.warmupMinutes} on: the Theil–Sen slope (median of the slopes between every pair of samples), which the verdict reads (limits: RSS ${o.limits.rssGrowth} MiB/h per process, each p99 ${o.limits.p99Growth} ms/h), and the least-squares slope beside it:`,
    "",
    "| figure | growth per hour (Theil–Sen) | least squares |",
    "|---|---|---|",
    `| web RSS | ${f(growth.webRss)} MiB | ${f(ls.webRss)} MiB |`,
    `| worker RSS | ${f(growth.workerRss)} MiB | ${f(ls.workerRss)} MiB |`,
    `| webhook ack p99 | ${f(growth.ackP99)} ms | ${f(ls.ackP99)} ms |`,
    `| webhook → Slack p99 | ${f(growth.mirrorP99)} ms | ${f(ls.mirrorP99)} ms |`,
    "",
    `Totals: ${o.totals.acked} webhooks answered 200 (${o.totals.refused} not), ${o.totals.mirrored} mirrored to Slack (${o.totals.duplicates} twice or more), ${o.totals.replies} agent replies, ${o.totals.repliesSent} of them sent to Instagram.`,
    "",
    "Each row covers the 30 s before it: webhooks sent and agent replies posted in it, ack and end-to-end latency of those, RSS and queue depth (pg-boss jobs created, retrying or active) at its end.",
    "",
    "| minute | web RSS (MiB) | worker RSS (MiB) | ack p50 / p99 (ms) | webhook → Slack p50 / p99 (ms) | queue depth | webhooks | replies | driver loop delay p99 (ms) | driver heap (MiB) |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...o.samples.map(
      (s) =>
        `| ${f(s.minute)} | ${f(s.webRss)} | ${f(s.workerRss)} | ${f(s.ackP50)} / ${f(s.ackP99)} | ${f(s.mirrorP50, 0)} / ${f(s.mirrorP99, 0)} | ${s.queueDepth} | ${s.webhooks} | ${s.replies} | ${f(s.driverLoopP99)} | ${f(s.driverHeap, 0)} |`,
    ),
    "",
  ].join("\n");
}
