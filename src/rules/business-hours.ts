import { type AccountSettings, WEEKDAYS, type Weekday } from "./rule.ts";

// Opening hours are wall-clock times in the account's time zone. The instant is converted with
// Intl (the platform's tz database), never with a fixed offset, so the answer stays right on both
// sides of a DST change. Across the change itself: a local time that does not exist (spring
// forward) is never observed, and one that happens twice (fall back) is open or closed both times.

export type HoursSettings = Pick<AccountSettings, "timezone" | "hours" | "holidays">;

interface LocalTime {
  /** "2026-03-29" */
  date: string;
  weekday: Weekday;
  /** Minutes since local midnight. */
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      weekday: "short",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAY_BY_SHORT: Record<string, Weekday> = {
  Mon: "mon",
  Tue: "tue",
  Wed: "wed",
  Thu: "thu",
  Fri: "fri",
  Sat: "sat",
  Sun: "sun",
};

// formatToParts costs microseconds; events come in bursts within the same minute.
const lastByZone = new Map<string, { minute: number; local: LocalTime }>();

export function localTime(timeZone: string, at: Date): LocalTime {
  const minute = Math.floor(at.getTime() / 60_000);
  const last = lastByZone.get(timeZone);
  if (last?.minute === minute) return last.local;
  const local = computeLocalTime(timeZone, at);
  lastByZone.set(timeZone, { minute, local });
  return local;
}

function computeLocalTime(timeZone: string, at: Date): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(at)) parts[p.type] = p.value;
  const weekday = WEEKDAY_BY_SHORT[parts.weekday ?? ""];
  if (!weekday) throw new Error(`unexpected weekday ${parts.weekday} for ${timeZone}`);
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

export interface Range {
  start: number;
  /** May exceed 1440: the range runs past midnight into the next day. */
  end: number;
}

/** "09:00-17:30" → minutes since local midnight; an end at or before the start runs past midnight. */
export function parseRange(text: string): Range {
  const [a = "", b = ""] = text.split("-");
  const toMin = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
  const start = toMin(a);
  let end = toMin(b);
  if (end <= start) end += 24 * 60;
  return { start, end };
}

// Parsing "09:00-17:30" on every event would dominate the evaluation cost: cache per hours object.
const parsedHours = new WeakMap<HoursSettings["hours"], Map<Weekday, Range[]>>();

function rangesOf(hours: HoursSettings["hours"]): Map<Weekday, Range[]> {
  let m = parsedHours.get(hours);
  if (!m) {
    m = new Map();
    for (const day of WEEKDAYS) m.set(day, (hours[day] ?? []).map(parseRange));
    parsedHours.set(hours, m);
  }
  return m;
}

function previousDay(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7] as Weekday;
}

function previousDate(date: string): string {
  const t = new Date(`${date}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() - 1);
  return t.toISOString().slice(0, 10);
}

/**
 * Whether the account is open at `at`. A holiday closes the ranges that start on that local date;
 * a range that began the evening before (e.g. Friday "22:00-02:00") still runs into it, and a
 * holiday on the previous day cancels that overnight tail.
 */
export function isOpen(settings: HoursSettings, at: Date): boolean {
  const local = localTime(settings.timezone, at);
  const ranges = rangesOf(settings.hours);
  if (!settings.holidays.includes(local.date)) {
    for (const r of ranges.get(local.weekday) ?? [])
      if (local.minute >= r.start && local.minute < r.end) return true;
  }
  if (!settings.holidays.includes(previousDate(local.date))) {
    const minute = local.minute + 24 * 60;
    for (const r of ranges.get(previousDay(local.weekday)) ?? [])
      if (minute >= r.start && minute < r.end) return true;
  }
  return false;
}
