// The soak's verdict and bench/soak.md: growth per hour from a least-squares fit over the samples
// taken after warm-up, and the samples themselves.
import { slope } from "./stats.ts";

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
}

export interface SoakTotals {
  acked: number;
  refused: number;
  mirrored: number;
  duplicates: number;
  replies: number;
  repliesSent: number;
}

export interface Verdict {
  ok: boolean;
  growth: Record<"webRss" | "workerRss" | "ackP99" | "mirrorP99", number>;
  reasons: string[];
}

export function judge(
  samples: SoakSample[],
  totals: SoakTotals,
  warmupMinutes: number,
  maxRssGrowth: number,
): Verdict {
  const steady = samples.filter((s) => s.minute >= warmupMinutes);
  const perHour = (field: keyof Verdict["growth"]) =>
    slope(steady.map((s) => ({ x: s.minute / 60, y: s[field] })));
  const growth = {
    webRss: perHour("webRss"),
    workerRss: perHour("workerRss"),
    ackP99: perHour("ackP99"),
    mirrorP99: perHour("mirrorP99"),
  };
  const reasons: string[] = [];
  if (steady.length < 3) reasons.push(`only ${steady.length} samples after warm-up: run longer`);
  for (const field of ["webRss", "workerRss"] as const)
    if (!(growth[field] <= maxRssGrowth))
      reasons.push(`${field} grows ${growth[field].toFixed(1)} MiB/h (limit ${maxRssGrowth} MiB/h)`);
  if (totals.refused > 0) reasons.push(`${totals.refused} webhooks not answered 200`);
  if (totals.mirrored < totals.acked)
    reasons.push(`${totals.acked - totals.mirrored} acknowledged webhooks never reached Slack`);
  if (totals.duplicates > 0) reasons.push(`${totals.duplicates} webhooks mirrored more than once`);
  if (totals.repliesSent < totals.replies)
    reasons.push(`${totals.replies - totals.repliesSent} agent replies never reached Instagram`);
  return { ok: reasons.length === 0, growth, reasons };
}

export function soakMarkdown(o: {
  machine: string;
  setup: string;
  samples: SoakSample[];
  totals: SoakTotals;
  verdict: Verdict;
  warmupMinutes: number;
  maxRssGrowth: number;
}): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "—");
  const { growth, verdict } = { growth: o.verdict.growth, verdict: o.verdict };
  return [
    "# Soak results",
    "",
    `Run ${new Date().toISOString()} by \`npm run soak\`. Machine: ${o.machine}.`,
    "",
    o.setup,
    "",
    `**Verdict: ${verdict.ok ? "PASS" : "FAIL"}**${verdict.reasons.length ? ` — ${verdict.reasons.join("; ")}` : ""}.`,
    "",
    `Growth per hour, least-squares slope over the samples from minute ${o.warmupMinutes} on (RSS limit ${o.maxRssGrowth} MiB/h per process):`,
    "",
    "| figure | growth per hour |",
    "|---|---|",
    `| web RSS | ${f(growth.webRss)} MiB |`,
    `| worker RSS | ${f(growth.workerRss)} MiB |`,
    `| webhook ack p99 | ${f(growth.ackP99)} ms |`,
    `| webhook → Slack p99 | ${f(growth.mirrorP99)} ms |`,
    "",
    `Totals: ${o.totals.acked} webhooks answered 200 (${o.totals.refused} not), ${o.totals.mirrored} mirrored to Slack (${o.totals.duplicates} twice or more), ${o.totals.replies} agent replies, ${o.totals.repliesSent} of them sent to Instagram.`,
    "",
    "Each row covers the 30 s before it: webhooks sent and agent replies posted in it, ack and end-to-end latency of those, RSS and queue depth (pg-boss jobs created, retrying or active) at its end.",
    "",
    "| minute | web RSS (MiB) | worker RSS (MiB) | ack p50 / p99 (ms) | webhook → Slack p50 / p99 (ms) | queue depth | webhooks | replies |",
    "|---|---|---|---|---|---|---|---|",
    ...o.samples.map(
      (s) =>
        `| ${f(s.minute)} | ${f(s.webRss)} | ${f(s.workerRss)} | ${f(s.ackP50)} / ${f(s.ackP99)} | ${f(s.mirrorP50, 0)} / ${f(s.mirrorP99, 0)} | ${s.queueDepth} | ${s.webhooks} | ${s.replies} |`,
    ),
    "",
  ].join("\n");
}
