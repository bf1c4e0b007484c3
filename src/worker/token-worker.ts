import type { PgBoss } from "pg-boss";
import { type RefreshCounts, refreshTokens, type TokenRefreshDeps } from "../instagram/token-refresh.ts";
import { TOKEN_REFRESH_QUEUE, type TokenRefreshJob } from "../queue/boss.ts";

// Daily at 04:23 UTC, away from the digest's hour and the retention purge. pg-boss keeps schedules
// in Postgres, so replicas share one; a missed day is harmless with a margin of weeks.
export const TOKEN_REFRESH_CRON = "23 4 * * *";

/** Runs the token refresh pass daily, and whenever `accounts refresh-tokens` asks (its counts are the job's output). */
export async function startTokenWorker(deps: TokenRefreshDeps & { boss: PgBoss }): Promise<void> {
  const { boss, log } = deps;
  await boss.schedule(TOKEN_REFRESH_QUEUE, TOKEN_REFRESH_CRON, {}, { key: "daily" });
  await boss.work<TokenRefreshJob>(TOKEN_REFRESH_QUEUE, async (jobs): Promise<RefreshCounts | undefined> => {
    let last: RefreshCounts | undefined;
    for (const job of jobs) {
      last = await refreshTokens(deps);
      log.info(
        { ...last, refreshDays: deps.refreshDays, by: job.data.by ?? "schedule" },
        "token refresh pass done",
      );
    }
    return last;
  });
}
