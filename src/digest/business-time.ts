import { DateTime } from "luxon";
import type { HoursSettings } from "../rules/business-hours.ts";
import { WEEKDAYS } from "../rules/rule.ts";

// How much of a wait fell within opening hours: a customer who writes at 23:00 and is answered at
// 09:05 waited five minutes of the team's time, not ten hours. Opening hours are wall-clock ranges
// in the account's zone (the rule file's `accounts:` section); each range is placed on its local day
// with luxon, so a day with a DST change is 23 or 25 hours long and a range keeps its wall-clock
// ends. A holiday closes the ranges that start on it, as `isOpen` does.

const DAY_MINUTES = 24 * 60;

interface Range {
  start: number;
  end: number;
}

function parseRange(text: string): Range {
  const [a = "", b = ""] = text.split("-");
  const toMin = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
  const start = toMin(a);
  let end = toMin(b);
  if (end <= start) end += DAY_MINUTES;
  return { start, end };
}

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

/** Milliseconds of [from, to) within opening hours; all of it when the account has none. */
export function businessMs(settings: HoursSettings | undefined, from: Date, to: Date): number {
  const start = from.getTime();
  const end = to.getTime();
  if (end <= start) return 0;
  if (!hasHours(settings)) return end - start;
  const holidays = new Set(settings.holidays);
  const byDay = new Map(WEEKDAYS.map((d, i) => [i + 1, (settings.hours[d] ?? []).map(parseRange)]));
  const spans: [number, number][] = [];
  // From the day before (a range past midnight reaches into `from`'s day) to `to`'s day.
  let day = DateTime.fromMillis(start, { zone: settings.timezone }).startOf("day").minus({ days: 1 });
  const last = DateTime.fromMillis(end, { zone: settings.timezone }).startOf("day");
  while (day <= last) {
    if (!holidays.has(day.toISODate() ?? "")) {
      for (const r of byDay.get(day.weekday) ?? []) {
        const open = Math.max(at(day, r.start).toMillis(), start);
        const close = Math.min(at(day, r.end).toMillis(), end);
        if (close > open) spans.push([open, close]);
      }
    }
    day = day.plus({ days: 1 });
  }
  // An overnight range and the next morning's may overlap: count each instant once.
  spans.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reached = Number.NEGATIVE_INFINITY;
  for (const [open, close] of spans) {
    const from = Math.max(open, reached);
    if (close > from) total += close - from;
    reached = Math.max(reached, close);
  }
  return total;
}
