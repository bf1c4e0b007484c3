import { type Command, InvalidArgumentError } from "commander";
import type { PgBoss } from "pg-boss";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { BackfillError } from "../ingest/backfill-error.ts";
import type { Logger } from "../log/logger.ts";

// `threadbridge accounts backfill ACCOUNT [--since 7d]` (and `threadbridge backfill --account ID`,
// the operating interface's name): recover an account's recent messages through the
// Conversations API, here and now, under the same shared rate limiter as the service's workers
// (through Redis when REDIS_URL is set). The stored events are mirrored by the workers, in order.

type WithQueue = <T>(
  fn: (db: Database, boss: PgBoss, config: Config, log: Logger) => Promise<T>,
) => Promise<T>;

const SPAN = /^(\d{1,4})([hd])$/;

/** "7d", "36h" → milliseconds (at most 90 days: the API details recent messages only). */
export function backfillSpan(text: string): number {
  const m = SPAN.exec(text);
  const ms = m ? Number(m[1]) * (m[2] === "d" ? 86_400_000 : 3_600_000) : 0;
  if (!m || ms <= 0 || ms > 90 * 86_400_000)
    throw new InvalidArgumentError("expected hours or days, like 36h or 7d (at most 90d)");
  return ms;
}

async function run(withQueue: WithQueue, account: string, sinceMs: number): Promise<void> {
  if (!/^\d{1,32}$/.test(account)) throw new InvalidArgumentError(`not an Instagram user id: ${account}`);
  // Loaded when a backfill runs, not with the CLI (the gateway, the limiter and the metrics
  // registry are about 200 modules).
  const [
    { backfillAccount },
    { GraphClient },
    { TokenCipher },
    { Metrics },
    { InstagramGateway },
    { OutboundLimiter },
  ] = await Promise.all([
    import("../ingest/backfill.ts"),
    import("../instagram/graph-client.ts"),
    import("../instagram/token-cipher.ts"),
    import("../observability/metrics.ts"),
    import("../outbound/instagram-gateway.ts"),
    import("../ratelimit/limiter.ts"),
  ]);
  const result = await withQueue(async (db, boss, config, log) => {
    const { rows } = await db.query(
      "SELECT 1 FROM instagram_accounts WHERE id = $1 AND status <> 'unconfigured'",
      [account],
    );
    if (rows.length === 0) throw new BackfillError(`no account ${account} (see \`accounts list\`)`);
    let redis: import("ioredis").Redis | undefined;
    if (config.redisUrl) {
      const { Redis } = await import("ioredis");
      redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
    }
    const limiter = new OutboundLimiter({
      ...(redis ? { redis } : {}),
      limits: config.rateLimits,
      guardMs: config.rateLimitGuardMs,
      processes: config.outboundWorkers,
      log,
    });
    try {
      const gateway = new InstagramGateway({
        db,
        graph: new GraphClient({
          baseUrl: config.instagram.graphUrl,
          apiVersion: config.instagram.apiVersion,
        }),
        limiter,
        cipher: config.tokenEncryptionKeys ? TokenCipher.fromConfig(config.tokenEncryptionKeys) : undefined,
        log,
        metrics: new Metrics(),
      });
      return await backfillAccount({ db, boss, gateway, log }, account, new Date(Date.now() - sinceMs));
    } finally {
      await limiter.dispose();
      redis?.disconnect();
    }
  });
  process.stdout.write(
    `backfill of ${account}: ${result.conversations} conversation(s) read, ${result.found} message(s) found, ${result.stored} new (queued for the threads), ${result.known} already known\n`,
  );
}

export function registerBackfillCommand(program: Command, accounts: Command, withQueue: WithQueue): void {
  accounts
    .command("backfill")
    .description("recover an account's recent messages through the Conversations API (never doubled)")
    .argument("<id>", "the account's Instagram user id")
    .option("--since <span>", "how far back: hours or days, like 36h or 7d (default 7d)", backfillSpan)
    .action(async (id: string, opts: { since?: number }) => run(withQueue, id, opts.since ?? 7 * 86_400_000));
  program
    .command("backfill")
    .description("the same as `accounts backfill ID`")
    .requiredOption("--account <id>", "the account's Instagram user id")
    .option("--since <span>", "how far back: hours or days, like 36h or 7d (default 7d)", backfillSpan)
    .action(async (opts: { account: string; since?: number }) =>
      run(withQueue, opts.account, opts.since ?? 7 * 86_400_000),
    );
}
