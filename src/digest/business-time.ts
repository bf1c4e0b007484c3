import { DateTime } from "luxon";
import { type HoursSettings, parseRange } from "../rules/business-hours.ts";
import { WEEKDAYS } from "../rules/rule.ts";

// How much of a wait fell within opening hours: a customer who writes at 23:00 and is answered at
// 09:05 waited five minutes of the team's time, not ten hours. Opening hours are wall-clock ranges
// in the account's zone (the rule file's `accounts:` section); each range is placed on its local day
// with luxon, so a day with a DST change is 23 or 25 hours long and a range keeps its wall-clock
// ends. A holiday closes the ranges that start on it, as `isOpen` does.

const DAY_MINUTES = 24 * 60;

/** Whether any opening hours are set: without them every minute counts. */
export function hasHours(settings: HoursSettings | undefined): settings is HoursSettings {
  return settings !== undefined && Object.values(settings.hours).some((r) => (r?.length ?? 0) > 0);
}

/** A wall-clock minute of a local day (minutes past 24:00 fall on the next day). */
function at(day: DateTime, minute: number): DateTime {
  const d = day.plus({ days: Math.floor(minute / DAY_MINUTES) });
  const m = minute % DAY_MINUTES;
  return d.set({ hour: Math.floor(m / 60), minute: m % 60 });
}

/**
 * Opening hours laid out once over a span of time, so that each wait inside it is measured with
 * two binary searches: a digest measures thousands of waits over the same days.
 */
export class BusinessClock {
  private readonly wall: boolean;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Open milliseconds before span i. */
  private readonly before: number[] = [];

  constructor(settings: HoursSettings | undefined, from: Date, to: Date) {
    this.wall = !hasHours(settings);
    if (!hasHours(settings)) return;
    const first = from.getTime();
    const end = to.getTime();
    const holidays = new Set(settings.holidays);
    const byDay = new Map(WEEKDAYS.map((d, i) => [i + 1, (settings.hours[d] ?? []).map(parseRange)]));
    const spans: [number, number][] = [];
    // From the day before (a range past midnight reaches into `from`'s day) to `to`'s day.
    let day = DateTime.fromMillis(first, { zone: settings.timezone }).startOf("day").minus({ days: 1 });
    const last = DateTime.fromMillis(end, { zone: settings.timezone }).startOf("day");
    while (day <= last) {
      if (!holidays.has(day.toISODate() ?? "")) {
        for (const r of byDay.get(day.weekday) ?? [])
          spans.push([at(day, r.start).toMillis(), at(day, r.end).toMillis()]);
      }
      day = day.plus({ days: 1 });
    }
    // An overnight range and the next morning's may overlap: merge, so each instant counts once.
    spans.sort((a, b) => a[0] - b[0]);
    let total = 0;
    for (const [open, close] of spans) {
      const lastEnd = this.ends.at(-1);
      if (lastEnd !== undefined && open <= lastEnd) {
        if (close > lastEnd) {
          total += close - lastEnd;
          this.ends[this.ends.length - 1] = close;
        }
        continue;
      }
      this.starts.push(open);
      this.ends.push(close);
      this.before.push(total);
      total += close - open;
    }
  }

  /** Open milliseconds from the clock's origin to `t`. */
  private upTo(t: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.starts[mid] as number) <= t) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (i < 0) return 0;
    return (this.before[i] as number) + Math.min(t, this.ends[i] as number) - (this.starts[i] as number);
  }

  /** Milliseconds of [from, to) within opening hours (all of it without hours). Both ends must lie
   * within the span the clock was made for. */
  ms(from: Date, to: Date): number {
    return this.between(from.getTime(), to.getTime());
  }

  /** `ms` for instants given as epoch milliseconds. */
  between(a: number, b: number): number {
    if (b <= a) return 0;
    return this.wall ? b - a : this.upTo(b) - this.upTo(a);
  }
}

/** Milliseconds of [from, to) within opening hours; all of it when the account has none. */
export function businessMs(settings: HoursSettings | undefined, from: Date, to: Date): number {
  return new BusinessClock(settings, from, to).ms(from, to);
}
