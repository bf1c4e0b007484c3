// The digest's volume chart counts each hour or day as an index range between the bucket starts
// it draws (local hours or days of the account's zone). These must be the buckets date_trunc() in
// the zone gives, which the digest grouped by before: checked on the night clocks fall back in
// Berlin (two local 02:00 hours), in zones a half and three quarters of an hour off UTC, and on
// rolling periods that start mid-hour, against the grouping itself. No message of the period may
// fall outside the buckets.

import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { computeDigest } from "../../src/digest/digest.ts";
import { type Period, previousPeriod, rollingPeriod } from "../../src/digest/period.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const A = "17841400000000093";

const store = useBackendDatabase();
let db: Database;

beforeAll(async () => {
  ({ db } = store);
  await db.query("INSERT INTO instagram_accounts (id, username, status) VALUES ($1, 'a', 'active')", [A]);
  const { rows } = await db.query<{ id: string }>(
    "INSERT INTO conversations (account_id, customer_id) VALUES ($1, 'c') RETURNING id",
    [A],
  );
  // A message every 7 minutes from 20 to 28 October, alternately in and out: every hour holds
  // some, and some fall on the hour.
  await db.query(
    `INSERT INTO messages (account_id, conversation_id, direction, author_kind, ig_message_id, occurred_at)
     SELECT $1, $2, CASE WHEN g % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
            CASE WHEN g % 2 = 0 THEN 'customer' ELSE 'business' END, 'mid_' || g,
            '2026-10-20T00:00:00Z'::timestamptz + g * interval '7 minutes'
       FROM generate_series(0, 8 * 24 * 60 / 7) g`,
    [A, rows[0]?.id],
  );
});

async function grouped(period: Period) {
  const { rows } = await db.query<{ bucket: Date; inbound: string; outbound: string }>(
    `SELECT date_trunc($4, occurred_at, $5) AS bucket,
            count(*) FILTER (WHERE direction = 'inbound') AS inbound,
            count(*) FILTER (WHERE direction = 'outbound') AS outbound
       FROM messages WHERE account_id = $1 AND occurred_at >= $2 AND occurred_at < $3
      GROUP BY 1 ORDER BY 1`,
    [A, period.from.toISOString(), period.to.toISOString(), period.bucket, period.timezone],
  );
  return rows.map((r) => ({
    start: new Date(r.bucket).toISOString(),
    inbound: Number(r.inbound),
    outbound: Number(r.outbound),
  }));
}

describe("the volume chart's buckets", () => {
  const now = new Date("2026-10-26T09:20:00Z");
  const periods: [string, Period][] = [
    ["the day Berlin falls back, by hour", previousPeriod("daily", "Europe/Berlin", now)],
    [
      "the week across it, by day",
      previousPeriod("weekly", "Europe/Berlin", new Date("2026-10-27T09:00:00Z")),
    ],
    ["a day in Kolkata (+5:30)", previousPeriod("daily", "Asia/Kolkata", now)],
    ["a day in Kathmandu (+5:45)", previousPeriod("daily", "Asia/Kathmandu", now)],
    ["the last 24 hours from 9:20", rollingPeriod("24h", "Europe/Berlin", now)],
    ["the last 7 days from 9:20", rollingPeriod("7d", "America/New_York", now)],
  ];
  for (const [name, period] of periods)
    it(`match date_trunc in the zone: ${name}`, async () => {
      const digest = await computeDigest(db, A, period, { slaMinutes: 0, now });
      const drawn = digest.volume
        .filter((b) => b.inbound + b.outbound > 0)
        .map((b) => ({ start: b.start.toISOString(), inbound: b.inbound, outbound: b.outbound }));
      expect(drawn).toEqual(await grouped(period));
      const { rows } = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM messages WHERE account_id = $1 AND occurred_at >= $2 AND occurred_at < $3",
        [A, period.from.toISOString(), period.to.toISOString()],
      );
      expect(digest.volume.reduce((n, b) => n + b.inbound + b.outbound, 0)).toBe(Number(rows[0]?.n));
    });

  it("draws 25 hours on the day Berlin falls back", () => {
    const period = previousPeriod("daily", "Europe/Berlin", now);
    expect(period.from.toISOString()).toBe("2026-10-24T22:00:00.000Z");
    expect(period.to.toISOString()).toBe("2026-10-25T23:00:00.000Z");
  });
});
