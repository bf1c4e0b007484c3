// The digest's chart: a real PNG of the agreed size whose bars and line follow the figures, for a
// day, a week and the days the clocks change; nothing when there is nothing to draw.

import { createCanvas, loadImage } from "@napi-rs/canvas";
import { describe, expect, it } from "vitest";
import { bucketLabels, CHART_HEIGHT, CHART_WIDTH, renderDigestChart } from "../../src/digest/chart.ts";
import type { Digest } from "../../src/digest/digest.ts";
import { previousPeriod, rollingPeriod } from "../../src/digest/period.ts";
import { busyDigest, digestFor, emptyDigest } from "../helpers/digest.ts";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from the IHDR chunk, which must come first. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(SIGNATURE)).toBe(true);
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Pixels of exactly these colours (the bars' and the line's), counted over the whole picture. */
async function colourCounts(png: Buffer): Promise<Record<"inbound" | "outbound" | "response", number>> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  const { data } = ctx.getImageData(0, 0, image.width, image.height);
  const counts = { inbound: 0, outbound: 0, response: 0 };
  for (let i = 0; i < data.length; i += 4) {
    const rgb = `${data[i]},${data[i + 1]},${data[i + 2]}`;
    if (rgb === "78,121,167") counts.inbound++;
    else if (rgb === "89,161,79") counts.outbound++;
    else if (rgb === "242,142,43") counts.response++;
  }
  return counts;
}

async function chartOf(digest: Digest) {
  const chart = await renderDigestChart(digest);
  if (!chart) throw new Error("no chart");
  return chart;
}

describe("the daily chart", () => {
  it("is an 800×300 PNG named for the account and day, with bars in and out and the response line", async () => {
    const chart = await chartOf(busyDigest());
    expect(pngSize(chart.png)).toEqual({ width: CHART_WIDTH, height: CHART_HEIGHT });
    expect(chart.name).toBe("digest-brand-2026-11-24.png");
    const colours = await colourCounts(chart.png);
    expect(colours.inbound).toBeGreaterThan(1000);
    expect(colours.outbound).toBeGreaterThan(1000);
    expect(colours.response).toBeGreaterThan(200);
  });

  it("leaves the line and its axis out when no question was answered", async () => {
    const digest = busyDigest();
    digest.volume = digest.volume.map(({ start, inbound, outbound }) => ({ start, inbound, outbound }));
    const chart = await chartOf(digest);
    const colours = await colourCounts(chart.png);
    expect(colours.response).toBe(0);
    expect(colours.inbound).toBeGreaterThan(1000);
    expect(chart.alt).toContain("No question was answered in the period.");
  });

  it("says in words what the picture shows", async () => {
    const { alt } = await chartOf(busyDigest());
    // The helper's day: 54 customer messages and 49 of ours; 10:00 is the busiest hour (9 in, 8 out).
    expect(alt).toBe(
      "Messages per hour for @brand, Tue 24 Nov 2026 (Europe/Berlin time): 54 from customers and 49 to customers. " +
        "Busiest hour: 10:00, with 9 in and 8 out. Median first response per hour ranged from 6 min to 35 min.",
    );
  });

  it("renders quickly once loaded", async () => {
    await chartOf(busyDigest());
    const started = performance.now();
    for (let i = 0; i < 5; i++) await chartOf(busyDigest());
    const each = (performance.now() - started) / 5;
    // About 30 ms on the 2-core CI machine; the bound only catches a pathological slowdown.
    expect(each).toBeLessThan(1000);
  });
});

describe("nothing to draw", () => {
  it("gives no chart for an empty digest", async () => {
    expect(await renderDigestChart(emptyDigest())).toBeUndefined();
  });

  it("gives no chart when the period had no message, whatever else happened", async () => {
    const quiet = emptyDigest({
      empty: false,
      conversations: { opened: 0, closed: 0, waiting: 2, commentThreads: 0 },
    });
    expect(await renderDigestChart(quiet)).toBeUndefined();
  });
});

describe("other periods", () => {
  it("draws the 23 hours of the day the clocks go forward, without the missing hour", async () => {
    const spring = digestFor(previousPeriod("daily", "Europe/Berlin", new Date("2026-03-30T08:00:00Z")));
    expect(spring.volume).toHaveLength(23);
    const labels = bucketLabels(spring);
    expect(labels).toHaveLength(23);
    expect(labels.slice(0, 4)).toEqual(["00", "01", "03", "04"]);
    const chart = await chartOf(spring);
    expect(pngSize(chart.png)).toEqual({ width: CHART_WIDTH, height: CHART_HEIGHT });
    expect(chart.name).toBe("digest-brand-2026-03-29.png");
  });

  it("tells the two 02 hours apart on the day the clocks go back", async () => {
    const autumn = digestFor(previousPeriod("daily", "Europe/Berlin", new Date("2026-10-26T08:00:00Z")));
    const labels = bucketLabels(autumn);
    expect(labels).toHaveLength(25);
    expect(new Set(labels).size).toBe(25);
    expect(labels.slice(2, 4)).toEqual(["02 GMT+2", "02 GMT+1"]);
    expect(pngSize((await chartOf(autumn)).png).width).toBe(CHART_WIDTH);
  });

  it("draws a week by day and a rolling day whose first and last hours share a number", async () => {
    const week = digestFor(previousPeriod("weekly", "Europe/Berlin", new Date("2026-11-25T08:00:00Z")));
    expect(bucketLabels(week)).toEqual([
      "Mon 16",
      "Tue 17",
      "Wed 18",
      "Thu 19",
      "Fri 20",
      "Sat 21",
      "Sun 22",
    ]);
    const chart = await chartOf(week);
    expect(chart.name).toBe("digest-brand-2026-11-16-week.png");
    expect(chart.alt).toContain("Messages per day for @brand, 16 Nov – 22 Nov 2026");
    expect(chart.alt).toContain("Busiest day: Wed 18 Nov, with 61 in and 60 out.");
    // Up to 4 h: the response axis switches to hours.
    expect(chart.alt).toContain("ranged from 9 min to 4 h.");

    const rolling = digestFor(rollingPeriod("24h", "Europe/Berlin", new Date("2026-11-25T09:30:00Z")));
    const labels = bucketLabels(rolling);
    expect(labels).toHaveLength(25);
    expect([labels[0], labels[24]]).toEqual(["Tue 10", "Wed 10"]);
    expect(pngSize((await chartOf(rolling)).png).height).toBe(CHART_HEIGHT);
  });
});
