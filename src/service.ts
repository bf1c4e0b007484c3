import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import pRetry from "p-retry";
import type { PgBoss } from "pg-boss";
import { recordAudit } from "./audit/audit-log.ts";
import type { ChatAdapter, ChatPlatform, FileSource } from "./chat/chat-port.ts";
import { Inbox } from "./commands/inbox.ts";
import type { Config } from "./config/config.ts";
import { transientDatabaseError } from "./db/after-outside-call.ts";
import { type Database, openDatabase } from "./db/database.ts";
import { migrate } from "./db/migrate.ts";
import { DigestService } from "./digest/digest-service.ts";
import { AgentFileLinks, agentFilesRouter } from "./http/agent-files.ts";
import { createHttpApp } from "./http/app.ts";
import { consoleRouter } from "./http/console/routes.ts";
import type { ComponentStatus, ReadinessCheck } from "./http/health.ts";
import { metaCallbacksRouter } from "./http/meta-callbacks.ts";
import { webhookRouter } from "./http/webhooks.ts";
import { IngestBatcher } from "./ingest/ingest-batcher.ts";
import { storeInbound } from "./ingest/store-events.ts";
import { GraphClient } from "./instagram/graph-client.ts";
import { alertOwners } from "./instagram/owner-alerts.ts";
import { TokenCipher } from "./instagram/token-cipher.ts";
import { LeaderElection } from "./leader/leader-election.ts";
import type { Logger } from "./log/logger.ts";
import { Mirror } from "./mirror/mirror.ts";
import { Bridge } from "./mirror/pipeline.ts";
import { Metrics } from "./observability/metrics.ts";
import { InstagramGateway } from "./outbound/instagram-gateway.ts";
import { pauses } from "./outbound/pause.ts";
import { OutboundSender } from "./outbound/send-worker.ts";
import { eraseAccount } from "./privacy/account-erasure.ts";
import { consentWords } from "./privacy/consent.ts";
import { purgeExpired } from "./privacy/retention.ts";
import { ERASURE_QUEUE, type ErasureJob, INBOUND_QUEUE, RETENTION_QUEUE, startBoss } from "./queue/boss.ts";
import { purgeCompletedJobs } from "./queue/job-retention.ts";
import { OutboundLimiter } from "./ratelimit/limiter.ts";
import { RulesEngine } from "./rules/engine.ts";
import { startDigestWorker } from "./worker/digest-worker.ts";
import { startInboundWorker } from "./worker/inbound-worker.ts";
import { startOutboundWorker } from "./worker/outbound-worker.ts";
import { startTokenWorker } from "./worker/token-worker.ts";
import { startWakeWorker } from "./worker/wake-worker.ts";

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

    // The outbound path: one limiter and one gateway per process, shared by every caller.
    const limiter = new OutboundLimiter({
      ...(redis ? { redis } : {}),
      limits: config.rateLimits,
      guardMs: config.rateLimitGuardMs,
      processes: config.outboundWorkers,
      log,
    });
    cleanups.push(async () => limiter.dispose());
    const cipher = config.tokenEncryptionKeys
      ? TokenCipher.fromConfig(config.tokenEncryptionKeys)
      : undefined;
    const adapters = new Map<ChatPlatform, ChatAdapter>();
    const fileSources = new Map<ChatPlatform, FileSource>();
    const gateway = new InstagramGateway({
      db,
      graph: new GraphClient({ baseUrl: config.instagram.graphUrl, apiVersion: config.instagram.apiVersion }),
      limiter,
      cipher,
      log,
      metrics,
      onTokenInvalid: (account) => alertOwners(db, adapters, account, log),
    });
    const mirror = new Mirror({
      db,
      adapters,
      gateway,
      log,
      metrics,
      humanAgent: config.instagram.humanAgent,
      refreshMs: config.profileRefreshHours * 3_600_000,
    });
    // Rules run in the worker; the web role's inbox uses the same engine for /ig rules test.
    const rules = new RulesEngine({ db, boss, gateway, adapters, log });
    const digests = new DigestService({ db, adapters, config, log });
    const inbox = new Inbox({
      digests,
      rules,
      db,
      boss,
      adapters,
      gateway,
      mirror,
      log,
      humanAgent: config.instagram.humanAgent,
      admins: config.admins,
    });
    const chatRouters = [];
    for (const { descriptor, settings } of config.platforms) {
      const name = descriptor.name;
      const runtime = await descriptor.create(settings, {
        log,
        inbox,
        adminGroups: config.admins.filter((a) => a.platform === name && a.kind === "group").map((a) => a.id),
      });
      adapters.set(name, runtime.adapter);
      if (runtime.files) fileSources.set(name, runtime.files);
      if (runtime.router) chatRouters.push(runtime.router);
      if (runtime.close) cleanups.push(() => runtime.close?.() ?? Promise.resolve());
      const leader = runtime.leader;
      if (leader && roles.worker) {
        // Leader work (a gateway connection) runs in one replica at a time; a new leader catches
        // up from a little before the moment the previous one last held the lock.
        const interval = config.leaderIntervalMs;
        const election = new LeaderElection({
          db,
          role: leader.role,
          log,
          intervalMs: interval,
          onGain: (previous) =>
            leader.connect(previous ? new Date(previous.getTime() - 2 * interval) : undefined),
          onLose: () => leader.disconnect(),
        });
        election.start();
        cleanups.push(() => election.stop());
      }
    }
    const links = new AgentFileLinks(
      config.tokenEncryptionKeys ?? config.instagram.appSecrets[0] ?? "threadbridge",
      config.publicUrl,
    );

    if (roles.worker) {
      const bridge = new Bridge({
        db,
        log,
        mirror,
        rules,
        echoGraceMs: config.echoGraceMs,
        consentWords: consentWords(config.consentWords.stop, config.consentWords.start),
      });
      await startInboundWorker({
        db,
        boss,
        bridge,
        log,
        metrics,
        concurrency: config.inbound.concurrency,
        pollingIntervalSeconds: config.inbound.pollSeconds,
      });
      const sender = new OutboundSender({
        db,
        gateway,
        adapters,
        mirror,
        log,
        metrics,
        humanAgent: config.instagram.humanAgent,
        fileUrl: (platform, file) => links.url(platform, file),
        echoGraceMs: config.echoGraceMs,
      });
      await startOutboundWorker({
        boss,
        sender,
        log,
        concurrency: config.outboundConcurrency,
        pollingIntervalSeconds: config.inbound.pollSeconds,
      });
      await startWakeWorker({ db, boss, mirror, adapters, log });
      await startDigestWorker({
        db,
        boss,
        digests,
        sla: { db, adapters, config, log },
        config: config.digest,
        log,
      });
      if (cipher)
        await startTokenWorker({
          db,
          boss,
          graph: gateway.unmetered,
          cipher,
          log,
          metrics,
          refreshDays: config.tokenRefreshDays,
          alert: (account, alert) => alertOwners(db, adapters, account, log, alert),
        });
      const eraseAccountAndMirrors = (account: string) =>
        eraseAccount(db, adapters, account, (item, err) =>
          log.warn(
            {
              account,
              platform: item.platform,
              channel: item.ref.channel,
              thread: item.ref.thread,
              err: err instanceof Error ? err.message : String(err),
            },
            "an erased account's chat thread could not be deleted",
          ),
        );
      await boss.work<ErasureJob>(ERASURE_QUEUE, async (jobs) => {
        for (const job of jobs) {
          const { rows } = await db.query<{ account_id: string | null }>(
            "SELECT account_id FROM data_requests WHERE code = $1 AND status = 'pending'",
            [job.data.code],
          );
          const account = rows[0]?.account_id;
          if (!account) continue;
          const counts = await eraseAccountAndMirrors(account);
          await db.transaction(async (tx) => {
            await tx.query(
              "UPDATE data_requests SET status = 'completed', counts = $2, account_id = NULL, completed_at = now() WHERE code = $1",
              [job.data.code, JSON.stringify(counts)],
            );
            await recordAudit(tx, {
              actor: { kind: "system", id: "meta" },
              account,
              action: "data_deletion_completed",
              target: `request:${job.data.code}`,
              details: { ...counts },
            });
          });
          log.info({ code: job.data.code, counts }, "account data erased on Meta's request");
        }
      });
      // Daily at 03:17 UTC; schedules are kept in Postgres, so replicas share one.
      await boss.schedule(RETENTION_QUEUE, "17 3 * * *", {});
      await boss.work(RETENTION_QUEUE, async () => {
        const purged = await purgeExpired(db, config.retention, eraseAccountAndMirrors);
        const jobs = await purgeCompletedJobs(db, boss);
        log.info({ ...purged, completedJobs: jobs, policy: config.retention }, "retention purge done");
      });
      log.info(
        { concurrency: config.inbound.concurrency, outbound: config.outboundConcurrency },
        "worker started",
      );
    }

    let url: string | undefined;
    // The web role serves everything; a worker-only process serves health and metrics on
    // METRICS_PORT when one is given, so its job metrics can be scraped too.
    const port = roles.web ? config.port : config.metricsPort;
    if (port !== undefined) {
      const app = createHttpApp({
        log,
        metrics,
        readiness: readinessCheck(db, boss, redis, limiter, metrics),
        trustProxy: config.trustProxy,
        metricsToken: config.metricsToken,
        routers: roles.web
          ? [
              ...chatRouters,
              agentFilesRouter(links, fileSources, log),
              metaCallbacksRouter({
                db,
                boss,
                appSecrets: config.instagram.appSecrets,
                publicUrl: config.publicUrl,
                log,
                onDeauthorized: (account) =>
                  alertOwners(db, adapters, account, log, { kind: "deauthorized" }),
              }),
              webhookRouter({
                ingest: new IngestBatcher((records) => storeInbound(db, boss, records)),
                log,
                metrics,
                verifyToken: config.instagram.verifyToken,
                appSecrets: config.instagram.appSecrets,
                maxBody: config.webhookMaxBody,
              }),
              consoleRouter({ db, boss, cipher, gateway, adapters, config, log }),
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

/**
 * startService, tried again while Postgres cannot be reached (restarting, or not up yet): a process
 * started during a database restart waits for it instead of exiting. After about a minute the
 * error stands and the process exits, which is the process manager's turn.
 */
export function startServiceWhenReachable(config: Config, roles: Roles, log: Logger): Promise<Service> {
  return pRetry(() => startService(config, roles, log), {
    retries: 8,
    minTimeout: 500,
    maxTimeout: 15_000,
    shouldRetry: (err) => transientDatabaseError(err),
    onFailedAttempt: (err) =>
      log.warn(
        { err: err.message, attempt: err.attemptNumber, retriesLeft: err.retriesLeft },
        "database not reachable at start-up; trying again",
      ),
  });
}

function readinessCheck(
  db: Database,
  boss: PgBoss,
  redis: Redis | undefined,
  limiter: OutboundLimiter,
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
      return {
        outbound: {
          paused: { global: p.global !== undefined, accounts: p.accounts.map((a) => a.account) },
          queue,
        },
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
