// The digest's picture: messages in and out per hour (a day) or per day (a week) as bars, and the
// median first response of the questions asked in each as a line on its own axis.
//
// Chart.js draws it on @napi-rs/canvas. Chart.js is the most used chart library, with a small
// dependency tree (one colour helper); @napi-rs/canvas is Skia with its binary shipped as a
// per-platform npm package (optionalDependencies), so a plain `npm ci` installs it with no
// download step, no build and no system library (node-canvas needs Cairo; the Vega route pulls in
// dozens of d3 and vega packages and still needs a rasteriser for the PNG). It finds the
// system's fonts by itself (DejaVu here). Measured here: loading both takes about 70 ms, the first
// chart about 100 ms, every later one 25–40 ms.

import { createCanvas } from "@napi-rs/canvas";
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartDataset,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  type Plugin,
  PointElement,
  SubTitle,
  Title,
} from "chart.js";
import { DateTime } from "luxon";
import type { DigestChart } from "../chat/chat-port.ts";
import type { Digest } from "./digest.ts";
import { accountHandle, formatDuration } from "./digest-view.ts";

export const CHART_WIDTH = 800;
export const CHART_HEIGHT = 300;

const COLORS = { inbound: "#4e79a7", outbound: "#59a14f", response: "#f28e2b", text: "#333333" };
const FONT = "'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif";

Chart.register(
  BarController,
  BarElement,
  LineController,
  LineElement,
  PointElement,
  CategoryScale,
  LinearScale,
  Legend,
  Title,
  SubTitle,
);

// Chat apps show a PNG's transparency on their own background, dark in dark mode, where the
// chart's dark text would vanish: paint it white first.
const whiteBackground: Plugin<"bar"> = {
  id: "whiteBackground",
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

function localTimes(digest: Digest): DateTime[] {
  return digest.volume.map((b) => DateTime.fromJSDate(b.start, { zone: digest.period.timezone }));
}

/** Axis labels: "09" for hours, "Mon 16" for days. An hour shown twice (the night the clocks go
 * back, or a rolling day's first and last hour) carries its offset or its day. */
export function bucketLabels(digest: Digest): string[] {
  const times = localTimes(digest);
  if (digest.period.bucket === "day") return times.map((t) => t.toFormat("ccc d"));
  const hours = times.map((t) => t.toFormat("HH"));
  return hours.map((label, i) => {
    const t = times[i] as DateTime;
    const twins = times.filter((_, j) => hours[j] === label);
    if (twins.length === 1) return label;
    return twins.every((u) => u.hasSame(t, "day")) ? t.toFormat("HH ZZZZ") : t.toFormat("ccc HH");
  });
}

/** Minutes, or hours when the slowest median is two hours or more. */
function responseUnit(maxMs: number): { divisor: number; unit: string } {
  return maxMs >= 2 * 3_600_000
    ? { divisor: 3_600_000, unit: "hours" }
    : { divisor: 60_000, unit: "minutes" };
}

function chartName(digest: Digest): string {
  const handle = (digest.account.username ?? digest.account.id).replace(/[^A-Za-z0-9._-]/g, "_");
  const from = DateTime.fromJSDate(digest.period.from, { zone: digest.period.timezone }).toFormat(
    "yyyy-LL-dd",
  );
  return `digest-${handle}-${from}${digest.period.bucket === "day" ? "-week" : ""}.png`;
}

/** The picture in words, for screen readers and for clients that show no image. */
function chartAlt(digest: Digest): string {
  const { period, volume } = digest;
  const unit = period.bucket;
  const times = localTimes(digest);
  const rolling = period.kind === "24h" || period.kind === "7d";
  const when = (i: number) =>
    (times[i] as DateTime).toFormat(unit === "day" ? "ccc d LLL" : rolling ? "ccc HH:mm" : "HH:mm");
  const inbound = volume.reduce((n, b) => n + b.inbound, 0);
  const outbound = volume.reduce((n, b) => n + b.outbound, 0);
  let busiest = 0;
  volume.forEach((b, i) => {
    const top = volume[busiest];
    if (top && b.inbound + b.outbound > top.inbound + top.outbound) busiest = i;
  });
  const top = volume[busiest];
  const sentences = [
    `Messages per ${unit} for ${accountHandle(digest)}, ${period.label} (${period.timezone} time): ${inbound} from customers and ${outbound} to customers.`,
  ];
  if (top)
    sentences.push(`Busiest ${unit}: ${when(busiest)}, with ${top.inbound} in and ${top.outbound} out.`);
  const medians = volume.flatMap((b) => (b.responseP50Ms === undefined ? [] : [b.responseP50Ms]));
  if (medians.length > 0) {
    const low = formatDuration(Math.min(...medians));
    const high = formatDuration(Math.max(...medians));
    sentences.push(
      low === high
        ? `Median first response: ${low}.`
        : `Median first response per ${unit} ranged from ${low} to ${high}.`,
    );
  } else sentences.push("No question was answered in the period.");
  return sentences.join(" ");
}

function configuration(digest: Digest): ChartConfiguration<"bar" | "line", (number | null)[], string> {
  const { period, volume } = digest;
  const medians = volume.map((b) => b.responseP50Ms);
  const answered = medians.some((m) => m !== undefined);
  const { divisor, unit } = responseUnit(Math.max(0, ...medians.map((m) => m ?? 0)));
  const datasets: ChartDataset<"bar" | "line", (number | null)[]>[] = [
    {
      type: "bar",
      label: "From customers",
      data: volume.map((b) => b.inbound),
      backgroundColor: COLORS.inbound,
      yAxisID: "messages",
      order: 2,
    },
    {
      type: "bar",
      label: "To customers",
      data: volume.map((b) => b.outbound),
      backgroundColor: COLORS.outbound,
      yAxisID: "messages",
      order: 2,
    },
  ];
  if (answered)
    datasets.push({
      type: "line",
      label: `Median first response (${unit})`,
      data: medians.map((m) => (m === undefined ? null : Math.round((m / divisor) * 10) / 10)),
      borderColor: COLORS.response,
      backgroundColor: COLORS.response,
      borderWidth: 2,
      pointRadius: 3,
      // A bucket without questions has no median: a gap says so, a joined line would invent one.
      spanGaps: false,
      yAxisID: "response",
      order: 1,
    });
  const per = period.bucket === "hour" ? "per hour" : "per day";
  return {
    type: "bar",
    data: { labels: bucketLabels(digest), datasets },
    options: {
      animation: false,
      responsive: false,
      devicePixelRatio: 1,
      font: { family: FONT },
      layout: { padding: { top: 4, right: 12, bottom: 4, left: 8 } },
      plugins: {
        title: {
          display: true,
          text: `${accountHandle(digest)} · ${period.label}`,
          color: COLORS.text,
          font: { family: FONT, size: 16, weight: "bold" },
          padding: { top: 6, bottom: 2 },
        },
        subtitle: {
          display: true,
          text: `Messages ${per}${answered ? " and median first response" : ""} · ${period.timezone} time`,
          color: "#666666",
          font: { family: FONT, size: 12 },
          padding: { bottom: 6 },
        },
        legend: {
          position: "bottom",
          labels: {
            color: COLORS.text,
            boxWidth: 14,
            font: { family: FONT, size: 12 },
            // The bars first, as they are drawn from left to right; the line goes on top of them.
            sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0),
          },
        },
      },
      scales: {
        x: {
          grid: { display: false },
          ticks: { color: COLORS.text, maxRotation: 0, autoSkip: true, font: { family: FONT, size: 11 } },
        },
        messages: {
          type: "linear",
          position: "left",
          beginAtZero: true,
          title: { display: true, text: "messages", color: COLORS.text, font: { family: FONT, size: 12 } },
          ticks: { color: COLORS.text, precision: 0, font: { family: FONT, size: 11 } },
        },
        response: {
          type: "linear",
          position: "right",
          display: answered,
          beginAtZero: true,
          // Room above the slowest median, so its point is not cut in half by the chart's edge.
          grace: "8%",
          grid: { drawOnChartArea: false },
          title: { display: true, text: unit, color: COLORS.response, font: { family: FONT, size: 12 } },
          ticks: { color: COLORS.response, font: { family: FONT, size: 11 } },
        },
      },
    },
    plugins: [whiteBackground as Plugin<"bar" | "line">],
  };
}

/** The digest's chart as a PNG, or undefined when there is nothing to draw (no message at all). */
export async function renderDigestChart(digest: Digest): Promise<DigestChart | undefined> {
  if (digest.empty || digest.volume.every((b) => b.inbound === 0 && b.outbound === 0)) return undefined;
  const canvas = createCanvas(CHART_WIDTH, CHART_HEIGHT);
  const chart = new Chart(canvas.getContext("2d") as never, configuration(digest));
  try {
    const png = await canvas.encode("png");
    return { png, name: chartName(digest), alt: chartAlt(digest) };
  } finally {
    chart.destroy();
  }
}
