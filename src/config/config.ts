import { z } from "zod";
import { type ChatRef, parseRefs } from "../chat/ids.ts";
import type { ConfiguredPlatform, PlatformDescriptor } from "../chat/platform.ts";
import { checkPlatforms } from "../chat/platforms.ts";
import type { ApiClass, ClassLimit } from "../ratelimit/classes.ts";
import { validTimeZone } from "../rules/rule.ts";
import {
  type BusinessLoginConfig,
  businessLoginConfig,
  type ConsoleConfig,
  consoleConfig,
  consoleEnv,
} from "./console-config.ts";
import { ConfigError, intInRange, optional, url } from "./env-schema.ts";
import { type TrustProxy, trustProxyEnv } from "./trust-proxy.ts";

// One typed configuration, read once from the environment. The names are part of the operating
// interface (CONTRACT.md): keep them stable.

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], {
    error: "expected true or false",
  })
  .transform((v) => ["true", "1", "yes", "on"].includes(v));

const postgresUrl = z
  .string()
  .refine((u) => /^postgres(ql)?:\/\/.+/.test(u), { error: "expected postgres://user@host:port/database" });

const redisUrl = z
  .string()
  .refine((u) => /^rediss?:\/\/.+/.test(u), { error: "expected redis://host:port[/db]" });

const base64Key = z.string().refine(
  (s) =>
    s.split(",").every((k) => {
      const key = k.trim().replace(/^[\w-]+:/, "");
      return /^[A-Za-z0-9+/=_-]+$/.test(key) && Buffer.from(key, "base64").length === 32;
    }),
  { error: "expected a base64 32-byte key, or a comma-separated list of them (newest first)" },
);

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .positive({ error: `expected ${what}` });

const wordList = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((w) => w.trim())
      .filter((w) => w !== ""),
  )
  .refine((words) => words.length > 0, { error: "expected a comma-separated list of words" });

export const envSchema = z.object({
  PORT: optional(z.coerce.number().int().min(0).max(65535, { error: "expected a port number 0-65535" })),
  METRICS_PORT: optional(
    z.coerce.number().int().min(0).max(65535, { error: "expected a port number 0-65535" }),
  ),
  PUBLIC_URL: optional(url("an http(s) URL such as https://bridge.example.com")),
  TRUST_PROXY: optional(trustProxyEnv),
  METRICS_TOKEN: optional(
    z
      .string()
      .trim()
      .regex(/^[\x21-\x7e]{16,}$/, {
        error: "expected at least 16 printable characters without spaces (`openssl rand -hex 32`)",
      }),
  ),
  DATABASE_URL: optional(postgresUrl),
  DATA_DIR: optional(z.string()),
  DATABASE_POOL_SIZE: optional(positiveInt("a whole number of connections")),
  REDIS_URL: optional(redisUrl),
  IG_APP_ID: optional(z.string().regex(/^\d+$/, { error: "expected the numeric Instagram app id" })),
  IG_APP_SECRET: optional(z.string().min(8, { error: "expected the Instagram app secret" })),
  META_APP_SECRET: optional(z.string().min(8, { error: "expected the Meta app secret" })),
  IG_VERIFY_TOKEN: optional(z.string().min(1)),
  IG_GRAPH_URL: optional(url("an http(s) URL such as https://graph.instagram.com")),
  IG_API_VERSION: optional(
    z
      .string()
      .regex(/^v\d+\.\d+$/, { error: "expected a version such as v25.0" })
      .refine((v) => Number(v.slice(1)) >= 21, { error: "expected v21.0 or newer (seed 002)" }),
  ),
  IG_HUMAN_AGENT: optional(bool),
  LEADER_INTERVAL_SECONDS: optional(positiveInt("a whole number of seconds")),
  TOKEN_ENCRYPTION_KEY: optional(base64Key),
  LOG_LEVEL: optional(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])),
  ...consoleEnv,
  // Operational knobs beyond the contract; documented in docs/configuration.md.
  WEBHOOK_MAX_BODY: optional(
    z
      .string()
      .regex(/^\d+(b|kb|mb)?$/i, { error: "expected a size such as 1mb or 512kb" })
      .transform((s) => s.toLowerCase()),
  ),
  INBOUND_RETRY_LIMIT: optional(positiveInt("a whole number of retries")),
  INBOUND_EXPIRE_SECONDS: optional(positiveInt("a whole number of seconds")),
  WORKER_CONCURRENCY: optional(positiveInt("a whole number of parallel jobs")),
  WORKER_POLL_SECONDS: optional(
    z.coerce
      .number({ error: "expected seconds, at least 0.5" })
      .min(0.5, { error: "expected seconds, at least 0.5" }),
  ),
  QUEUE_SUPERVISE_SECONDS: optional(positiveInt("a whole number of seconds")),
  OUTBOUND_CONCURRENCY: optional(positiveInt("a whole number of parallel sends")),
  OUTBOUND_WORKERS: optional(intInRange(1, 1000, "the number of worker processes")),
  OUTBOUND_ECHO_GRACE_SECONDS: optional(positiveInt("a whole number of seconds")),
  PROFILE_REFRESH_HOURS: optional(positiveInt("a whole number of hours")),
  TOKEN_REFRESH_DAYS: optional(intInRange(1, 59, "a whole number of days")),
  RETENTION_MESSAGE_DAYS: optional(positiveInt("a whole number of days")),
  RETENTION_RAW_EVENT_DAYS: optional(positiveInt("a whole number of days")),
  RETENTION_REVOKED_ACCOUNT_DAYS: optional(positiveInt("a whole number of days")),
  CONSENT_STOP_WORDS: optional(wordList),
  CONSENT_START_WORDS: optional(wordList),
  DIGEST_HOUR: optional(intInRange(0, 23, "an hour of the day")),
  DIGEST_WEEKDAY: optional(
    z.enum(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], { error: "expected mon, tue, … or sun" }),
  ),
  DIGEST_TIMEZONE: optional(
    z.string().refine(validTimeZone, { error: 'expected an IANA time zone such as "Europe/Berlin"' }),
  ),
  SLA_MINUTES: optional(
    z.coerce
      .number({ error: "expected a whole number of minutes (0 turns SLA alerts off)" })
      .int({ error: "expected a whole number of minutes (0 turns SLA alerts off)" })
      .min(0, { error: "expected a whole number of minutes (0 turns SLA alerts off)" }),
  ),
  IG_RATE_LIMIT_GUARD_MS: optional(intInRange(0, 1000, "milliseconds")),
  IG_RATE_LIMITS: optional(
    z
      .string()
      .regex(
        /^\s*(send_text|send_media|private_reply|private_reply_live|conversations|platform)=\d+\/\d+(\s*,\s*(send_text|send_media|private_reply|private_reply_live|conversations|platform)=\d+\/\d+)*\s*$/,
        { error: "expected class=calls/seconds pairs such as send_text=100/1,private_reply=750/3600" },
      )
      .transform(
        (s) =>
          Object.fromEntries(
            s.split(",").map((pair) => {
              const [cls, rate] = pair.trim().split("=") as [ApiClass, string];
              const [points, seconds] = rate.split("/").map(Number) as [number, number];
              return [cls, { points, durationSeconds: seconds }];
            }),
          ) as Partial<Record<ApiClass, ClassLimit>>,
      )
      .refine((m) => Object.values(m).every((l) => l && l.points > 0 && l.durationSeconds > 0), {
        error: "calls and seconds must be positive",
      }),
  ),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  port: number;
  /** Health and metrics port of a worker-only process. */
  metricsPort: number | undefined;
  publicUrl: string;
  /** Whose X-Forwarded-* headers are believed (Express `trust proxy`); false: nobody's. */
  trustProxy: TrustProxy;
  /** Bearer token /metrics and /readyz's details need; undefined: /metrics is open, details hidden. */
  metricsToken: string | undefined;
  database: { kind: "postgres"; url: string; poolSize: number } | { kind: "embedded"; dataDir: string };
  dataDir: string;
  redisUrl: string | undefined;
  instagram: {
    appId: string | undefined;
    /** Every secret a webhook signature may be made with (Meta app and Instagram app). */
    appSecrets: string[];
    verifyToken: string | undefined;
    graphUrl: string;
    apiVersion: string;
    humanAgent: boolean;
  };
  /** Every chat platform this build has (adapters/index.ts), configured or not. */
  availablePlatforms: readonly PlatformDescriptor[];
  /** The chat platforms whose credentials are set, with their settings, in the list's order. */
  platforms: ConfiguredPlatform[];
  /** How often a replica tries to take over a platform's leader work (a gateway), and the leader
   * checks its lock. */
  leaderIntervalMs: number;
  tokenEncryptionKeys: string | undefined;
  /** The web console's login and sessions. */
  console: ConsoleConfig;
  /** Business Login for Instagram; undefined without IG_APP_ID and IG_APP_SECRET. */
  businessLogin: BusinessLoginConfig | undefined;
  logLevel: string;
  webhookMaxBody: string;
  /** The people and groups (ADMIN_USERS) allowed privileged chat actions. */
  admins: ChatRef[];
  profileRefreshHours: number;
  /** A long-lived token is refreshed once it expires within this many days. */
  tokenRefreshDays: number;
  retention: { messageDays: number; rawEventDays: number; revokedAccountDays: number };
  /** Whole messages by which customers opt out of / back into messages; undefined: the defaults. */
  consentWords: { stop: string[] | undefined; start: string[] | undefined };
  rateLimits: Partial<Record<ApiClass, ClassLimit>>;
  /** Extra window length covering the delay between a grant and the call reaching Instagram. */
  rateLimitGuardMs: number;
  outboundConcurrency: number;
  /** Worker processes sending for the same accounts: each keeps to 1/N of a limit without Redis. */
  outboundWorkers: number;
  /** How long an interrupted send waits for its echo before it is sent again. */
  echoGraceMs: number;
  digest: {
    /** Local hour the scheduled digests are posted at. */
    hour: number;
    weekday: "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";
    /** For accounts whose rule file sets no time zone. */
    timezone: string;
  };
  sla: {
    /** A conversation waiting longer (within opening hours) gets one alert; 0: never. */
    minutes: number;
    /** Groups mentioned when the conversation has no assignee (SLA_ON_DUTY). */
    onDuty: ChatRef[];
  };
  inbound: {
    retryLimit: number;
    expireSeconds: number;
    concurrency: number;
    superviseSeconds: number;
    pollSeconds: number;
  };
}

export { ConfigError };

/** A list of `prefix:id` refs of `platforms`, as one environment variable. */
function refList(platforms: readonly PlatformDescriptor[], kinds: ReadonlyArray<ChatRef["kind"]>) {
  return z.string().transform((s, ctx): ChatRef[] => {
    const parsed = parseRefs(s, platforms, kinds);
    if (parsed.ok) return parsed.refs;
    ctx.addIssue({ code: "custom", message: parsed.expected });
    return z.NEVER;
  });
}

/** The core's variables, with those naming people and groups of `platforms`. */
function coreSchema(platforms: readonly PlatformDescriptor[]) {
  return envSchema.extend({
    ADMIN_USERS: optional(refList(platforms, ["user", "group"])),
    SLA_ON_DUTY: optional(refList(platforms, ["group"])),
  });
}

/** The platforms whose credentials are all set; a ConfigError names what is missing from one that
 * has only some of them. */
function configuredPlatforms(
  platforms: readonly PlatformDescriptor[],
  env: Record<string, unknown>,
): ConfiguredPlatform[] {
  const on: ConfiguredPlatform[] = [];
  for (const descriptor of platforms) {
    const present = descriptor.credentials.filter((name) => env[name] !== undefined);
    // A platform without credentials (an in-memory one in tests) is always on.
    if (present.length === 0 && descriptor.credentials.length > 0) continue;
    const missing = descriptor.credentials.filter((name) => env[name] === undefined);
    if (missing.length > 0) {
      const others = `the other ${descriptor.label} credential${present.length === 1 ? " is" : "s are"} set`;
      throw new ConfigError(missing.map((name) => `${name}: required when ${others}`).join("\n"));
    }
    on.push({ descriptor, settings: descriptor.settings(env) });
  }
  return on;
}

/**
 * Reads the environment, with the variables of every chat platform of `platforms` (the list
 * adapters/index.ts exports). A variable that is present but malformed throws a ConfigError whose
 * message is one line per variable naming it and what is expected.
 */
export function loadConfig(env: NodeJS.ProcessEnv, platforms: readonly PlatformDescriptor[]): Config {
  checkPlatforms(platforms);
  const core = coreSchema(platforms);
  // Each platform's variables are checked with the core's, so every malformed one gets its line.
  const parsed = core
    .extend(Object.assign({}, ...platforms.map((p) => p.env)) as z.ZodRawShape)
    .safeParse(env);
  if (!parsed.success) {
    // One line per variable: its first complaint is the one to fix.
    const byName = new Map<string, string>();
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "environment");
      if (!byName.has(name)) byName.set(name, `${name}: ${issue.message}`);
    }
    throw new ConfigError([...byName.values()].join("\n"));
  }
  const e = parsed.data as z.infer<typeof core> & Record<string, unknown>;
  const port = e.PORT ?? 3000;
  const dataDir = e.DATA_DIR ?? "./.data";

  const chat = configuredPlatforms(platforms, e);
  if (e.DATABASE_URL && !e.TOKEN_ENCRYPTION_KEY) {
    throw new ConfigError(
      "TOKEN_ENCRYPTION_KEY: required with DATABASE_URL (a base64 32-byte key: `openssl rand -base64 32`)",
    );
  }

  return {
    port,
    metricsPort: e.METRICS_PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/$/, ""),
    trustProxy: e.TRUST_PROXY ?? false,
    metricsToken: e.METRICS_TOKEN,
    database: e.DATABASE_URL
      ? { kind: "postgres", url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE ?? 10 }
      : { kind: "embedded", dataDir },
    dataDir,
    redisUrl: e.REDIS_URL,
    instagram: {
      appId: e.IG_APP_ID,
      appSecrets: [e.IG_APP_SECRET, e.META_APP_SECRET].filter((s): s is string => Boolean(s)),
      verifyToken: e.IG_VERIFY_TOKEN,
      graphUrl: (e.IG_GRAPH_URL ?? "https://graph.instagram.com").replace(/\/$/, ""),
      apiVersion: e.IG_API_VERSION ?? "v25.0",
      humanAgent: e.IG_HUMAN_AGENT ?? false,
    },
    availablePlatforms: platforms,
    platforms: chat,
    leaderIntervalMs: (e.LEADER_INTERVAL_SECONDS ?? 5) * 1000,
    tokenEncryptionKeys: e.TOKEN_ENCRYPTION_KEY,
    console: consoleConfig(e),
    businessLogin: businessLoginConfig(e),
    logLevel: e.LOG_LEVEL ?? "info",
    webhookMaxBody: e.WEBHOOK_MAX_BODY ?? "1mb",
    admins: e.ADMIN_USERS ?? [],
    profileRefreshHours: e.PROFILE_REFRESH_HOURS ?? 24,
    // Halfway through the 60 days: about thirty daily attempts to ride out an outage before the
    // token runs out, and three weeks of them before owners are warned a week ahead.
    tokenRefreshDays: e.TOKEN_REFRESH_DAYS ?? 30,
    retention: {
      messageDays: e.RETENTION_MESSAGE_DAYS ?? 90,
      rawEventDays: e.RETENTION_RAW_EVENT_DAYS ?? 14,
      revokedAccountDays: e.RETENTION_REVOKED_ACCOUNT_DAYS ?? 7,
    },
    consentWords: { stop: e.CONSENT_STOP_WORDS, start: e.CONSENT_START_WORDS },
    rateLimits: e.IG_RATE_LIMITS ?? {},
    rateLimitGuardMs: e.IG_RATE_LIMIT_GUARD_MS ?? 40,
    outboundConcurrency: e.OUTBOUND_CONCURRENCY ?? 4,
    outboundWorkers: e.OUTBOUND_WORKERS ?? 1,
    echoGraceMs: (e.OUTBOUND_ECHO_GRACE_SECONDS ?? 30) * 1000,
    digest: {
      hour: e.DIGEST_HOUR ?? 8,
      weekday: e.DIGEST_WEEKDAY ?? "mon",
      timezone: e.DIGEST_TIMEZONE ?? "UTC",
    },
    sla: { minutes: e.SLA_MINUTES ?? 60, onDuty: e.SLA_ON_DUTY ?? [] },
    inbound: {
      // With backoff capped at 300 s, 20 retries span about an hour: long enough to ride out a
      // chat platform outage before an event is dead-lettered (and replayable).
      retryLimit: e.INBOUND_RETRY_LIMIT ?? 20,
      // A dead worker's job is retried once its heartbeat is stale (queue/boss.ts); this only
      // bounds a handler that hangs while its process lives.
      expireSeconds: e.INBOUND_EXPIRE_SECONDS ?? 900,
      concurrency: e.WORKER_CONCURRENCY ?? 8,
      superviseSeconds: e.QUEUE_SUPERVISE_SECONDS ?? 15,
      pollSeconds: e.WORKER_POLL_SECONDS ?? 1,
    },
  };
}
