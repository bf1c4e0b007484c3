import { describe, expect, it } from "vitest";
import { type HoursSettings, isOpen, localTime } from "../../src/rules/business-hours.ts";

const weekdays = (range: string) => ({
  mon: [range],
  tue: [range],
  wed: [range],
  thu: [range],
  fri: [range],
});

const utc = (iso: string) => new Date(`${iso}Z`);

describe("isOpen across the 2026 DST changes", () => {
  // Europe/Berlin: CET (UTC+1) until Sun 29 March 2026 02:00, CEST (UTC+2) until Sun 25 Oct 03:00.
  const berlin: HoursSettings = { timezone: "Europe/Berlin", hours: weekdays("09:00-17:30"), holidays: [] };

  it("Europe/Berlin, spring forward: 09:00 local is 08:00 UTC before, 07:00 UTC after", () => {
    expect(isOpen(berlin, utc("2026-03-27T07:59"))).toBe(false); // Fri 08:59 CET
    expect(isOpen(berlin, utc("2026-03-27T08:00"))).toBe(true); // Fri 09:00 CET
    expect(isOpen(berlin, utc("2026-03-27T16:29"))).toBe(true); // Fri 17:29 CET
    expect(isOpen(berlin, utc("2026-03-27T16:30"))).toBe(false); // Fri 17:30 CET
    expect(isOpen(berlin, utc("2026-03-30T06:59"))).toBe(false); // Mon 08:59 CEST
    expect(isOpen(berlin, utc("2026-03-30T07:00"))).toBe(true); // Mon 09:00 CEST
    expect(isOpen(berlin, utc("2026-03-30T15:29"))).toBe(true); // Mon 17:29 CEST
    expect(isOpen(berlin, utc("2026-03-30T15:30"))).toBe(false); // Mon 17:30 CEST
  });

  it("Europe/Berlin, fall back: 09:00 local is 07:00 UTC before, 08:00 UTC after", () => {
    expect(isOpen(berlin, utc("2026-10-23T07:00"))).toBe(true); // Fri 09:00 CEST
    expect(isOpen(berlin, utc("2026-10-26T07:00"))).toBe(false); // Mon 08:00 CET
    expect(isOpen(berlin, utc("2026-10-26T08:00"))).toBe(true); // Mon 09:00 CET
  });

  it("a local hour that happens twice (fall back) is open both times", () => {
    const night: HoursSettings = { timezone: "Europe/Berlin", hours: { sun: ["02:00-03:00"] }, holidays: [] };
    expect(isOpen(night, utc("2026-10-25T00:30"))).toBe(true); // 02:30 CEST
    expect(isOpen(night, utc("2026-10-25T01:30"))).toBe(true); // 02:30 CET, one hour later
    expect(isOpen(night, utc("2026-10-25T02:30"))).toBe(false); // 03:30 CET
  });

  it("an overnight range through the spring-forward night ends at 06:00 local wall time", () => {
    const night: HoursSettings = { timezone: "Europe/Berlin", hours: { sat: ["22:00-06:00"] }, holidays: [] };
    expect(isOpen(night, utc("2026-03-28T21:00"))).toBe(true); // Sat 22:00 CET
    expect(isOpen(night, utc("2026-03-29T03:59"))).toBe(true); // Sun 05:59 CEST
    expect(isOpen(night, utc("2026-03-29T04:00"))).toBe(false); // Sun 06:00 CEST
  });

  // America/New_York: EST (UTC−5) until Sun 8 March 2026, EDT (UTC−4) until Sun 1 Nov.
  const ny: HoursSettings = { timezone: "America/New_York", hours: weekdays("09:00-17:00"), holidays: [] };

  it("America/New_York, spring forward", () => {
    expect(isOpen(ny, utc("2026-03-06T13:59"))).toBe(false); // Fri 08:59 EST
    expect(isOpen(ny, utc("2026-03-06T14:00"))).toBe(true); // Fri 09:00 EST
    expect(isOpen(ny, utc("2026-03-09T12:59"))).toBe(false); // Mon 08:59 EDT
    expect(isOpen(ny, utc("2026-03-09T13:00"))).toBe(true); // Mon 09:00 EDT
    expect(isOpen(ny, utc("2026-03-09T21:00"))).toBe(false); // Mon 17:00 EDT
  });

  it("America/New_York, fall back", () => {
    expect(isOpen(ny, utc("2026-10-30T13:00"))).toBe(true); // Fri 09:00 EDT
    expect(isOpen(ny, utc("2026-11-02T13:00"))).toBe(false); // Mon 08:00 EST
    expect(isOpen(ny, utc("2026-11-02T14:00"))).toBe(true); // Mon 09:00 EST
    expect(isOpen(ny, utc("2026-11-02T21:59"))).toBe(true); // Mon 16:59 EST
  });

  it("local dates and weekdays come from the zone, not from UTC", () => {
    // 03:30 UTC on Saturday is still Friday evening in New York.
    expect(localTime("America/New_York", utc("2026-03-07T03:30"))).toEqual({
      date: "2026-03-06",
      weekday: "fri",
      minute: 22 * 60 + 30,
    });
  });
});

describe("isOpen: ranges and holidays", () => {
  const late: HoursSettings = {
    timezone: "UTC",
    hours: { fri: ["22:00-02:00"], sat: ["10:00-14:00"], sun: ["00:00-24:00"] },
    holidays: [],
  };

  it("a range past midnight runs into the next day", () => {
    expect(isOpen(late, utc("2026-06-05T21:59"))).toBe(false); // Fri
    expect(isOpen(late, utc("2026-06-05T22:00"))).toBe(true);
    expect(isOpen(late, utc("2026-06-05T23:59"))).toBe(true);
    expect(isOpen(late, utc("2026-06-06T00:00"))).toBe(true); // Sat
    expect(isOpen(late, utc("2026-06-06T01:59"))).toBe(true);
    expect(isOpen(late, utc("2026-06-06T02:00"))).toBe(false);
    expect(isOpen(late, utc("2026-06-06T10:00"))).toBe(true);
    expect(isOpen(late, utc("2026-06-04T23:00"))).toBe(false); // Thu: no range
  });

  it("00:00-24:00 is the whole day, and a day left out is closed", () => {
    expect(isOpen(late, utc("2026-06-07T00:00"))).toBe(true); // Sun
    expect(isOpen(late, utc("2026-06-07T23:59"))).toBe(true);
    expect(isOpen(late, utc("2026-06-08T12:00"))).toBe(false); // Mon
  });

  it("a holiday closes its own day and the overnight tail of the day before", () => {
    const withHoliday = { ...late, holidays: ["2026-06-05"] };
    expect(isOpen(withHoliday, utc("2026-06-05T23:00"))).toBe(false); // Fri (holiday)
    expect(isOpen(withHoliday, utc("2026-06-06T01:00"))).toBe(false); // tail of the holiday's range
    expect(isOpen(withHoliday, utc("2026-06-06T10:30"))).toBe(true); // Sat itself is a normal day
  });

  it("a holiday is matched on the local date", () => {
    const xmas: HoursSettings = {
      timezone: "America/New_York",
      hours: { fri: ["00:00-24:00"] },
      holidays: ["2026-12-25"],
    };
    expect(isOpen(xmas, utc("2026-12-25T03:00"))).toBe(false); // Thu 22:00 local: Thursday, closed anyway
    expect(isOpen(xmas, utc("2026-12-25T15:00"))).toBe(false); // Fri 25 Dec 10:00 local: holiday
    expect(isOpen(xmas, utc("2026-12-26T03:00"))).toBe(false); // Fri 25 Dec 22:00 local: still the holiday
    expect(isOpen({ ...xmas, holidays: [] }, utc("2026-12-26T03:00"))).toBe(true);
  });

  it("no hours at all means always closed", () => {
    expect(isOpen({ timezone: "Asia/Tokyo", hours: {}, holidays: [] }, utc("2026-06-03T03:00"))).toBe(false);
  });
});
