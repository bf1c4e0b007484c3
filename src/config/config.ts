import { z } from "zod";
import { type ChatRef, parseRefs, refExample } from "../chat/ids.ts";
import type { ConfiguredPlatform, PlatformDescriptor } from "../chat/platform.ts";
import { checkPlatforms } from "../chat/platforms.ts";
import { parseAppNames } from "../instagram/thread-control.ts";
import { DEFAULT_CONSENT_WORDS } from "../privacy/consent.ts";
import { API_CLASSES, type ApiClass, type ClassLimit, DEFAULT_LIMITS } from "../ratelimit/classes.ts";
import { validTimeZone } from "../rules/rule.ts";
import {
  type BusinessLoginConfig,
  businessLoginConfig,
  type ConsoleConfig,
  consoleConfig,
  consoleEnv,
} from "./console-config.ts";
import { ConfigError, envDocs, intInRange, url, type VariableDoc, variable } from "./env-schema.ts";
import { readSecretFiles } from "./secret-files.ts";
import { type TrustProxy, trustProxyEnv } from "./trust-proxy.ts";

/** One `class=calls/seconds` pair of IG_RATE_LIMITS. */
const CLASS_RATE = `(?:${API_CLASSES.join("|")})=\\d+\\/\\d+`;

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

const port = intInRange(0, 65535, "a port number");

/** OTEL_EXPORTER_OTLP_HEADERS' format (OpenTelemetry's exporter specification): `key=value` pairs
 * separated by commas, each value URL-encoded. A secret: the error never repeats what was given. */
const otlpHeaders = z.string().transform((text, ctx) => {
  const headers: Record<string, string> = {};
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue;
    const at = pair.indexOf("=");
    const key = pair.slice(0, Math.max(at, 0)).trim();
    let value: string | undefined;
    try {
      value = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      value = undefined;
    }
    if (at < 1 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key) || value === undefined || /[\r\n]/.test(value)) {
      ctx.addIssue({
        code: "custom",
        message: "expected key=value pairs separated by commas, values URL-encoded",
      });
      return z.NEVER;
    }
    // As written, like the exporter's own reading of the variable: the same key merges.
    headers[key] = value;
  }
  return headers;
});

const limitsText = (limits: Partial<Record<ApiClass, ClassLimit>>) =>
  Object.entries(limits)
    .map(([cls, l]) => `${cls}=${l?.points}/${l?.durationSeconds}`)
    // A space after each comma lets the generated docs wrap it; the parser trims each pair.
    .join(", ");

/** The core's variables, in the order they are documented within each section. */
export const envSchema = z.object({
  PORT: variable(port, { section: "Service", doc: "HTTP port", default: "3000" }),
  PUBLIC_URL: variable(url("an http(s) URL such as https://bridge.example.com"), {
    section: "Service",
    doc: "how the outside reaches the service (OAuth redirect, deletion status links)",
    unset: "`http://localhost:$PORT`",
    example: "https://bridge.example.com",
  }),
  LOG_LEVEL: variable(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), {
    section: "Service",
    doc: "`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`",
    default: "info",
  }),
  TRUST_PROXY: variable(trustProxyEnv, {
    section: "Service",
    doc: "which reverse proxies' `X-Forwarded-For`, `-Proto` and `-Host` are believed, in Express's `trust proxy` syntax: `loopback` (a proxy on this host), addresses or CIDR ranges (`10.0.0.0/8,192.0.2.1`), `linklocal`, `uniquelocal`, a hop count (`1`: the nearest proxy), or `true` (everyone: only when every request comes through a proxy that overwrites these headers). Off, the client address of the sign-in throttle and the audit log is the connecting peer",
    default: "off",
    example: "loopback",
  }),
  WEBHOOK_MAX_BODY: variable(
    z
      .string()
      .regex(/^\d+(b|kb|mb)?$/i, { error: "expected a size such as 1mb or 512kb" })
      .transform((s) => s.toLowerCase()),
    { section: "Service", doc: "largest webhook body accepted; larger ones get 413", default: "1mb" },
  ),
  METRICS_TOKEN: variable(
    z
      .string()
      .trim()
      .regex(/^[\x21-\x7e]{16,}$/, {
        error: "expected at least 16 printable characters without spaces (`openssl rand -hex 32`)",
      }),
    {
      section: "Service",
      secret: true,
      doc: "at least 16 printable characters (`openssl rand -hex 32`): `/metrics` then needs `Authorization: Bearer <token>` (Prometheus: `authorization: { credentials: <token> }`), and `/readyz` shows its per-dependency checks only to a request with it",
      unset: "`/metrics` is open and `/readyz` shows no details",
      example: "paste-the-output-of-openssl-rand-hex-32",
    },
  ),
  METRICS_PORT: variable(port, {
    section: "Service",
    doc: "a worker-only process (`threadbridge worker`) serves `/healthz`, `/readyz` and `/metrics` on this port",
    unset: "a worker-only process serves no HTTP",
    example: "9464",
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: variable(url("an http(s) URL such as http://otel-collector:4318"), {
    section: "Traces",
    doc: "the OTLP/HTTP receiver traces are sent to (an OpenTelemetry Collector's port 4318, Jaeger, Tempo…); spans go to its `/v1/traces`. Set, each process sends one trace per webhook (receipt, storage, the queued job, the mirror, the chat call) and per agent reply (the chat request, the outbound job, the Graph call). The other standard `OTEL_*` variables apply: `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`…",
    unset: "no traces; the tracing SDK is not even loaded",
    example: "http://otel-collector:4318",
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: variable(
    url("an http(s) URL such as http://otel-collector:4318/v1/traces"),
    {
      section: "Traces",
      doc: "the full URL traces are POSTed to, when it is not `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`; either one turns traces on",
      unset: "`OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces`",
      example: "http://otel-collector:4318/v1/traces",
    },
  ),
  OTEL_EXPORTER_OTLP_HEADERS: variable(otlpHeaders, {
    section: "Traces",
    secret: true,
    doc: "headers sent with every export, as `key=value` pairs separated by commas (values URL-encoded), such as a vendor's API key",
    unset: "no extra headers",
    example: "x-honeycomb-team=YOUR-API-KEY",
  }),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: variable(otlpHeaders, {
    section: "Traces",
    secret: true,
    doc: "the same for traces only; a key set in both takes this one's value",
    unset: "`OTEL_EXPORTER_OTLP_HEADERS` alone",
    example: "authorization=Bearer%20YOUR-TOKEN",
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: variable(z.enum(["http/json", "http/protobuf", "grpc"]), {
    section: "Traces",
    doc: "threadbridge sends OTLP over HTTP with JSON bodies (`http/json`), which every OTLP/HTTP receiver takes; another value is accepted (orchestrators set it for every container), and the start-up line says JSON is sent anyway",
    default: "http/json",
  }),
  OTEL_SERVICE_NAME: variable(z.string().trim().min(1), {
    section: "Traces",
    doc: "the `service.name` of every span (`OTEL_RESOURCE_ATTRIBUTES` may add more attributes)",
    default: "threadbridge",
  }),
  OTEL_SDK_DISABLED: variable(
    z.preprocess((v) => (typeof v === "string" ? v.trim().toLowerCase() : v), z.enum(["true", "false"])),
    {
      section: "Traces",
      doc: "`true` turns traces off whatever the endpoint says",
      default: "false",
    },
  ),
  DATA_DIR: variable(z.string(), {
    section: "Storage",
    doc: "the embedded database and the generated local secrets",
    default: "./.data",
  }),
  DATABASE_URL: variable(postgresUrl, {
    section: "Storage",
    secret: true,
    doc: "Postgres connection string (`postgres://…`); it may carry the password",
    unset: "embedded PGlite in `DATA_DIR`",
    example: "postgres://threadbridge:your-password@localhost:5432/threadbridge",
  }),
  DATABASE_POOL_SIZE: variable(positiveInt("a whole number of connections"), {
    section: "Storage",
    doc: "Postgres connections of the hot-path pool per process (pg-boss keeps 4 and a listener, migrations and the CLI 2 more): keep the sum over all processes under the server's `max_connections`",
    default: "10",
  }),
  TOKEN_ENCRYPTION_KEY: variable(base64Key, {
    section: "Storage",
    secret: true,
    doc: "32-byte base64 key for AES-256-GCM token encryption (`openssl rand -base64 32`); a comma-separated list rotates keys, newest first",
    unset: "required with `DATABASE_URL`; generated into `DATA_DIR` in the embedded mode",
    example: "paste-the-output-of-openssl-rand-base64-32",
  }),
  REDIS_URL: variable(redisUrl, {
    section: "Storage",
    secret: true,
    doc: "Redis for the shared rate limiters; checked by `/readyz` when set; it may carry the password",
    unset: "in-process limiters",
    example: "redis://localhost:6379/0",
  }),
  IG_APP_ID: variable(z.string().regex(/^\d+$/, { error: "expected the numeric Instagram app id" }), {
    section: "Instagram",
    doc: "the Instagram app's id; with `IG_APP_SECRET` it turns on Business Login (accounts connected from the console)",
    unset: "Business Login is off",
    example: "1234567890123456",
  }),
  IG_APP_SECRET: variable(z.string().min(8, { error: "expected the Instagram app secret" }), {
    section: "Instagram",
    secret: true,
    doc: "the Instagram app's secret: webhook signatures are checked with it, and Business Login exchanges codes with it",
    unset:
      "embedded mode: a local secret from `DATA_DIR` (for `threadbridge replay`); with Postgres, webhooks are answered 503",
    example: "your-instagram-app-secret",
  }),
  META_APP_SECRET: variable(z.string().min(8, { error: "expected the Meta app secret" }), {
    section: "Instagram",
    secret: true,
    doc: "the Meta app's secret when it differs: signatures are accepted under either secret, because Meta's documentation disagrees on which one signs Instagram-Login webhooks",
    example: "your-meta-app-secret",
  }),
  IG_VERIFY_TOKEN: variable(z.string().min(1), {
    section: "Instagram",
    secret: true,
    doc: "the token Meta sends back in the webhook verification handshake (`hub.verify_token`): the same as in the app dashboard",
    unset: "embedded mode: a local token from `DATA_DIR`; with Postgres, the handshake is refused",
    example: "your-webhook-verify-token",
  }),
  IG_GRAPH_URL: variable(url("an http(s) URL such as https://graph.instagram.com"), {
    section: "Instagram",
    doc: "Graph API base (tests point it at a local fake)",
    default: "https://graph.instagram.com",
  }),
  IG_API_VERSION: variable(
    z
      .string()
      .regex(/^v\d+\.\d+$/, { error: "expected a version such as v25.0" })
      .refine((v) => Number(v.slice(1)) >= 21, { error: "expected v21.0 or newer (seed 002)" }),
    { section: "Instagram", doc: "Graph API version; `v21.0` or newer", default: "v25.0" },
  ),
  IG_HUMAN_AGENT: variable(bool, {
    section: "Instagram",
    doc: "the app has the Human Agent feature: tagged human replies up to 7 days",
    default: "false",
  }),
  TOKEN_REFRESH_DAYS: variable(intInRange(1, 59, "a whole number of days"), {
    section: "Instagram",
    doc: "a long-lived token is refreshed (daily pass, 04:23 UTC) once it expires within this many days (1–59): halfway through its 60 days, so about thirty daily attempts ride out an outage before owners are warned a week ahead",
    default: "30",
  }),
  IG_APP_NAMES: variable(
    z.string().regex(/^\s*\d+\s*=[^,=]+(,\s*\d+\s*=[^,=]+)*$/, {
      error: "expected id=Name pairs separated by commas",
    }),
    {
      section: "Instagram",
      doc: "names of the other apps that may hold a conversation (Conversation Routing), by app id, for the thread's root",
      unset: "another app is named by its id; the Instagram inbox by name",
      example: "1234567890=ManyChat,2345678901=Inrō",
    },
  ),
  WEBHOOK_SILENCE_MINUTES: variable(positiveInt("a whole number of minutes"), {
    section: "Instagram",
    doc: "an account whose webhooks have been silent this long, and longer than 4 times its usual gap between events, raises the silence alarm",
    default: "360",
  }),
  PROFILE_REFRESH_HOURS: variable(positiveInt("a whole number of hours"), {
    section: "Instagram",
    doc: "age after which a customer's name and picture are fetched again",
    default: "24",
  }),
  ...consoleEnv,
  INBOUND_RETRY_LIMIT: variable(positiveInt("a whole number of retries"), {
    section: "Queue and workers",
    doc: "retries of an inbound event (exponential backoff from 2 s, at most 5 min apart: about an hour, enough to ride out a chat platform's outage) before it is dead-lettered",
    default: "20",
  }),
  INBOUND_EXPIRE_SECONDS: variable(positiveInt("a whole number of seconds"), {
    section: "Queue and workers",
    doc: "the longest one event or reply may be handled before its job is handed out again; a dead worker's jobs are handed out sooner, once their 10 s heartbeat goes stale",
    default: "900",
  }),
  QUEUE_SUPERVISE_SECONDS: variable(positiveInt("a whole number of seconds"), {
    section: "Queue and workers",
    doc: "how often the worker looks for lost jobs; a crashed worker's event is retried within about 10 s (heartbeat) + supervise seconds",
    default: "15",
  }),
  WORKER_POLL_SECONDS: variable(
    z.coerce
      .number({ error: "expected seconds, at least 0.5" })
      .min(0.5, { error: "expected seconds, at least 0.5" }),
    {
      section: "Queue and workers",
      doc: "how often an idle worker looks for jobs; new jobs wake it at once (LISTEN/NOTIFY) and a busy worker fetches again as soon as it finishes one, so this only bounds the wait for a job made runnable elsewhere (a retry, another worker's completion) or by the clock (a conversation timer, the end of a snooze)",
      default: "1",
    },
  ),
  WORKER_CONCURRENCY: variable(positiveInt("a whole number of parallel jobs"), {
    section: "Queue and workers",
    doc: "events handled in parallel per worker process (always one at a time per conversation); an event spends most of its time waiting on Postgres and the chat platform, so a process keeps many in hand",
    default: "32",
  }),
  OUTBOUND_CONCURRENCY: variable(positiveInt("a whole number of parallel sends"), {
    section: "Sending and rate limits",
    doc: "sends in flight per worker process (always one at a time per conversation)",
    default: "4",
  }),
  OUTBOUND_WORKERS: variable(intInRange(1, 1000, "the number of worker processes"), {
    section: "Sending and rate limits",
    doc: "how many worker processes send for the same accounts: while Redis is unreachable each keeps to 1/N of every Instagram limit, so together they stay within it",
    default: "1",
  }),
  OUTBOUND_ECHO_GRACE_SECONDS: variable(positiveInt("a whole number of seconds"), {
    section: "Sending and rate limits",
    doc: "after a worker died during a send, how long its retry waits for Instagram's echo before sending again",
    default: "30",
  }),
  IG_RATE_LIMITS: variable(
    z
      .string()
      .regex(
        // Every class of ratelimit/classes.ts (a hand-kept list here once left sender_action out).
        new RegExp(`^\\s*${CLASS_RATE}(\\s*,\\s*${CLASS_RATE})*\\s*$`),
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
    {
      section: "Sending and rate limits",
      doc: "override per-account limits of some classes, as `class=calls/seconds` pairs",
      unset: `defaults (seed 002's, and send_images=10/1, sender_action=20/1, reaction=10/1): ${limitsText(DEFAULT_LIMITS)}`,
      example: "send_text=50/1,private_reply=500/3600",
    },
  ),
  IG_RATE_LIMIT_GUARD_MS: variable(intInRange(0, 1000, "milliseconds"), {
    section: "Sending and rate limits",
    doc: "extra window length that absorbs the delay between a limiter's grant and the call reaching Instagram beyond what the limiter measures (it widens the window by the spread of its calls' delays by itself; see Sending to Instagram)",
    default: "20",
  }),
  DIGEST_HOUR: variable(intInRange(0, 23, "an hour of the day"), {
    section: "Digests and reminders",
    doc: "local hour the scheduled digests are posted to each account's digest channel (`accounts route ID … --digest-channel ID`)",
    default: "8",
  }),
  DIGEST_WEEKDAY: variable(
    z.enum(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], { error: "expected mon, tue, … or sun" }),
    {
      section: "Digests and reminders",
      doc: "the day of the weekly digest (covering the last local week, Monday to Sunday): `mon`, `tue`, … or `sun`",
      default: "mon",
    },
  ),
  DIGEST_TIMEZONE: variable(
    z.string().refine(validTimeZone, { error: 'expected an IANA time zone such as "Europe/Berlin"' }),
    {
      section: "Digests and reminders",
      doc: "the zone of digests and their hours for accounts whose rule file sets no `timezone`",
      default: "UTC",
      example: "Europe/Berlin",
    },
  ),
  SLA_MINUTES: variable(
    z.coerce
      .number({ error: "expected a whole number of minutes (0 turns SLA alerts off)" })
      .int({ error: "expected a whole number of minutes (0 turns SLA alerts off)" })
      .min(0, { error: "expected a whole number of minutes (0 turns SLA alerts off)" }),
    {
      section: "Digests and reminders",
      doc: "a conversation waiting longer for a human answer (counted within opening hours when the account has them) gets one reminder in its thread; `0` turns reminders off; the digest lists those over it",
      default: "60",
    },
  ),
  RETENTION_MESSAGE_DAYS: variable(positiveInt("a whole number of days"), {
    section: "Privacy and retention",
    doc: "message texts and attachment links older than this are erased by the daily purge (03:17 UTC); ids, times and delivery states stay",
    default: "90",
  }),
  RETENTION_RAW_EVENT_DAYS: variable(positiveInt("a whole number of days"), {
    section: "Privacy and retention",
    doc: "raw webhook items (and the text inside stored events) older than this are erased; events not yet processed are kept",
    default: "14",
  }),
  RETENTION_REVOKED_ACCOUNT_DAYS: variable(positiveInt("a whole number of days"), {
    section: "Privacy and retention",
    doc: "an account deauthorized on Instagram keeps its data this long (in case it reconnects), then the daily purge erases it",
    default: "7",
  }),
  CONSENT_STOP_WORDS: variable(wordList, {
    section: "Privacy and retention",
    doc: "comma-separated whole messages by which customers opt out of messages (any case, trailing punctuation ignored)",
    unset: [...DEFAULT_CONSENT_WORDS.stop].join(", "),
    example: "stop,unsubscribe,arrêt",
  }),
  CONSENT_START_WORDS: variable(wordList, {
    section: "Privacy and retention",
    doc: "comma-separated whole messages by which customers opt back into messages (any case, trailing punctuation ignored)",
    unset: [...DEFAULT_CONSENT_WORDS.start].join(", "),
    example: "start,subscribe",
  }),
  CHAT_CHECK_SECONDS: variable(intInRange(1, 86_400, "a whole number of seconds"), {
    section: "Chat",
    doc: "how often each process checks every configured chat platform (the token, its scopes or intents) and the channels accounts are routed to, for `/readyz` and the `threadbridge_chat_*` metrics; a worker also rechecks held destinations this often and lets their mirror work go once one passes",
    default: "120",
  }),
  LEADER_INTERVAL_SECONDS: variable(positiveInt("a whole number of seconds"), {
    section: "Chat",
    doc: "how often a worker tries to take over a chat platform's leader work (such as a gateway connection), and the holder checks its lock; a dead holder is replaced within about this long",
    default: "5",
  }),
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
  /** How often chat platforms and routed channels are checked, and held destinations rechecked. */
  chatCheckMs: number;
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
  /** Other apps' names by app id (IG_APP_NAMES), for roots saying who holds a conversation. */
  appNames: ReadonlyMap<string, string>;
  /** The shortest silence of an account's webhooks that raises the alarm (WEBHOOK_SILENCE_MINUTES). */
  webhookSilenceMs: number;
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
  /** OpenTelemetry traces over OTLP/HTTP; undefined: off (no endpoint, or OTEL_SDK_DISABLED). */
  tracing:
    | {
        /** Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else ENDPOINT + /v1/traces. */
        url: string;
        serviceName: string;
        /** OTEL_EXPORTER_OTLP_PROTOCOL when it asks for something else than the JSON that is sent. */
        otherProtocol: string | undefined;
        /** OTEL_EXPORTER_OTLP_HEADERS, then _TRACES_HEADERS over it (either may come from its
         * NAME_FILE, which the SDK would not read, so they are passed to the exporter). */
        headers: Record<string, string>;
      }
    | undefined;
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

/** How ADMIN_USERS documents one prefix: `` `slack-group:ID` (a Slack user group …) ``. */
function prefixDoc(platforms: readonly PlatformDescriptor[], kinds: ReadonlyArray<ChatRef["kind"]>) {
  return platforms
    .flatMap((p) =>
      kinds.map((kind) => {
        const ref = p.refs[kind];
        return ref && `\`${ref.prefix}:ID\` (${ref.what ?? `a ${p.label} ${kind}`})`;
      }),
    )
    .filter((d) => d !== undefined)
    .join(", ");
}

/** The core's variables, with those naming people and groups of `platforms`. */
function coreSchema(platforms: readonly PlatformDescriptor[]) {
  return envSchema.extend({
    ADMIN_USERS: variable(refList(platforms, ["user", "group"]), {
      section: "Chat",
      doc: `who may use privileged chat controls (pause and resume sending, delete comments, consent, export, forget, rule switches, \`/ig digest\`), comma-separated: ${prefixDoc(platforms, ["user", "group"]) || "no chat platform here has people to name"}. Everyone else is refused with a message saying how to be added, and every refusal is audited`,
      unset: "nobody",
      example: refExample(platforms, ["user", "group"]),
    }),
    SLA_ON_DUTY: variable(refList(platforms, ["group"]), {
      section: "Digests and reminders",
      doc: `who a reminder mentions when the conversation has no assignee, comma-separated: ${prefixDoc(platforms, ["group"]) || "no chat platform here has groups to name"}`,
      unset: "nobody",
      example: refExample(platforms, ["group"]),
    }),
  });
}

/** The whole environment schema: the core's variables and every platform's. */
function environmentSchema(platforms: readonly PlatformDescriptor[]) {
  const core = coreSchema(platforms);
  return { core, all: core.extend(Object.assign({}, ...platforms.map((p) => p.env)) as z.ZodRawShape) };
}

/** One environment variable as docs/configuration.md and .env.example list it. */
export interface Variable {
  name: string;
  schema: z.ZodType;
  /** Undefined for a variable declared without `variable()`, which test/config/generated-docs.test.ts
   * refuses. */
  doc: VariableDoc | undefined;
  /** The platform that declares it; undefined for the core's. */
  platform: PlatformDescriptor | undefined;
}

/** Every variable this build reads: the core's, then each platform's, in declaration order. */
export function variables(platforms: readonly PlatformDescriptor[]): Variable[] {
  return listVariables(coreSchema(platforms), platforms);
}

function listVariables(
  core: ReturnType<typeof coreSchema>,
  platforms: readonly PlatformDescriptor[],
): Variable[] {
  const describe = (platform: PlatformDescriptor | undefined) => (entry: [string, z.core.$ZodType]) => ({
    name: entry[0],
    schema: entry[1] as z.ZodType,
    doc: envDocs.get(entry[1] as z.ZodType),
    platform,
  });
  return [
    ...Object.entries(core.shape).map(describe(undefined)),
    ...platforms.flatMap((p) => Object.entries(p.env).map(describe(p))),
  ];
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

/** Traces are on when an OTLP endpoint is set and OTEL_SDK_DISABLED is not `true`. */
function tracingConfig(e: z.infer<typeof envSchema>): Config["tracing"] {
  if (e.OTEL_SDK_DISABLED === "true") return undefined;
  const url =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`
      : undefined);
  if (!url) return undefined;
  const protocol = e.OTEL_EXPORTER_OTLP_PROTOCOL;
  return {
    url,
    serviceName: e.OTEL_SERVICE_NAME ?? "threadbridge",
    otherProtocol: protocol && protocol !== "http/json" ? protocol : undefined,
    headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
  };
}

/**
 * Reads the environment, with the variables of every chat platform of `platforms` (the list
 * adapters/index.ts exports). A variable that is present but malformed throws a ConfigError whose
 * message is one line per variable naming it and what is expected.
 */
export function loadConfig(env: NodeJS.ProcessEnv, platforms: readonly PlatformDescriptor[]): Config {
  checkPlatforms(platforms);
  const { core, all } = environmentSchema(platforms);
  const secrets = listVariables(core, platforms)
    .filter((v) => v.doc?.secret)
    .map((v) => v.name);
  const files = readSecretFiles(env, secrets);
  // Each platform's variables are checked with the core's, so every malformed one gets its line.
  const parsed = all.safeParse(files.env);
  if (!parsed.success || files.problems.length > 0) {
    // One line per variable: its first complaint is the one to fix.
    const byName = new Map<string, string>();
    for (const issue of parsed.error?.issues ?? []) {
      const name = String(issue.path[0] ?? "environment");
      const source = files.fromFile.has(name) ? `${name} (from ${name}_FILE)` : name;
      if (!byName.has(name)) byName.set(name, `${source}: ${issue.message}`);
    }
    throw new ConfigError([...files.problems, ...byName.values()].join("\n"));
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
    tracing: tracingConfig(e),
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
    chatCheckMs: (e.CHAT_CHECK_SECONDS ?? 120) * 1000,
    tokenEncryptionKeys: e.TOKEN_ENCRYPTION_KEY,
    console: consoleConfig(e),
    businessLogin: businessLoginConfig(e),
    logLevel: e.LOG_LEVEL ?? "info",
    webhookMaxBody: e.WEBHOOK_MAX_BODY ?? "1mb",
    admins: e.ADMIN_USERS ?? [],
    profileRefreshHours: e.PROFILE_REFRESH_HOURS ?? 24,
    appNames: parseAppNames(e.IG_APP_NAMES),
    webhookSilenceMs: (e.WEBHOOK_SILENCE_MINUTES ?? 360) * 60_000,
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
    rateLimitGuardMs: e.IG_RATE_LIMIT_GUARD_MS ?? 20,
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
      // An event's handling is mostly waiting (five round trips to Postgres and a chat call, each
      // longer on a busy machine), so a process's throughput is about its slots over an event's
      // time in hand: 8 slots held one worker near 320 events/s (a 250/s step failed) on 2 cores
      // with the CPU not full; 32 reach the CPU's limit, and 64 add nothing (bench/README.md,
      // "Mirror capacity, eighth pass").
      concurrency: e.WORKER_CONCURRENCY ?? 32,
      superviseSeconds: e.QUEUE_SUPERVISE_SECONDS ?? 15,
      pollSeconds: e.WORKER_POLL_SECONDS ?? 1,
    },
  };
}
