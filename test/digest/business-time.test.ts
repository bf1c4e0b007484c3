import { describe, expect, it } from "vitest";
import { businessMs } from "../../src/digest/business-time.ts";

const H = 3_600_000;
const M = 60_000;
const weekdays = {
  mon: ["09:00-17:00"],
  tue: ["09:00-17:00"],
  wed: ["09:00-17:00"],
  thu: ["09:00-17:00"],
  fri: ["09:00-17:00"],
};
const berlin = { timezone: "Europe/Berlin", hours: weekdays, holidays: [] as string[] };
const d = (iso: string) => new Date(iso);

describe("businessMs", () => {
  it("counts all of the wait when no hours are set", () => {
    expect(businessMs(undefined, d("2026-11-23T22:00:00Z"), d("2026-11-24T09:05:00Z"))).toBe(11 * H + 5 * M);
    expect(
      businessMs(
        { timezone: "UTC", hours: {}, holidays: [] },
        d("2026-11-23T22:00:00Z"),
        d("2026-11-24T00:00:00Z"),
      ),
    ).toBe(2 * H);
  });

  it("counts only opening hours, in the account's zone", () => {
    // Monday 23:00 → Tuesday 09:05 Berlin (UTC+1 in November): five minutes of the team's time.
    expect(businessMs(berlin, d("2026-11-23T22:00:00Z"), d("2026-11-24T08:05:00Z"))).toBe(5 * M);
    // Friday 16:30 → Monday 09:30: half an hour on Friday, half an hour on Monday.
    expect(businessMs(berlin, d("2026-11-27T15:30:00Z"), d("2026-11-30T08:30:00Z"))).toBe(60 * M);
    expect(businessMs(berlin, d("2026-11-24T10:00:00Z"), d("2026-11-24T10:00:00Z"))).toBe(0);
    expect(businessMs(berlin, d("2026-11-24T10:00:00Z"), d("2026-11-24T09:00:00Z"))).toBe(0);
  });

  it("skips holidays", () => {
    const holiday = { ...berlin, holidays: ["2026-11-24"] };
    expect(businessMs(holiday, d("2026-11-23T15:00:00Z"), d("2026-11-25T09:00:00Z"))).toBe(H + H);
  });

  it("keeps wall-clock hours across DST changes", () => {
    // Sunday 29 March 2026 Berlin springs forward at 02:00; Monday 09:00 is 07:00 UTC.
    const sundays = { timezone: "Europe/Berlin", hours: { sun: ["00:00-24:00"] }, holidays: [] };
    expect(businessMs(sundays, d("2026-03-28T12:00:00Z"), d("2026-03-30T12:00:00Z"))).toBe(23 * H);
    expect(businessMs(berlin, d("2026-03-30T06:00:00Z"), d("2026-03-30T08:00:00Z"))).toBe(H);
    // Sunday 25 October 2026 falls back: a 25-hour day.
    const octSundays = { timezone: "Europe/Berlin", hours: { sun: ["00:00-24:00"] }, holidays: [] };
    expect(businessMs(octSundays, d("2026-10-24T12:00:00Z"), d("2026-10-26T12:00:00Z"))).toBe(25 * H);
  });

  it("runs ranges past midnight into the next day, without counting an overlap twice", () => {
    const nights = { timezone: "UTC", hours: { fri: ["22:00-02:00"], sat: ["00:00-01:00"] }, holidays: [] };
    // Friday 2026-11-27 21:00 → Saturday 03:00: 22:00–02:00 is open, the Saturday hour overlaps.
    expect(businessMs(nights, d("2026-11-27T21:00:00Z"), d("2026-11-28T03:00:00Z"))).toBe(4 * H);
  });
});
