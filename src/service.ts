import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import type { PgBoss } from "pg-boss";
import { Bridge } from "./bridge/bridge.ts";
import type { Config } from "./config/config.ts";
import { type Database, openDatabase } from "./db/database.ts";
import { migrate } from "./db/migrate.ts";
import { createHttpApp } from "./http/app.ts";
import type { ComponentStatus, ReadinessCheck } from "./http/health.ts";
import { webhookRouter } from "./http/webhooks.ts";
import { IngestBatcher } from "./ingest/ingest-batcher.ts";
import { storeInbound } from "./ingest/store-events.ts";
import type { Logger } from "./log/logger.ts";
import { Metrics } from "./observability/metrics.ts";
import { INBOUND_QUEUE, startBoss } from "./queue/boss.ts";
import { startInboundWorker } from "./worker/inbound-worker.ts";

// The composition root: the one place that wires configuration, database, queue, Redis and the
// feature modules together. Everything else receives what it needs as arguments.

export interface Roles {
  web: boolean;
  worker: boolean;
  migrate: boolean;
}

export interface Service {
  readonly db: Database;
  readonly boss: PgBoss;
  readonly metrics: Metrics;
  /** The HTTP server's base URL: the web role's, or a worker's METRICS_PORT. */
  readonly url: string | undefined;
  stop(): Promise<void>;
}

export async function startService(config: Config, roles: Roles, log: Logger): Promise<Service> {
  const metrics = new Metrics();
  const db = await openDatabase(config.database);
  const cleanups: Array<() => Promise<unknown>> = [() => db.close()];
  const stop = async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((err: unknown) => log.error({ err }, "stop step failed"));
  };
  try {
    if (roles.migrate) {
      const applied = await migrate(db);
      if (applied.length) log.info({ migrations: applied }, "database migrated");
    }

    let redis: Redis | undefined;
    if (config.redisUrl) {
      redis = new Redis(config.redisUrl, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        lazyConnect: true,
      });
      redis.on("error", (err: Error) => log.warn({ err: err.message }, "redis connection problem"));
      await redis
        .connect()
        .catch((err: Error) => log.warn({ err: err.message }, "redis not reachable at start-up"));
      const r = redis;
      cleanups.push(() => r.quit());
    }

    const boss = await startBoss(db, log, {
      retryLimit: config.inbound.retryLimit,
      expireSeconds: config.inbound.expireSeconds,
      superviseSeconds: config.inbound.superviseSeconds,
      supervise: roles.worker,
    });
    cleanups.push(() => boss.stop({ graceful: true, timeout: 10_000 }));

    if (roles.worker) {
      const bridge = new Bridge({ db, log });
      await startInboundWorker({
        db,
        boss,
        bridge,
        log,
        metrics,
        concurrency: config.inbound.concurrency,
        pollingIntervalSeconds: config.inbound.pollSeconds,
      });
      log.info({ concurrency: config.inbound.concurrency }, "worker started");
    }

    let url: string | undefined;
    // The web role serves everything; a worker-only process serves health and metrics on
    // METRICS_PORT when one is given, so its job metrics can be scraped too.
    const port = roles.web ? config.port : config.metricsPort;
    if (port !== undefined) {
      const app = createHttpApp({
        log,
        metrics,
        readiness: readinessCheck(db, boss, redis, metrics),
        routers: roles.web
          ? [
              webhookRouter({
                ingest: new IngestBatcher((records) => storeInbound(db, boss, records)),
                log,
                metrics,
                verifyToken: config.instagram.verifyToken,
                appSecrets: config.instagram.appSecrets,
                maxBody: config.webhookMaxBody,
              }),
            ]
          : [],
      });
      const server = await new Promise<Server>((resolve, reject) => {
        const s = app.listen(port, (err?: Error) => (err ? reject(err) : resolve(s)));
      });
      // Meta times out at 20 s; keep-alive connections from a load balancer stay open longer.
      server.keepAliveTimeout = 65_000;
      cleanups.push(() => closeServer(server));
      url = `http://localhost:${(server.address() as AddressInfo).port}`;
      log.info(
        { url, publicUrl: config.publicUrl },
        roles.web ? "http listening" : "health and metrics listening",
      );
    }

    return { db, boss, metrics, url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function readinessCheck(
  db: Database,
  boss: PgBoss,
  redis: Redis | undefined,
  metrics: Metrics,
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
      if (redis) checks.redis = await probe(() => redis.ping());
      return checks;
    },
    async collect() {
      // Our own table rather than pg-boss's cached stats: live, and in the terms operators act on.
      const { rows } = await db.query<{ status: string; n: number }>(
        "SELECT status, count(*)::int AS n FROM inbound_events WHERE status IN ('queued', 'dead') GROUP BY status",
      );
      const count = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
      metrics.queueDepth.set({ queue: INBOUND_QUEUE, state: "queued" }, count("queued"));
      metrics.queueDepth.set({ queue: INBOUND_QUEUE, state: "dead" }, count("dead"));
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

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // In-flight requests finish; idle keep-alive sockets are closed so shutdown does not wait on them.
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5_000).unref();
  });
}
