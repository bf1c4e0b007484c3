import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import pRetry from "p-retry";
import type { PgBoss } from "pg-boss";
import type { ChatAdapter, ChatPlatform, FileSource, MemberDirectory } from "./chat/chat-port.ts";
import type { ConsolePage, StoredCopies } from "./chat/platform.ts";
import { Inbox } from "./commands/inbox.ts";
import type { Config } from "./config/config.ts";
import { Ownership } from "./conversations/ownership.ts";
import { Timers } from "./conversations/timers.ts";
import { transientDatabaseError } from "./db/after-outside-call.ts";
import { type Database, openDatabase } from "./db/database.ts";
import { serveEmbeddedSocket } from "./db/embedded-socket.ts";
import { migrate, pendingMigrations } from "./db/migrate.ts";
import { DigestService } from "./digest/digest-service.ts";
import { ChatHealth } from "./health/chat-health.ts";
import { SilenceWatch } from "./health/webhook-silence.ts";
import { AgentFileLinks, agentFilesRouter } from "./http/agent-files.ts";
import { createHttpApp } from "./http/app.ts";
import { consoleGate } from "./http/console/gate.ts";
import { setPlatformPages } from "./http/console/layout.ts";
import { consoleRouter } from "./http/console/routes.ts";
import { metaCallbacksRouter } from "./http/meta-callbacks.ts";
import { readinessCheck } from "./http/readiness.ts";
import { WEBHOOK_PATH, webhookRouter } from "./http/webhooks.ts";
import { queueBackfill } from "./ingest/backfill.ts";
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
import { OutboundSender } from "./outbound/send-worker.ts";
import { consentWords } from "./privacy/consent.ts";
import { startBoss, WAKE_QUEUE, type WakeJob } from "./queue/boss.ts";
import { JobBell } from "./queue/job-bell.ts";
import { stopWork } from "./queue/work-slots.ts";
import { OutboundLimiter } from "./ratelimit/limiter.ts";
import { RulesEngine } from "./rules/engine.ts";
import { ruleSnippets } from "./snippets/values.ts";
import { tracedAdapter, tracedInbox } from "./tracing/chat-spans.ts";
import { tracingOn } from "./tracing/spans.ts";
import { startBackfillWorker } from "./worker/backfill-worker.ts";
import { startDigestWorker } from "./worker/digest-worker.ts";
import { accountEraser, startErasureWorker } from "./worker/erasure-worker.ts";
import { startInboundWorker } from "./worker/inbound-worker.ts";
import { startOutboundWorker } from "./worker/outbound-worker.ts";
import { startRetentionWorker } from "./worker/retention-worker.ts";
import { startTimerWorker } from "./worker/timer-worker.ts";
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
  const db = await openDatabase(config.database, "service", { log });
  const cleanups: Array<() => Promise<unknown>> = [() => db.close()];
  const stop = async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((err: unknown) => log.error({ err }, "stop step failed"));
  };
  try {
    // A database already up to date costs one query: knex (and, embedded, its PGlite dialect) is
    // loaded only when there is something to apply.
    if (roles.migrate && (await pendingMigrations(db)).length > 0) {
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
    cleanups.push(async () => {
      // The inbound and outbound job loops are ours (queue/work-slots.ts), not pg-boss's workers:
      // they stop and settle their jobs first, while the pool is still open.
      await stopWork(boss, { timeoutMs: 10_000 });
      await boss.stop({ graceful: true, timeout: 10_000 });
    });

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
    // Filled as platforms start, like `adapters`: the groups' members automatic assignment reads.
    const directories = new Map<string, MemberDirectory>();
    const ownership = new Ownership({ db, directories, log, humanAgent: config.instagram.humanAgent });
    const mirror = new Mirror({
      db,
      adapters,
      assignNew: (account, owned, platform, channel) =>
        ownership.assignNew(account, owned, platform, channel),
      gateway,
      log,
      metrics,
      humanAgent: config.instagram.humanAgent,
      refreshMs: config.profileRefreshHours * 3_600_000,
      ...(config.instagram.appId ? { appId: config.instagram.appId } : {}),
      appNames: config.appNames,
      scheduleStoryExpiry: async (id, at) => {
        await boss.send(WAKE_QUEUE, { table: "messages", id } satisfies WakeJob, { startAfter: at });
      },
    });
    // Rules run in the worker; the web role's inbox uses the same engine for /ig rules test.
    const rules = new RulesEngine({ db, boss, gateway, adapters, log, snippets: ruleSnippets });
    const digests = new DigestService({ db, adapters, config, log });
    // Filled as the platforms are made below (the inbox is handed to them first).
    const storedCopies = new Map<ChatPlatform, StoredCopies>();
    const timers = new Timers({
      db,
      boss,
      mirror,
      adapters,
      humanAgent: config.instagram.humanAgent,
      onDuty: config.sla.onDuty,
      log,
    });
    const inbox = new Inbox({
      timers,
      copies: storedCopies,
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
      ownership,
    });
    const chatRouters = [];
    const consolePages: ConsolePage[] = [];
    const hangUps: (() => void)[] = [];

    const gate = consoleGate(config, db, log);
    for (const { descriptor, settings } of config.platforms) {
      const name = descriptor.name;
      const runtime = await descriptor.create(settings, {
        log,
        // With traces on, every call between the core and the platform is a span (tracing/).
        inbox: tracingOn() ? tracedInbox(inbox) : inbox,
        adminGroups: config.admins.filter((a) => a.platform === name && a.kind === "group").map((a) => a.id),
        roles: { web: roles.web, worker: roles.worker },
        db,
        console: gate,
        publicUrl: config.publicUrl,
      });
      adapters.set(name, tracingOn() ? tracedAdapter(runtime.adapter) : runtime.adapter);
      if (runtime.files) fileSources.set(name, runtime.files);
      if (runtime.members) directories.set(name, runtime.members);
      if (runtime.router) chatRouters.push(runtime.router);
      consolePages.push(...(runtime.consolePages ?? []));
      if (runtime.hangUp) hangUps.push(runtime.hangUp);
      if (runtime.stored) storedCopies.set(name, runtime.stored);
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
    setPlatformPages(consolePages);
    // Each configured platform and routed channel is checked now and every CHAT_CHECK_SECONDS; a
    // worker also rechecks held destinations and lets their mirror work go.
    const chatHealth = new ChatHealth({
      db,
      platforms: config.platforms,
      log,
      metrics,
      intervalMs: config.chatCheckMs,
      ...(roles.worker ? { boss } : {}),
    });
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
        ...(config.instagram.appId ? { appId: config.instagram.appId } : {}),
        timers,
      });
      // One LISTEN for both job loops of this process (closed before they stop: a draining loop
      // fetches nothing new).
      const bell = await JobBell.listen(db, log);
      cleanups.push(() => bell.close());
      await startInboundWorker({
        bell,
        db,
        boss,
        bridge,
        log,
        metrics,
        concurrency: config.inbound.concurrency,
        pollingIntervalSeconds: config.inbound.pollSeconds,
        holdRecheckMs: config.chatCheckMs,
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
        appNames: config.appNames,
      });
      await startOutboundWorker({
        bell,
        boss,
        db,
        sender,
        actions: { db, gateway, log },
        log,
        concurrency: config.outboundConcurrency,
        pollingIntervalSeconds: config.inbound.pollSeconds,
      });
      // Jobs made runnable by the clock (a snooze's end, a timer) run within the idle poll.
      const pollingIntervalSeconds = config.inbound.pollSeconds;
      await startWakeWorker({ db, boss, mirror, adapters, log, pollingIntervalSeconds });
      await startTimerWorker({ boss, timers, log, pollingIntervalSeconds });
      await startBackfillWorker({ db, boss, gateway, log });
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
      // Meta's erasure requests and the retention pass's deauthorized accounts erase alike.
      const erase = accountEraser(db, adapters, log);
      await startErasureWorker({ db, boss, erase, log });
      await startRetentionWorker({
        db,
        boss,
        policy: config.retention,
        erase,
        copies: [...storedCopies.values()],
        log,
      });
      log.info(
        { concurrency: config.inbound.concurrency, outbound: config.outboundConcurrency },
        "worker started",
      );
    }

    chatHealth.start();
    cleanups.push(() => chatHealth.stop());
    if (roles.worker) {
      // Checked as often as the chat destinations; one notice per silence whatever the workers.
      const silence = new SilenceWatch({
        db,
        adapters,
        log,
        minimumMs: config.webhookSilenceMs,
        intervalMs: config.chatCheckMs,
        onSilenceEnded: (account, since) => queueBackfill(boss, account, since),
      });
      silence.start();
      cleanups.push(() => silence.stop());
    }

    let url: string | undefined;
    // The web role serves everything; a worker-only process serves health and metrics on
    // METRICS_PORT when one is given, so its job metrics can be scraped too.
    const port = roles.web ? config.port : config.metricsPort;
    if (port !== undefined) {
      const app = createHttpApp({
        log,
        metrics,
        readiness: readinessCheck(db, boss, redis, limiter, metrics, chatHealth, config.webhookSilenceMs),
        trustProxy: config.trustProxy,
        metricsToken: config.metricsToken,
        selfLoggedPaths: roles.web ? [WEBHOOK_PATH] : [],
        routers: roles.web
          ? [
              // First: Meta's deliveries are most of the traffic, and express tries each router in
              // turn (its paths are its own, so the order changes nothing else).
              webhookRouter({
                ingest: new IngestBatcher((records) => storeInbound(db, records)),
                log,
                metrics,
                verifyToken: config.instagram.verifyToken,
                appSecrets: config.instagram.appSecrets,
                maxBody: config.webhookMaxBody,
              }),
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
      // Run first (cleanups run last to first): open event streams would hold the close up.
      cleanups.push(async () => {
        for (const hangUp of hangUps) hangUp();
      });
      url = `http://localhost:${(server.address() as AddressInfo).port}`;
      log.info(
        { url, publicUrl: config.publicUrl },
        roles.web ? "http listening" : "health and metrics listening",
      );
    }

    // Last, once everything is up: commands beside the service (`threadbridge accounts list` while
    // `npm start` runs on the embedded database) reach it through this socket. Closed first.
    if (db.pglite && config.database.kind === "embedded") {
      const socket = await serveEmbeddedSocket(db.pglite, config.database.dataDir, log);
      if (socket) cleanups.push(() => socket.close());
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
    // p-retry 6 calls this for a failure it will not retry too (a second service on the embedded
    // database): only a retried one is announced as such.
    onFailedAttempt: (err) => {
      if (transientDatabaseError(err))
        log.warn(
          { err: err.message, attempt: err.attemptNumber, retriesLeft: err.retriesLeft },
          "database not reachable at start-up; trying again",
        );
    },
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // In-flight requests finish; idle keep-alive sockets are closed so shutdown does not wait on them.
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5_000).unref();
  });
}
