import { readFileSync } from "node:fs";
import path from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { recordAudit } from "./audit/audit-log.ts";
import { chatKey } from "./chat/ids.ts";
import type { PlatformDescriptor } from "./chat/platform.ts";
import { channelProblem, checkPlatforms, platformNamed } from "./chat/platforms.ts";
import { registerAuditCommand } from "./cli/audit-command.ts";
import { registerBackfillCommand } from "./cli/backfill-command.ts";
import { registerConsoleCommand } from "./cli/console-command.ts";
import { registerDigestCommand } from "./cli/digest-command.ts";
import { registerDoctorCommand } from "./cli/doctor-command.ts";
import { ProfileFileInvalid, registerProfileCommand } from "./cli/profile-command.ts";
import { registerSnippetsCommand, SnippetFileInvalid } from "./cli/snippets-command.ts";
import { formatTable } from "./cli/table.ts";
import { registerRefreshTokensCommand, tokenOption, tokenState } from "./cli/token-commands.ts";
import type { Config } from "./config/config.ts";
import { describeEnvFile, type EnvFile, loadEnvFile } from "./config/env-file.ts";
import { ConfigError } from "./config/env-schema.ts";
import type { Defaulted } from "./config/local-secrets.ts";
import type { AssignMode, OwnershipSettings } from "./conversations/ownership.ts";
import {
  formatSeconds,
  parseTimerSetting,
  type TimerSettings,
  timerSettings,
} from "./conversations/timer-settings.ts";
import type { Database } from "./db/database.ts";
import { DatabaseLockedError, SchemaBehindError } from "./db/errors.ts";
import { DemoRefused, realInstagramCredentials } from "./demo/credentials.ts";
import { BackfillError } from "./ingest/backfill-error.ts";
import {
  addAccount,
  type ChatDestination,
  listAccounts,
  removeAccount,
  rotateKeys,
  routeAccount,
} from "./instagram/accounts.ts";
import { sign } from "./instagram/signature.ts";
import { TokenCipher, TokenCipherError } from "./instagram/token-cipher.ts";
import type { Logger } from "./log/logger.ts";
import { PACKAGE_VERSION } from "./observability/build-info.ts";
import { type PauseScope, pause, pauses, resume } from "./outbound/pause.ts";
import {
  DEFAULT_DISCLOSURE,
  DEFAULT_DISCLOSURE_LAPSE_MINUTES,
  DEFAULT_LANGUAGE_KEY,
  disclosureSettings,
} from "./rules/disclosure.ts";
import { LANGUAGE_TAG } from "./rules/language-tag.ts";
import { importRules, listRules, setRuleEnabled } from "./rules/store.ts";
import type { Roles } from "./service.ts";

// Commander's definitions and a few small modules (no driver, no SDK) are all this module loads:
// each action imports what it runs when it runs, so `--help`, a usage error or a command that needs
// no database starts in a fraction of the time the whole service takes to load (bench/README.md,
// Start and CLI).

class UsageError extends Error {}

const AND = new Intl.ListFormat("en", { type: "conjunction" });

/** The chat platforms of this build, as `main` was given them (adapters/index.ts). */
let platforms: readonly PlatformDescriptor[] = [];

/** The `.env` `main` read into the environment, if there was one. */
let envFile: EnvFile | undefined;

/** What nearly every action needs to read its configuration, loaded once before the first action
 * runs (the `preAction` hook below), never for `--help`. */
let base:
  | {
      loadConfig: typeof import("./config/config.ts").loadConfig;
      withLocalSecrets: typeof import("./config/local-secrets.ts").withLocalSecrets;
      readLocalSecrets: typeof import("./config/local-secrets.ts").readLocalSecrets;
      createLogger: typeof import("./log/logger.ts").createLogger;
      routeProcessWarnings: typeof import("./log/logger.ts").routeProcessWarnings;
    }
  | undefined;

async function loadBase(): Promise<NonNullable<typeof base>> {
  const [config, secrets, logger] = await Promise.all([
    import("./config/config.ts"),
    import("./config/local-secrets.ts"),
    import("./log/logger.ts"),
  ]);
  return {
    loadConfig: config.loadConfig,
    withLocalSecrets: secrets.withLocalSecrets,
    readLocalSecrets: secrets.readLocalSecrets,
    createLogger: logger.createLogger,
    routeProcessWarnings: logger.routeProcessWarnings,
  };
}

function loaded(): NonNullable<typeof base> {
  if (!base) throw new Error("the CLI's configuration modules were not loaded before the action");
  return base;
}

/** The logger of a service role (start, web, worker, migrate) once it has one: a failure that ends
 * the process is then one JSON line through it, like everything else the service says. */
let serviceLog: Logger | undefined;

/**
 * The configuration and a logger. A service role logs to standard output (JSON, or pretty at a
 * terminal); a one-off command logs to standard error, so its own output (`--json` included)
 * stays clean. Either way Node's process warnings (a library's deprecation notice) go through the
 * logger instead of onto stderr as raw text.
 */
function settings(kind: "service" | "command" = "command"): {
  config: Config;
  log: Logger;
  defaulted: Defaulted;
} {
  const { loadConfig, withLocalSecrets, createLogger, routeProcessWarnings } = loaded();
  const { config, defaulted } = withLocalSecrets(loadConfig(process.env, platforms));
  const log = createLogger(config.logLevel, {
    redactHeaders: platforms.flatMap((p) => p.secretHeaders ?? []),
    stderr: kind === "command",
  });
  routeProcessWarnings(log);
  if (kind === "service") serviceLog = log;
  return { config, log, defaulted };
}

/** How long the start-up line waits for a chat platform's answer. */
const STARTUP_CHECK_MS = 5_000;

async function run(roles: Roles): Promise<void> {
  const { config, log, defaulted } = settings("service");
  const [{ checkPlatformAuth }, { describeConfiguration }] = await Promise.all([
    import("./health/chat-health.ts"),
    import("./startup-summary.ts"),
  ]);
  // The start-up line says whether each platform works, not only whether it is configured.
  const chat = await checkPlatformAuth(config.platforms, log, STARTUP_CHECK_MS);
  const notes = describeConfiguration(config, defaulted, chat);
  for (const line of envFile ? [describeEnvFile(envFile), ...notes] : notes) log.info(line);
  // Before the service is built: the spans of its first requests and jobs need the SDK in place.
  const role = roles.web && roles.worker ? "start" : roles.web ? "web" : "worker";
  const tracing = config.tracing
    ? await (await import("./tracing/tracing.ts")).startTracing(
        { ...config.tracing, version: PACKAGE_VERSION },
        role,
        log,
      )
    : undefined;
  const { startServiceWhenReachable } = await import("./service.ts");
  const service = await startServiceWhenReachable(config, roles, log);
  const { settleHeapAfterStart } = await import("./observability/settle-heap.ts");
  settleHeapAfterStart();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    service
      .stop()
      // The spans of the last requests and jobs are sent before the process goes.
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

/**
 * Brings the schema up to date for a one-off command. A command that only reads never migrates: it
 * refuses with one line when the schema is behind this version, since migrating is the operator's
 * step (`threadbridge migrate`, the Procfile's release phase) and a read must not change the
 * database. A command that writes migrates when the schema is behind, as it always has; either way
 * an up-to-date database costs one query, not a migration run.
 */
async function prepareSchema(db: Database, access: "read" | "write"): Promise<void> {
  const { pendingMigrations, migrate } = await import("./db/migrate.ts");
  const pending = await pendingMigrations(db);
  if (pending.length === 0) return;
  if (access === "write") {
    await migrate(db);
    return;
  }
  throw new SchemaBehindError(
    `the database schema is behind this version (${pending.length} migration${pending.length === 1 ? "" : "s"} not applied, the first ${pending[0]}): run \`threadbridge migrate\` first`,
  );
}

async function openConfigured(config: Config, log: Logger): Promise<Database> {
  const { openDatabase } = await import("./db/database.ts");
  return openDatabase(config.database, "command", { log });
}

/** Opens the database and pg-boss for a one-off command, and closes both afterwards. */
async function withQueue<T>(fn: (db: Database, boss: import("pg-boss").PgBoss) => Promise<T>): Promise<T> {
  const { config, log } = settings();
  const db = await openConfigured(config, log);
  try {
    await prepareSchema(db, "write");
    const { startBoss } = await import("./queue/boss.ts");
    const boss = await startBoss(db, log, {
      retryLimit: config.inbound.retryLimit,
      expireSeconds: config.inbound.expireSeconds,
      superviseSeconds: config.inbound.superviseSeconds,
      supervise: false,
    });
    try {
      return await fn(db, boss);
    } finally {
      await boss.stop({ graceful: false });
    }
  } finally {
    await db.close();
  }
}

function eventIds(ids: string[], all: boolean): number[] | "all" {
  if (all) return "all";
  if (ids.length === 0) throw new UsageError("name the event ids to act on, or pass --all");
  return ids.map((id) => {
    if (!/^\d+$/.test(id))
      throw new UsageError(`not an event id: ${id} (ids are whole numbers, see \`dlq list\`)`);
    return Number(id);
  });
}

const program = new Command("threadbridge")
  .description("Instagram DMs and comments mirrored into chat threads")
  .version(PACKAGE_VERSION, "-V, --version", "print the version")
  .showHelpAfterError()
  // Commander's own usage errors (bad options, missing arguments) exit 64 like ours, not 1.
  .exitOverride()
  // Runs before any command's action (never for help or a usage error).
  .hook("preAction", async () => {
    base ??= await loadBase();
  });

program
  .command("start")
  .description("the whole service in one process: migrations, web and worker")
  .action(() => run({ web: true, worker: true, migrate: true }));
program
  .command("web")
  .description("the HTTP role only: webhooks, health, metrics")
  .action(() => run({ web: true, worker: false, migrate: false }));
program
  .command("worker")
  .description("the job role only: inbound events and queue maintenance")
  .action(() => run({ web: false, worker: true, migrate: false }));
program
  .command("migrate")
  .description("apply database migrations and exit (the Procfile's release phase)")
  .action(async () => {
    const { config, log } = settings("service");
    const db = await openConfigured(config, log);
    try {
      const { migrate } = await import("./db/migrate.ts");
      const applied = await migrate(db);
      log.info(
        applied.length ? { migrations: applied } : {},
        applied.length ? "migrated" : "database is up to date",
      );
    } finally {
      await db.close();
    }
  });

program
  .command("demo")
  .description(
    "the whole loop on this machine, no account needed: a simulated Instagram, a DEMO account, the web inbox",
  )
  .action(async () => {
    const real = realInstagramCredentials(process.env);
    if (real.length > 0)
      throw new DemoRefused(
        `the demo does not run where a real Instagram app is configured (${real.join(", ")} set, in the environment or ./.env): run it with those unset, from a directory without that .env`,
      );
    const platform = platforms.find((p) => p.demo);
    if (!platform?.demo) throw new DemoRefused("no chat platform of this build can run the demo");
    const { runDemo } = await import("./demo.ts");
    await runDemo({
      env: process.env,
      platform: { ...platform, demo: platform.demo },
      platforms,
      out: (line) => process.stdout.write(`${line}\n`),
    });
  });

program
  .command("replay")
  .description("sign a webhook payload with the app secret and POST it to a running service")
  .argument("<file>", "a JSON webhook body, e.g. test/fixtures/webhooks/dm-text.json")
  .option("--url <url>", "the service's webhook URL (default: http://localhost:$PORT/webhooks/instagram)")
  .action(async (file: string, opts: { url?: string }) => {
    const { loadConfig, readLocalSecrets } = loaded();
    const config = loadConfig(process.env, platforms);
    let body: Buffer;
    try {
      body = readFileSync(file);
      JSON.parse(body.toString("utf8"));
    } catch (err) {
      throw new UsageError(`${file}: ${(err as Error).message}`);
    }
    const secret = config.instagram.appSecrets[0] ?? readLocalSecrets(config.dataDir)?.webhookSecret;
    if (!secret)
      throw new UsageError("no secret to sign with: set IG_APP_SECRET (or start the embedded service once)");
    const url = opts.url ?? `http://localhost:${config.port}/webhooks/instagram`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, secret) },
        body: new Uint8Array(body),
      });
    } catch (err) {
      throw new UsageError(
        `could not reach ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
      );
    }
    const text = await res.text();
    process.stdout.write(`${res.status} ${text}\n`);
    if (!res.ok) process.exitCode = 1;
  });

const dlq = program.command("dlq").description("inbound events that failed past their retries");
dlq
  .command("list")
  .description("list dead events")
  .option("--json", "print JSON")
  .action(async (opts: { json?: boolean }) => {
    const { listDeadLetters } = await import("./queue/dead-letters.ts");
    // Reading the dead letters needs the table, not the queue: pg-boss is not started.
    const dead = await withDatabase((db) => listDeadLetters(db), "read");
    if (opts.json) process.stdout.write(`${JSON.stringify(dead, null, 2)}\n`);
    else if (dead.length === 0) process.stdout.write("no dead events\n");
    else
      for (const d of dead)
        process.stdout.write(
          `${d.id}\t${d.accountId}\t${d.kind}\t${d.threadKey}\tattempts=${d.attempts}\t${d.receivedAt.toISOString()}\t${d.lastError ?? ""}\n`,
        );
  });
const dlqActions = [
  ["replay", "replayed", "queue dead events again, in their thread's order", "replayDeadLetters"],
  ["discard", "discarded", "give up on dead events so their threads move on", "discardDeadLetters"],
] as const;
for (const [name, done, description, action] of dlqActions) {
  dlq
    .command(name)
    .description(description)
    .argument("[ids...]", "event ids from `dlq list`")
    .option("--all", "every dead event")
    .action(async (ids: string[], opts: { all?: boolean }) => {
      const which = eventIds(ids, Boolean(opts.all));
      const act = (await import("./queue/dead-letters.ts"))[action];
      await withQueue(async (db, boss) => {
        const acted = await act(db, boss, which);
        process.stdout.write(
          `${done} ${acted.length} event(s)${acted.length ? `: ${acted.join(", ")}` : ""}\n`,
        );
      });
    });
}

/** An operator's change to an account, for the audit trail; true so it can end a `&&` chain. */
async function auditOperator(
  db: Database,
  account: string,
  action: string,
  details: Record<string, unknown> = {},
): Promise<true> {
  await recordAudit(db, { actor: { kind: "operator", id: operator() }, account, action, details });
  return true;
}

function operator(): string {
  return `cli:${process.env.USER ?? "operator"}`;
}

/** Opens the database for a one-off command (see prepareSchema for `access`), and closes it
 * afterwards. */
async function withDatabase<T>(
  fn: (db: Database, config: Config) => Promise<T>,
  access: "read" | "write" = "write",
): Promise<T> {
  const { config, log } = settings();
  const db = await openConfigured(config, log);
  try {
    await prepareSchema(db, access);
    return await fn(db, config);
  } finally {
    await db.close();
  }
}

/** `--chat PLATFORM --channel ID`, `--<platform>-channel ID` for each platform, `--digest-channel`;
 * commander's option values by attribute name. */
interface DestinationOptions {
  chat?: string;
  channel?: string;
  digestChannel?: string;
  /** `slackChannel`, …: one per platform. */
  [option: string]: unknown;
}

/** Where an account's threads go, from whichever destination options `accounts add` or `route` got
 * (exactly one), each channel id checked against its platform's format. */
function destination(opts: DestinationOptions): ChatDestination {
  const perPlatform = platforms.map((p) => ({ option: platformChannelOption(p), platform: p }));
  const given: Array<{ flag: string; platform: PlatformDescriptor; channel: string }> = [];
  if (opts.chat !== undefined || opts.channel !== undefined) {
    if (opts.chat === undefined || opts.channel === undefined)
      throw new UsageError("--chat and --channel go together: --chat PLATFORM --channel ID");
    const platform = platformNamed(platforms, opts.chat);
    if (!platform)
      throw new UsageError(
        `--chat: no chat platform ${opts.chat} (one of ${platforms.map((p) => p.name).join(", ")})`,
      );
    given.push({ flag: "--channel", platform, channel: opts.channel });
  }
  for (const { option, platform } of perPlatform) {
    const channel = opts[option.attributeName()];
    if (typeof channel === "string") given.push({ flag: option.long ?? "", platform, channel });
  }
  const flags = perPlatform.map(({ option }) => option.long).join(" or ");
  if (given.length > 1)
    throw new UsageError(`give exactly one of ${flags}, not both (or --chat PLATFORM --channel ID alone)`);
  const [chosen] = given;
  if (!chosen) throw new UsageError(`give exactly one of ${flags} (or --chat PLATFORM --channel ID)`);
  const wrong = channelProblem(chosen.platform, chosen.channel);
  if (wrong) throw new UsageError(`${chosen.flag}: ${wrong}`);
  if (opts.digestChannel !== undefined) {
    const digestWrong = channelProblem(chosen.platform, opts.digestChannel);
    if (digestWrong) throw new UsageError(`--digest-channel: ${digestWrong}`);
  }
  // Threads routed to a platform this deployment does not run would be recorded and never shown.
  if (!settings().config.platforms.some((p) => p.descriptor === chosen.platform))
    throw new UsageError(
      `${chosen.flag}: ${chosen.platform.label} is not configured here, so nothing would reach that channel: set ${AND.format(chosen.platform.credentials)} first`,
    );
  return { platform: chosen.platform.name, channel: chosen.channel };
}

/** Warns (on standard error) about each channel the bot cannot work in yet; the platform's own
 * probe says why and what to do. Never refuses: the operator may be inviting the bot right now. */
async function warnAboutChannels(chat: ChatDestination, digestChannel: string | undefined): Promise<void> {
  const { config, log } = settings();
  const on = config.platforms.find((p) => p.descriptor.name === chat.platform);
  const probe = on?.descriptor.probe?.(on.settings, { log });
  if (!on || !probe) return;
  const { destinationCheck } = await import("./health/chat-health.ts");
  for (const channel of new Set([chat.channel, ...(digestChannel ? [digestChannel] : [])])) {
    const result = await destinationCheck(probe, channel);
    if (!result.ok)
      process.stderr.write(
        `threadbridge: warning: ${on.descriptor.label} channel ${channel}: ${result.detail}${result.fix ? `. ${result.fix}` : ""}\n`,
      );
  }
}

function platformChannelOption(p: PlatformDescriptor): Option {
  return new Option(`--${p.name}-channel <id>`, `mirror into this ${p.label} channel (${p.channel.example})`);
}

/** The destination options of `accounts add` and `route`, from the list of platforms. */
function destinationOptions(command: Command): void {
  command
    .option("--chat <platform>", `the chat platform: ${platforms.map((p) => p.name).join(", ")}`)
    .option("--channel <id>", "mirror into this channel of --chat");
  for (const p of platforms) command.addOption(platformChannelOption(p));
}

function igUserId(id: string | undefined): string {
  if (!id) throw new UsageError("--ig-user-id is required (the account's Instagram user id)");
  if (!/^\d+$/.test(id)) throw new UsageError(`not an Instagram user id: ${id} (ids are digits)`);
  return id;
}

registerAuditCommand(program, (fn) => withDatabase((db) => fn(db), "read"));
registerDigestCommand(program, (fn) => withDatabase(fn, "read"), withQueue);
registerConsoleCommand(program, {
  withDatabase: (fn, access) => withDatabase((db) => fn(db), access),
  operator,
});
registerDoctorCommand(program, () => settings().config);

const DASHBOARD_TOKEN_DAYS = 60;

const accounts = program.command("accounts").description("the connected Instagram professional accounts");
registerBackfillCommand(program, accounts, (fn) =>
  withQueue((db, boss) => {
    const { config, log } = settings();
    return fn(db, boss, config, log);
  }),
);
const accountsAdd = accounts
  .command("add")
  .description("connect an account (or update one): its access token and where its threads go")
  .option("--ig-user-id <id>", "the account's Instagram user id (digits)")
  .option("--username <name>", "the account's username")
  .option("--token <token>", "its Instagram access token (stored encrypted)")
  .option("--token-stdin", "read the token from standard input instead (out of shell history and ps)")
  .option("--digest-channel <id>", "post the daily digest here")
  .option("--token-expires <days>", `days until the token expires (default ${DASHBOARD_TOKEN_DAYS})`)
  .action(
    async (
      opts: DestinationOptions & {
        igUserId?: string;
        username?: string;
        token?: string;
        tokenStdin?: boolean;
        tokenExpires?: string;
      },
    ) => {
      const id = igUserId(opts.igUserId);
      if (!opts.username) throw new UsageError("--username is required");
      const chat = destination(opts);
      const days = opts.tokenExpires === undefined ? DASHBOARD_TOKEN_DAYS : Number(opts.tokenExpires);
      if (!Number.isFinite(days) || days <= 0)
        throw new UsageError(`--token-expires: expected a positive number of days, got ${opts.tokenExpires}`);
      const { username } = opts;
      const token = await tokenOption(opts);
      const { CONNECT_BACKFILL_MS, queueBackfill } = await import("./ingest/backfill.ts");
      await withQueue(async (db, boss) => {
        const { config } = settings();
        await addAccount(db, TokenCipher.fromConfig(config.tokenEncryptionKeys), {
          igUserId: id,
          username,
          token,
          tokenExpiresAt: new Date(Date.now() + days * 86_400_000),
          chat,
          digestChannel: opts.digestChannel,
        });
        await auditOperator(db, id, "account_added", { destination: chatKey(chat.platform, chat.channel) });
        // (Re)connected: a worker recovers what its webhooks may have missed.
        await queueBackfill(boss, id, new Date(Date.now() - CONNECT_BACKFILL_MS));
      });
      process.stdout.write(`added ${username} (${id}) → ${chatKey(chat.platform, chat.channel)}\n`);
      await warnAboutChannels(chat, opts.digestChannel);
    },
  );
accounts
  .command("list")
  .description("list accounts (never their tokens)")
  .option("--json", "print JSON")
  .action(async (opts: { json?: boolean }) => {
    const all = await withDatabase((db) => listAccounts(db), "read");
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
      return;
    }
    if (all.length === 0) {
      process.stdout.write("no accounts\n");
      return;
    }
    const rows = [
      ["id", "username", "status", "destination", "token expires", "last event", "token"],
      ...all.map((a) => [
        a.id,
        a.username ?? "",
        a.status,
        a.chat
          ? `${chatKey(a.chat.platform, a.chat.channel)}${a.digestChannel ? ` (digest ${a.digestChannel})` : ""}`
          : "none",
        a.tokenExpiresAt && a.hasToken ? a.tokenExpiresAt.toISOString().slice(0, 10) : "none",
        a.lastEventAt ? a.lastEventAt.toISOString() : "never",
        tokenState(a),
      ]),
    ];
    process.stdout.write(formatTable(rows));
  });
registerRefreshTokensCommand(accounts, withQueue);
accounts
  .command("remove")
  .description("disconnect an account: delete its token, keep its history")
  .argument("<id>", "the account's Instagram user id")
  .action(async (id: string) => {
    const found = await withDatabase(
      async (db) =>
        (await removeAccount(db, igUserId(id))) && (await auditOperator(db, id, "account_removed")),
    );
    if (!found) throw new UsageError(`no account ${id} (see \`accounts list\`)`);
    process.stdout.write(`removed ${id}\n`);
  });
const accountsRoute = accounts
  .command("route")
  .description("send an account's threads to another channel")
  .argument("<id>", "the account's Instagram user id")
  .option("--digest-channel <id>", "post the daily digest here")
  .action(async (id: string, opts: DestinationOptions) => {
    const account = igUserId(id);
    const chat = destination(opts);
    const found = await withDatabase(
      async (db) =>
        (await routeAccount(db, account, chat, opts.digestChannel)) &&
        (await auditOperator(db, account, "account_routed", {
          destination: chatKey(chat.platform, chat.channel),
          ...(opts.digestChannel ? { digest: opts.digestChannel } : {}),
        })),
    );
    if (!found) throw new UsageError(`no account ${id} (see \`accounts list\`)`);
    process.stdout.write(`routed ${id} → ${chatKey(chat.platform, chat.channel)}\n`);
    await warnAboutChannels(chat, opts.digestChannel);
  });

accounts
  .command("settings")
  .description(
    "how agents' thread messages reach customers, who is speaking in them, the automation disclosure, and who owns new conversations",
  )
  .argument("<id>", "the account's Instagram user id")
  .option("--note-prefix <text>", "messages starting with it stay in chat (default //)")
  .option(
    "--reply-prefix <text>",
    "with --internal-by-default on, messages starting with it are sent (default >>)",
  )
  .option(
    "--internal-by-default <on|off>",
    "threads are internal unless a message uses the reply prefix or the shortcut",
  )
  .option(
    "--signature <name|brand>",
    "human replies end with a line “— Agent Name” (name), or go out as the brand alone (brand, the default)",
  )
  .option(
    "--disclosure <text>",
    `the line automated messages carry (default “${DEFAULT_DISCLOSURE}”); with --language, for that language; "" with --language removes it`,
  )
  .option("--language <tag>", "the language --disclosure is for (en, es, pt-BR)")
  .option(
    "--assign <off|manual|round-robin|fewest-open>",
    "who owns new conversations: nobody automatically (off, the default); the first agent to reply (manual); or each new one assigned in turn or to whoever has fewest open, among --assign-pool",
  )
  .option(
    "--assign-pool <group>",
    "the group automatic assignment picks from, as the account's chat platform names its groups (a user group or role id; a web inbox: all, admins or agents); see docs/agents.md",
  )
  .option("--assign-cap <n>", "at most this many open conversations per agent (0: no cap)")
  .option(
    "--nudge-before <duration|off>",
    "nudge the assignee (or the on-duty groups) this long before the 24-hour window closes on an unanswered customer (default 2h)",
  )
  .option(
    "--human-agent-nudge-before <duration|off>",
    "nudge again this long before the 7-day human-agent limit (default 12h; with HUMAN_AGENT on)",
  )
  .option(
    "--auto-close-after <duration|off>",
    "close a conversation waiting on the customer after this long without a word from them (default off)",
  )
  .option(
    "--disclosure-lapse <duration>",
    `repeat the disclosure after this long without one (default ${DEFAULT_DISCLOSURE_LAPSE_MINUTES / 60}h; 30m, 24h, 7d)`,
  )
  .action(
    async (
      id: string,
      opts: {
        notePrefix?: string;
        replyPrefix?: string;
        internalByDefault?: string;
        signature?: string;
        disclosure?: string;
        language?: string;
        disclosureLapse?: string;
        assign?: string;
        assignPool?: string;
        assignCap?: string;
        nudgeBefore?: string;
        humanAgentNudgeBefore?: string;
        autoCloseAfter?: string;
      },
    ) => {
      const account = igUserId(id);
      const patch: Record<string, unknown> = {};
      const { ASSIGN_MODES, ownershipSettings } = await import("./conversations/ownership.ts");
      const ownershipChange = ownershipPatch(opts, ASSIGN_MODES);
      if (opts.notePrefix !== undefined) {
        if (opts.notePrefix.trim() === "") throw new UsageError("--note-prefix must not be empty");
        patch.notePrefix = opts.notePrefix.trim();
      }
      if (opts.replyPrefix !== undefined) {
        if (opts.replyPrefix.trim() === "") throw new UsageError("--reply-prefix must not be empty");
        patch.replyPrefix = opts.replyPrefix.trim();
      }
      if (opts.internalByDefault !== undefined) {
        if (!["on", "off"].includes(opts.internalByDefault))
          throw new UsageError(`--internal-by-default takes on or off, not ${opts.internalByDefault}`);
        patch.internalByDefault = opts.internalByDefault === "on";
      }
      if (opts.signature !== undefined) {
        if (!["name", "brand"].includes(opts.signature))
          throw new UsageError(`--signature takes name or brand, not ${opts.signature}`);
        patch.signature = opts.signature;
      }
      const disclosureChange = disclosurePatch(opts);
      const timersChange = timersPatch(opts);
      const settings = await withDatabase(async (db) => {
        const current = await db.query<{ settings: Record<string, unknown>; chat_platform: string | null }>(
          "SELECT settings, chat_platform FROM instagram_accounts WHERE id = $1",
          [account],
        );
        const existing = current.rows[0]?.settings;
        if (!existing) return undefined;
        if (disclosureChange) patch.disclosure = disclosureChange(disclosureSettings(existing));
        if (timersChange) patch.timers = { ...timerSettings(existing), ...timersChange };
        if (ownershipChange) {
          const next = { ...ownershipSettings(existing), ...ownershipChange };
          if (next.mode === "round-robin" || next.mode === "fewest-open")
            if (!next.pool)
              throw new UsageError(`--assign ${next.mode} needs --assign-pool: the group to pick from`);
          const chat = platforms.find((p) => p.name === current.rows[0]?.chat_platform);
          if (
            ownershipChange.pool !== undefined &&
            chat?.poolGroups &&
            !chat.poolGroups.includes(next.pool ?? "")
          )
            throw new UsageError(
              `--assign-pool for ${chat.label} is one of ${chat.poolGroups.join(", ")}, not ${ownershipChange.pool}`,
            );
          if (ownershipChange.cap === 0) delete next.cap;
          patch.ownership = next;
        }
        const { rows } = await db.query<{ settings: Record<string, unknown> }>(
          "UPDATE instagram_accounts SET settings = settings || $2::jsonb, updated_at = now() WHERE id = $1 RETURNING settings",
          [account, JSON.stringify(patch)],
        );
        if (rows[0]) await auditOperator(db, account, "account_settings_changed", patch);
        return rows[0]?.settings;
      });
      if (!settings) throw new UsageError(`no account ${id} (see \`accounts list\`)`);
      const { threadSettings } = await import("./conversations/threads.ts");
      const effective = threadSettings(settings);
      const disclosure = disclosureSettings(settings);
      const texts = Object.entries(disclosure.texts)
        .map(([lang, text]) => `${lang}: “${text}”`)
        .join(", ");
      process.stdout.write(
        `${id}: note prefix ${effective.notePrefix}, reply prefix ${effective.replyPrefix}, internal by default ${effective.internalByDefault ? "on" : "off"}\n` +
          `${id}: signature ${effective.signature}, disclosure ${texts || `default: “${DEFAULT_DISCLOSURE}”`}, repeated after ${formatMinutes(disclosure.lapseMinutes)}\n` +
          `${id}: ${ownershipLine(ownershipSettings(settings))}\n` +
          `${id}: ${timersLine(timerSettings(settings))}\n`,
      );
    },
  );

/** What `--assign`, `--assign-pool` and `--assign-cap` change; undefined when none was given. */
function ownershipPatch(
  opts: {
    assign?: string;
    assignPool?: string;
    assignCap?: string;
  },
  /** ASSIGN_MODES of conversations/ownership.ts, loaded by the action. */
  modes: readonly AssignMode[],
): Partial<OwnershipSettings> | undefined {
  const patch: Partial<OwnershipSettings> = {};
  if (opts.assign !== undefined) {
    if (!modes.includes(opts.assign as AssignMode))
      throw new UsageError(`--assign takes ${modes.join(", ")}, not ${opts.assign}`);
    patch.mode = opts.assign as AssignMode;
  }
  if (opts.assignPool !== undefined) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(opts.assignPool))
      throw new UsageError(`--assign-pool takes a group id (S0123ABCD, a role id), not ${opts.assignPool}`);
    patch.pool = opts.assignPool;
  }
  if (opts.assignCap !== undefined) {
    const cap = Number(opts.assignCap);
    if (!Number.isInteger(cap) || cap < 0 || cap > 10_000)
      throw new UsageError(
        `--assign-cap takes a whole number from 0 (no cap) to 10000, not ${opts.assignCap}`,
      );
    patch.cap = cap;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** What `--nudge-before`, `--human-agent-nudge-before` and `--auto-close-after` change. */
function timersPatch(opts: {
  nudgeBefore?: string;
  humanAgentNudgeBefore?: string;
  autoCloseAfter?: string;
}): Partial<TimerSettings> | undefined {
  const patch: Partial<TimerSettings> = {};
  const read = (flag: string, raw: string | undefined, key: keyof TimerSettings) => {
    if (raw === undefined) return;
    const seconds = parseTimerSetting(raw);
    if (seconds === undefined)
      throw new UsageError(
        `${flag}: expected off or a duration such as 45s, 30m, 2h or 1d (at most 7d), not ${raw}`,
      );
    patch[key] = seconds;
  };
  read("--nudge-before", opts.nudgeBefore, "nudgeBeforeSeconds");
  read("--human-agent-nudge-before", opts.humanAgentNudgeBefore, "humanAgentNudgeBeforeSeconds");
  read("--auto-close-after", opts.autoCloseAfter, "autoCloseAfterSeconds");
  return Object.keys(patch).length > 0 ? patch : undefined;
}

function timersLine(t: TimerSettings): string {
  return `nudge ${t.nudgeBeforeSeconds === 0 ? "off" : `${formatSeconds(t.nudgeBeforeSeconds)} before the window closes`}, ${t.humanAgentNudgeBeforeSeconds === 0 ? "no human-agent nudge" : `${formatSeconds(t.humanAgentNudgeBeforeSeconds)} before the 7-day limit`}, auto-close ${t.autoCloseAfterSeconds === 0 ? "off" : `after ${formatSeconds(t.autoCloseAfterSeconds)} of the customer's silence`}`;
}

function ownershipLine(o: OwnershipSettings): string {
  if (o.mode === "off") return "assignment off";
  if (o.mode === "manual") return "assignment manual (the first to reply takes it)";
  return `assignment ${o.mode} among ${o.pool ?? "no pool"}, ${o.cap === undefined ? "no cap" : `at most ${o.cap} open each`}`;
}

/** What `--disclosure`, `--language` and `--disclosure-lapse` change, applied to the stored
 * disclosure settings; undefined when none was given. */
function disclosurePatch(opts: {
  disclosure?: string;
  language?: string;
  disclosureLapse?: string;
}): ((current: ReturnType<typeof disclosureSettings>) => unknown) | undefined {
  const { disclosure, language, disclosureLapse } = opts;
  if (language !== undefined && disclosure === undefined)
    throw new UsageError("--language goes with --disclosure: the text for that language");
  if (language !== undefined && !LANGUAGE_TAG.test(language))
    throw new UsageError(`--language: not a language tag: ${language} (en, es, pt-BR)`);
  const text = disclosure?.trim();
  if (text !== undefined) {
    if (text === "" && language === undefined)
      throw new UsageError(
        '--disclosure must not be empty (--disclosure "" --language TAG removes a language\'s text)',
      );
    if (text.length > 300) throw new UsageError("--disclosure: at most 300 characters");
  }
  let lapseMinutes: number | undefined;
  if (disclosureLapse !== undefined) {
    const m = /^(\d+)([mhd])$/.exec(disclosureLapse.trim());
    const minutes = m ? Number(m[1]) * { m: 1, h: 60, d: 1440 }[m[2] as "m" | "h" | "d"] : 0;
    if (!m || minutes < 1 || minutes > 365 * 1440)
      throw new UsageError(
        `--disclosure-lapse: expected a duration such as 30m, 24h or 7d, not ${disclosureLapse}`,
      );
    lapseMinutes = minutes;
  }
  if (text === undefined && lapseMinutes === undefined) return undefined;
  return (current) => {
    const texts: Record<string, string> = { ...current.texts };
    if (text !== undefined) {
      const key = language ?? DEFAULT_LANGUAGE_KEY;
      if (text === "") delete texts[key];
      else texts[key] = text;
    }
    return { texts, lapseMinutes: lapseMinutes ?? current.lapseMinutes };
  };
}

function formatMinutes(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

// The pause switch (issue 4): nothing is sent to Instagram while it is on; replies wait as
// "held" and go out in order on resume.
function pauseScope(account: string | undefined): PauseScope {
  return account === undefined ? "global" : { account: igUserId(account) };
}
function scopeLabel(scope: PauseScope): string {
  return scope === "global" ? "every account" : `account ${scope.account}`;
}
program
  .command("pause")
  .description("stop sending to Instagram (every account, or one); replies are held until resume")
  .option("--account <id>", "only this account (its Instagram user id)")
  .action(async (opts: { account?: string }) => {
    const scope = pauseScope(opts.account);
    const by = operator();
    const found = await withDatabase((db) => pause(db, scope, by, { kind: "operator", id: by }));
    if (!found) throw new UsageError(`no account ${opts.account} (see \`accounts list\`)`);
    process.stdout.write(
      `paused sending for ${scopeLabel(scope)}; replies are held until \`threadbridge resume\`\n`,
    );
  });
program
  .command("resume")
  .description("send again (every account, or one): held replies go out in order")
  .option("--account <id>", "only this account (its Instagram user id)")
  .action(async (opts: { account?: string }) => {
    const scope = pauseScope(opts.account);
    const result = await withDatabase(async (db) => {
      const found = await resume(db, scope, { kind: "operator", id: operator() });
      return { found, still: found ? await pauses(db) : undefined };
    });
    if (!result.found) throw new UsageError(`no account ${opts.account} (see \`accounts list\`)`);
    let note = "";
    if (scope !== "global" && result.still?.global)
      note = " (the global pause is still on: `threadbridge resume`)";
    if (scope === "global" && result.still?.accounts.length)
      note = ` (still paused one by one: ${result.still.accounts.map((a) => a.account).join(", ")})`;
    process.stdout.write(`resumed sending for ${scopeLabel(scope)}${note}\n`);
  });
program
  .command("status")
  .description("the pause switches and the outbound messages waiting per account")
  .option("--json", "print JSON")
  .action(async (opts: { json?: boolean }) => {
    const { overview, open } = await withDatabase(async (db) => {
      const { rows } = await db.query<{ account_id: string; delivery_state: string; n: number }>(
        `SELECT account_id, delivery_state, count(*)::int AS n FROM messages
          WHERE delivery_state IN ('pending', 'held') GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      return { overview: await pauses(db), open: rows };
    }, "read");
    const queue: Record<string, { pending: number; held: number }> = {};
    for (const r of open) {
      queue[r.account_id] ??= { pending: 0, held: 0 };
      const q = queue[r.account_id] as { pending: number; held: number };
      if (r.delivery_state === "held") q.held = r.n;
      else q.pending = r.n;
    }
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ paused: { global: overview.global ?? null, accounts: overview.accounts }, outbound: queue }, null, 2)}\n`,
      );
      return;
    }
    process.stdout.write(
      overview.global
        ? `sending: paused for every account (by ${overview.global.by} since ${overview.global.since.toISOString()})\n`
        : "sending: on\n",
    );
    for (const a of overview.accounts)
      process.stdout.write(`paused: account ${a.account} (by ${a.by} since ${a.since.toISOString()})\n`);
    const accounts = Object.keys(queue);
    if (accounts.length === 0) process.stdout.write("outbound: nothing waiting\n");
    for (const id of accounts)
      process.stdout.write(
        `outbound: account ${id}: ${queue[id]?.pending ?? 0} pending, ${queue[id]?.held ?? 0} held\n`,
      );
  });

const keys = program.command("keys").description("the token encryption keys");
keys
  .command("rotate")
  .description("re-encrypt every stored token under the newest key of TOKEN_ENCRYPTION_KEY")
  .action(async () => {
    await withDatabase(async (db, config) => {
      const cipher = TokenCipher.fromConfig(config.tokenEncryptionKeys);
      const count = await rotateKeys(db, cipher);
      process.stdout.write(`re-encrypted ${count} token(s) under key ${cipher.currentKeyId}\n`);
    });
  });

// Auto-reply rules (issue 6): a whole file is validated before anything is stored.
class RuleFileInvalid extends Error {}
function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
const rules = program.command("rules").description("the auto-reply rules");
rules
  .command("import")
  .description("load rules (and account hours) from a YAML or JSON file; every error is listed with its line")
  .argument("<file>", "the rule file")
  .action(async (file: string) => {
    const [{ parseRuleFile, formatRuleFileErrors }, { snippetIndex }] = await Promise.all([
      import("./rules/load.ts"),
      import("./snippets/store.ts"),
    ]);
    const text = readText(file);
    const summary = await withDatabase(async (db) => {
      // A rule may send only a saved reply that exists for its account (or is shared).
      const parsed = parseRuleFile(text, file, { snippetExists: await snippetIndex(db) });
      if (!parsed.ok) throw new RuleFileInvalid(formatRuleFileErrors(file, parsed.errors));
      return importRules(db, parsed.file, path.resolve(file));
    });
    process.stdout.write(
      `${file}: ${summary.added} added, ${summary.updated} updated, ${summary.removed} removed; hours for ${summary.accounts} account(s)\n`,
    );
  });
rules
  .command("list")
  .description("the rules, in the order they are considered per account")
  .option("--json", "as JSON")
  .action(async (opts: { json?: boolean }) => {
    const all = await withDatabase((db) => listRules(db), "read");
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify(
          all.map((r) => r.rule),
          null,
          2,
        )}\n`,
      );
      return;
    }
    if (all.length === 0) process.stdout.write("no rules (threadbridge rules import FILE)\n");
    for (const { rule } of all)
      process.stdout.write(
        `${rule.enabled ? "on " : "off"}  ${rule.id}  account ${rule.account}  priority ${rule.priority}  ${rule.trigger.type} → ${rule.actions.map((a) => a.type).join(", ")}\n`,
      );
  });
rules
  .command("test")
  .description(
    "dry run: which rules of FILE would fire on the events of a recorded webhook, and what they would send",
  )
  .argument("<file>", "the rule file")
  .requiredOption("--event <payload>", "a webhook body (JSON file), as Instagram sent it")
  .option(
    "--at <time>",
    "evaluate as of this moment (ISO 8601, e.g. 2026-12-07T20:00:00Z): opening hours, cooldowns",
  )
  .action(async (file: string, opts: { event: string; at?: string }) => {
    // Opening hours make a dry run depend on the clock; --at pins it (a rule file checked in CI).
    const at = opts.at === undefined ? undefined : new Date(opts.at);
    if (at && (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(opts.at ?? "")))
      throw new UsageError(`--at ${opts.at}: not an ISO 8601 date and time (e.g. 2026-12-07T20:00:00Z)`);
    const [{ parseRuleFile, formatRuleFileErrors }, { parseWebhook }, { RulesEngine, describeDecision }] =
      await Promise.all([
        import("./rules/load.ts"),
        import("./instagram/webhook.ts"),
        import("./rules/engine.ts"),
      ]);
    const parsed = parseRuleFile(readText(file), file);
    if (!parsed.ok) throw new RuleFileInvalid(formatRuleFileErrors(file, parsed.errors));
    let payload: unknown;
    try {
      payload = JSON.parse(readText(opts.event));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`${opts.event} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    const events = parseWebhook(payload);
    if (!events.ok) throw new UsageError(`${opts.event} is not an Instagram webhook: ${events.reason}`);
    const { log } = settings();
    const lines = await withDatabase(async (db) => {
      // A dry run writes nothing and sends nothing: no queue, no gateway, no chat.
      const engine = new RulesEngine({
        db,
        boss: undefined,
        gateway: undefined,
        adapters: new Map(),
        log,
        ...(at ? { now: () => at } : {}),
      });
      const out: string[] = [];
      for (const { event } of events.records) {
        const decisions = await engine.run(event, undefined, {
          dryRun: true,
          rules: { rules: parsed.file.rules, settings: parsed.file.accounts[event.accountId] },
        });
        out.push(`${event.type} on account ${event.accountId}:`);
        out.push(
          ...(decisions.length ? decisions.map((d) => `  ${describeDecision(d)}`) : ["  no rule matches"]),
        );
      }
      return out;
    }, "read");
    process.stdout.write(`${lines.join("\n")}\n`);
  });
for (const [name, enabled] of [
  ["enable", true],
  ["disable", false],
] as const)
  rules
    .command(name)
    .description(`${name} one rule`)
    .argument("<id>", "the rule's id")
    .action(async (id: string) => {
      const found = await withDatabase((db) =>
        setRuleEnabled(db, id, enabled, { actor: { kind: "operator", id: operator() } }),
      );
      if (!found) throw new UsageError(`no rule ${id} (see \`rules list\`)`);
      process.stdout.write(`${id} ${enabled ? "enabled" : "disabled"}\n`);
    });

registerSnippetsCommand(program, { withDatabase: (fn) => withDatabase((db) => fn(db)), readText, operator });
registerProfileCommand(program, { withDatabase, readText, operator, log: () => settings().log });

/** What depends on the list of chat platforms: the destination options, each platform's own
 * subcommands, the description. */
function addPlatforms(list: readonly PlatformDescriptor[]): void {
  checkPlatforms(list);
  platforms = list;
  program.description(
    `Instagram DMs and comments mirrored into ${list.map((p) => p.label).join(" and ") || "chat"} threads`,
  );
  destinationOptions(accountsAdd);
  destinationOptions(accountsRoute);
  for (const p of list)
    p.cli?.(program, {
      settings: () => {
        const on = settings().config.platforms.find((c) => c.descriptor === p);
        if (!on) throw new UsageError(`${p.label} is not configured: set ${AND.format(p.credentials)}`);
        return on.settings;
      },
      usage: (message) => new UsageError(message),
    });
}

/** Runs the CLI with the chat platforms of this build (bin/threadbridge.js passes adapters/index.ts),
 * after reading `.env` from the working directory into the environment. */
export async function main(argv: string[], list: readonly PlatformDescriptor[]): Promise<void> {
  try {
    // Before anything reads the environment; what is already set wins over the file.
    envFile = loadEnvFile(".env", process.env);
    addPlatforms(list);
    await program.parseAsync(argv);
  } catch (err) {
    // InvalidArgumentError is a CommanderError too, but thrown by our actions and not yet printed.
    if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) {
      // Commander has already printed the message (and help where useful).
      process.exit(err.exitCode === 0 ? 0 : 64);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`threadbridge: configuration error\n${err.message.replace(/^/gm, "  ")}\n`);
      process.exit(78);
    }
    if (err instanceof DemoRefused) {
      process.stderr.write(`threadbridge: ${err.message}\n`);
      process.exit(78);
    }
    if (err instanceof SchemaBehindError) {
      // Like a configuration error: this version and its database do not fit until the operator
      // migrates.
      process.stderr.write(`threadbridge: ${err.message}\n`);
      process.exit(78);
    }
    if (err instanceof RuleFileInvalid) {
      process.stderr.write(`threadbridge: the rule file was not imported\n${err.message}\n`);
      process.exit(65);
    }
    if (err instanceof SnippetFileInvalid) {
      process.stderr.write(`threadbridge: the saved replies file was not imported\n${err.message}\n`);
      process.exit(65);
    }
    if (err instanceof ProfileFileInvalid) {
      process.stderr.write(`threadbridge: the profile file was not applied\n${err.message}\n`);
      process.exit(65);
    }
    if (err instanceof TokenCipherError || err instanceof BackfillError) {
      process.stderr.write(`threadbridge: ${err.message}\n`);
      process.exit(1);
    }
    if (
      err instanceof DatabaseLockedError ||
      err instanceof UsageError ||
      err instanceof InvalidArgumentError
    ) {
      process.stderr.write(`threadbridge: ${err.message}\n`);
      process.exit(err instanceof DatabaseLockedError ? 75 : 64);
    }
    // Loaded here, not with the CLI: only an unexpected error needs it (p-retry and its helpers).
    const { transientDatabaseError } = await import("./db/after-outside-call.ts");
    if (serviceLog) {
      // A service role that had started logging ends with one JSON line, not a raw stack.
      serviceLog.fatal(
        { err },
        transientDatabaseError(err) ? "database not reachable; stopping" : "stopping",
      );
      process.exit(1);
    }
    if (transientDatabaseError(err)) {
      process.stderr.write(`threadbridge: the database is not reachable (${(err as Error).message})\n`);
      process.exit(1);
    }
    process.stderr.write(
      `threadbridge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  }
}

// Run directly (`node src/cli.ts`, npm start, the benches): this is the entry point, and the one
// place in src/ that reads the list of chat platforms.
if (import.meta.main) await main(process.argv, (await import("../adapters/index.ts")).platforms);
