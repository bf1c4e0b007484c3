import { describe, expect, it } from "vitest";
import { judge, type SoakSample } from "../../bench/soak-report.ts";
import { slope, theilSen } from "../../bench/stats.ts";

const sample = (minute: number, webRss: number, workerRss = 300): SoakSample => ({
  minute,
  webRss,
  workerRss,
  ackP50: 5,
  ackP99: 40,
  mirrorP50: 10,
  mirrorP99: 50,
  queueDepth: 0,
  webhooks: 600,
  replies: 120,
  driverLoopP99: 11,
  driverHeap: 60,
});
const totals = { acked: 100, refused: 0, mirrored: 100, duplicates: 0, replies: 10, repliesSent: 10 };
const limits = { rssGrowth: 50, p99Growth: 15 };
const minutes = Array.from({ length: 100 }, (_, i) => 10 + i * 0.5);

describe("soak growth", () => {
  it("reads a steady climb as growth, with either fit", () => {
    const points = minutes.map((m) => ({ x: m / 60, y: 250 + m }));
    expect(theilSen(points)).toBeCloseTo(60, 6);
    expect(slope(points)).toBeCloseTo(60, 6);
    const v = judge(
      minutes.map((m) => sample(m, 250 + m)),
      totals,
      10,
      limits,
    );
    expect(v.ok).toBe(false);
    expect(v.reasons.join()).toMatch(/webRss grows 60\.0 MiB\/h/);
  });

  it("does not read memory handed back for a while as growth", () => {
    // A plateau at 277 MiB with a 20-sample dip to 170 early on, as the first hour-long run had.
    const rss = (m: number) => (m >= 14 && m < 24 ? 170 : 277);
    const v = judge(
      minutes.map((m) => sample(m, rss(m))),
      totals,
      10,
      limits,
    );
    expect(v.leastSquares.webRss).toBeGreaterThan(50);
    expect(v.growth.webRss).toBe(0);
    expect(v.ok).toBe(true);
  });

  it("fails a run that lost webhooks whatever the memory did", () => {
    const v = judge(
      minutes.map((m) => sample(m, 277)),
      { ...totals, mirrored: 99 },
      10,
      limits,
    );
    expect(v.ok).toBe(false);
    expect(v.reasons.join()).toMatch(/1 acknowledged webhooks never reached Slack/);
  });

  it("fails a run whose p99 latency climbs, even with a few quiet spikes", () => {
    // The second hour-long run: ack p99 from about 15 to 47 ms over the hour, spikes on top.
    const v = judge(
      minutes.map((m) => ({
        ...sample(m, 277),
        ackP99: 15 + ((m - 10) * 32) / 50 + (m % 7 === 0 ? 120 : 0),
      })),
      totals,
      10,
      limits,
    );
    expect(v.growth.ackP99).toBeCloseTo(38.4, 0);
    expect(v.ok).toBe(false);
    expect(v.reasons.join()).toMatch(/ackP99 grows 38\.\d ms\/h \(limit 15 ms\/h\)/);
  });

  it("passes flat latency with spikes from elsewhere on the machine", () => {
    const v = judge(
      minutes.map((m) => ({ ...sample(m, 277), ackP99: m % 9 === 0 ? 190 : 14, mirrorP99: 30 })),
      totals,
      10,
      limits,
    );
    expect(v.growth.ackP99).toBe(0);
    expect(v.ok).toBe(true);
  });
});
