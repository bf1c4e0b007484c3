import { DateTime } from "luxon";

// The span a digest covers. Scheduled digests cover the last whole local day or week (Monday to
// Monday) in the account's time zone, so "yesterday" means the team's yesterday, 23 or 25 hours
// long across a DST change. On-demand digests cover the last 24 hours or 7 days up to now.

export type DigestKind = "daily" | "weekly";

export interface Period {
  kind: DigestKind | "24h" | "7d";
  from: Date;
  to: Date;
  timezone: string;
  /** For headings: "Tue 24 Nov 2026", "16–22 Nov 2026", "last 24 hours". */
  label: string;
  /** Chart buckets: hours for a day, days for a week. */
  bucket: "hour" | "day";
}

export function previousPeriod(kind: DigestKind, timezone: string, now: Date): Period {
  const local = DateTime.fromJSDate(now, { zone: timezone });
  if (kind === "daily") {
    const to = local.startOf("day");
    const from = to.minus({ days: 1 });
    return {
      kind,
      from: from.toJSDate(),
      to: to.toJSDate(),
      timezone,
      label: from.toFormat("ccc d LLL yyyy"),
      bucket: "hour",
    };
  }
  const to = local.startOf("week"); // ISO weeks start on Monday
  const from = to.minus({ weeks: 1 });
  const last = to.minus({ days: 1 });
  return {
    kind,
    from: from.toJSDate(),
    to: to.toJSDate(),
    timezone,
    label: `${from.toFormat("d LLL")} – ${last.toFormat("d LLL yyyy")}`,
    bucket: "day",
  };
}

/** `24h` or `7d` back from `now`. */
export function rollingPeriod(span: "24h" | "7d", timezone: string, now: Date): Period {
  const to = DateTime.fromJSDate(now, { zone: timezone });
  const from = span === "24h" ? to.minus({ hours: 24 }) : to.minus({ days: 7 });
  return {
    kind: span,
    from: from.toJSDate(),
    to: to.toJSDate(),
    timezone,
    label: span === "24h" ? "last 24 hours" : "last 7 days",
    bucket: span === "24h" ? "hour" : "day",
  };
}
