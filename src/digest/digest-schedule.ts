import type { PgBoss } from "pg-boss";
import type { Config } from "../config/config.ts";
import type { SqlClient } from "../db/database.ts";
import { DIGEST_QUEUE, type DigestJob } from "../queue/boss.ts";

// One daily and one weekly pg-boss schedule per account with a digest channel, in the account's
// own time zone, so "08:00" is the team's 08:00 on both sides of a DST change. Schedules live in
// Postgres and fire once per deployment, whatever the number of workers. The set is brought in
// line with the accounts at start and every minute (the CLI changes accounts without a worker).

const CRON_WEEKDAY = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } as const;

interface Wanted {
  cron: string;
  tz: string;
  data: DigestJob;
}

function digestSchedules(
  accounts: readonly { id: string; timezone: string | null }[],
  config: Config["digest"],
): Map<string, Wanted> {
  const wanted = new Map<string, Wanted>();
  for (const a of accounts) {
    const tz = a.timezone ?? config.timezone;
    wanted.set(`${a.id}/daily`, {
      cron: `0 ${config.hour} * * *`,
      tz,
      data: { account: a.id, kind: "daily" },
    });
    wanted.set(`${a.id}/weekly`, {
      cron: `0 ${config.hour} * * ${CRON_WEEKDAY[config.weekday]}`,
      tz,
      data: { account: a.id, kind: "weekly" },
    });
  }
  return wanted;
}

export async function syncDigestSchedules(
  db: SqlClient,
  boss: PgBoss,
  config: Config["digest"],
): Promise<{ added: number; removed: number }> {
  const { rows } = await db.query<{ id: string; timezone: string | null }>(
    `SELECT id, rule_settings->>'timezone' AS timezone FROM instagram_accounts
      WHERE digest_channel IS NOT NULL AND status = 'active'`,
  );
  const wanted = digestSchedules(rows, config);
  const existing = await boss.getSchedules(DIGEST_QUEUE);
  let removed = 0;
  for (const s of existing) {
    const w = wanted.get(s.key);
    if (!w) {
      await boss.unschedule(DIGEST_QUEUE, s.key);
      removed++;
    } else if (w.cron === s.cron && w.tz === s.timezone) wanted.delete(s.key);
  }
  // `once`: a deployment that was down at the hour posts the digest when it is back, not never.
  for (const [key, w] of wanted)
    await boss.schedule(DIGEST_QUEUE, w.cron, w.data, { tz: w.tz, key, missed: "once" });
  return { added: wanted.size, removed };
}
