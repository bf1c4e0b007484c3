import type { Redis } from "ioredis";
import type { PgBoss } from "pg-boss";
import type { Database } from "../db/database.ts";
import { type ChatHealth, platformReadiness } from "../health/chat-health.ts";
import { webhookSilence } from "../health/webhook-silence.ts";
import type { Metrics } from "../observability/metrics.ts";
import { pauses } from "../outbound/pause.ts";
import { INBOUND_QUEUE } from "../queue/boss.ts";
import type { OutboundLimiter } from "../ratelimit/limiter.ts";
import type { ComponentStatus, ReadinessCheck } from "./health.ts";

// What /readyz and /metrics report (health.ts serves them): each dependency probed with a short
// timeout, the operational state operators act on (pauses, replies waiting per account), and the
// gauges refreshed from our own tables before a scrape.

/** Account statuses besides `unconfigured` (an id only seen in a webhook). */
const ACCOUNT_STATUSES = ["active", "token_invalid", "revoked", "removed"];
/** Connected: events are expected for these. */
const CONNECTED = new Set(["active", "token_invalid"]);

export function readinessCheck(
  db: Database,
  boss: PgBoss,
  redis: Redis | undefined,
  limiter: OutboundLimiter,
  metrics: Metrics,
  chat?: ChatHealth,
  /** WEBHOOK_SILENCE_MINUTES, for the silence gauges (health/webhook-silence.ts). */
  silenceMs?: number,
): ReadinessCheck {
  const probe = async (fn: () => Promise<unknown>): Promise<ComponentStatus> => {
    try {
      await withTimeout(fn(), 2_000);
      return { ok: true };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  };
  return {
    async check() {
      const checks: Record<string, ComponentStatus> = {
        database: await probe(() => db.query("SELECT 1")),
        queue: await probe(() => boss.getQueue(INBOUND_QUEUE)),
      };
      if (redis) {
        // Sending goes on within per-process limits while Redis is away (the insurance limiter):
        // the service is degraded, not unavailable, and must not be drained for it.
        const r = await probe(() => redis.ping());
        checks.redis = r.ok
          ? r
          : {
              ok: true,
              degraded: true,
              detail: `unreachable (${r.detail}); rate limits enforced per process`,
            };
      }
      if (limiter.degraded())
        checks.rateLimiter = {
          ok: true,
          degraded: true,
          detail: "Redis unavailable: rate limits are enforced per process (insurance limiter)",
        };
      // One check per chat platform, from the last periodic pass: a failing platform degrades the
      // service but never makes it unavailable, since webhooks are still stored.
      if (chat?.status().length) {
        const holds = await chat.holds().catch(() => []);
        for (const status of chat.status()) checks[status.platform] = platformReadiness(status, holds);
      }
      return checks;
    },
    async details() {
      const p = await pauses(db);
      const { rows } = await db.query<{ account_id: string; delivery_state: string; n: number }>(
        `SELECT account_id, delivery_state, count(*)::int AS n FROM messages
          WHERE delivery_state IN ('pending', 'held') GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      const queue: Record<string, Record<string, number>> = {};
      for (const r of rows) {
        const perAccount = queue[r.account_id] ?? {};
        perAccount[r.delivery_state] = r.n;
        queue[r.account_id] = perAccount;
      }
      const platforms = chat?.status() ?? [];
      const holds = platforms.length ? await (chat as ChatHealth).holds() : [];
      return {
        outbound: {
          paused: { global: p.global !== undefined, accounts: p.accounts.map((a) => a.account) },
          queue,
        },
        ...(platforms.length
          ? {
              chat: Object.fromEntries(
                platforms.map((s) => [
                  s.platform,
                  {
                    checks: s.checks ?? [],
                    checkedAt: s.checkedAt ?? null,
                    destinations: s.destinations,
                    held: holds
                      .filter((h) => h.platform === s.platform)
                      .map((h) => ({
                        channel: h.channel,
                        reason: h.reason,
                        fix: h.fix,
                        since: h.heldAt,
                        lastCheck: h.lastCheck,
                      })),
                  },
                ]),
              ),
            }
          : {}),
      };
    },
    async collect() {
      // Our own table rather than pg-boss's cached stats: live, and in the terms operators act on.
      const { rows } = await db.query<{ status: string; n: number }>(
        "SELECT status, count(*)::int AS n FROM inbound_events WHERE status IN ('queued', 'dead') GROUP BY status",
      );
      const count = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
      metrics.queueDepth.set({ queue: INBOUND_QUEUE, state: "queued" }, count("queued"));
      metrics.queueDepth.set({ queue: INBOUND_QUEUE, state: "dead" }, count("dead"));
      const open = await db.query<{ account_id: string; delivery_state: string; n: number }>(
        `SELECT account_id, delivery_state, count(*)::int AS n FROM messages
          WHERE delivery_state IN ('pending', 'held') GROUP BY 1, 2`,
      );
      metrics.outboundOpen.reset();
      for (const r of open.rows)
        metrics.outboundOpen.set({ account: r.account_id, state: r.delivery_state }, r.n);
      const p = await pauses(db);
      metrics.paused.reset();
      if (p.global) metrics.paused.set({ account: "*" }, 1);
      for (const a of p.accounts) metrics.paused.set({ account: a.account }, 1);
      if (chat?.status().length) {
        metrics.chatDestinationHeld.reset();
        for (const h of await chat.holds())
          metrics.chatDestinationHeld.set({ platform: h.platform, channel: h.channel }, 1);
      }
      // Accounts an operator connected, never ids a payload named (a webhook for an unknown id
      // leaves an `unconfigured` row): one series per connected account at most.
      const accounts = await db.query<{ id: string; status: string; last_event: number | null }>(
        `SELECT id, status, extract(epoch FROM last_event_at)::float8 AS last_event
           FROM instagram_accounts WHERE status <> 'unconfigured'`,
      );
      metrics.accounts.reset();
      metrics.webhookLastReceived.reset();
      const byStatus = new Map(ACCOUNT_STATUSES.map((s) => [s, 0]));
      for (const a of accounts.rows) {
        const status = ACCOUNT_STATUSES.includes(a.status) ? a.status : "other";
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        if (CONNECTED.has(a.status) && a.last_event !== null)
          metrics.webhookLastReceived.set({ account: a.id }, a.last_event);
      }
      for (const [status, n] of byStatus) metrics.accounts.set({ status }, n);
      if (silenceMs !== undefined) {
        const now = new Date();
        metrics.webhookSilent.reset();
        metrics.webhookSilenceSeconds.reset();
        for (const s of await webhookSilence(db, silenceMs, now)) {
          metrics.webhookSilent.set({ account: s.account }, s.silent ? 1 : 0);
          metrics.webhookSilenceSeconds.set(
            { account: s.account },
            Math.max(0, (now.getTime() - s.quietSince.getTime()) / 1000),
          );
        }
      }
    },
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
