import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { NamedCheck, PlatformProbe } from "../chat/health.ts";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { migrationState } from "../db/migrate.ts";
import { SUBSCRIBED_FIELDS } from "../instagram/business-login.ts";
import { GraphClient } from "../instagram/graph-client.ts";
import type { GraphError } from "../instagram/graph-errors.ts";
import { TokenCipher } from "../instagram/token-cipher.ts";
import type { Logger } from "../log/logger.ts";
import { authChecks, destinationCheck, probesOf } from "./chat-health.ts";
import { listHolds } from "./holds.ts";
import { spanText, webhookSilence } from "./webhook-silence.ts";

// `threadbridge doctor` and the console's Doctor page (issue 19): everything an operator would
// otherwise find out from a silent thread, checked now, one line each with what to do about it.
// Read-only: nothing is migrated, subscribed, sent or released.

export interface DoctorCheck {
  /** What was checked: "database", "account @brand: token", "slack: channel C0123ABCD". */
  check: string;
  ok: boolean;
  /** Passing, but with something to do soon (a token expiring within a week). */
  warning?: boolean;
  detail: string;
  /** On failure (or warning): what to do, one sentence. */
  fix?: string;
}

export interface DoctorContext {
  config: Config;
  log: Logger;
  /** The open database, or why it could not be opened. */
  db: Database | { error: unknown };
  /** The probes of the configured chat platforms; the descriptors' own unless given. */
  probes?: Map<string, PlatformProbe>;
  fetch?: typeof fetch;
}

const EXPIRY_WARNING_DAYS = 7;
const TIMEOUT_MS = 8_000;

const RECONNECT =
  "Reconnect the account from the console (Business Login), or run `threadbridge accounts add --ig-user-id ID … --token-stdin` with a new token.";

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const pass = (check: string, detail: string): DoctorCheck => ({ check, ok: true, detail });
const fail = (check: string, detail: string, fix: string): DoctorCheck => ({ check, ok: false, detail, fix });

/** Every check, in the order they are shown. */
export async function runDoctor(ctx: DoctorContext): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  const opened = "error" in ctx.db ? undefined : ctx.db;
  const database = await databaseChecks(ctx, opened);
  out.push(...database);
  // A database that does not answer is not asked again for accounts and channels.
  const db = database.some((c) => c.detail.startsWith("reachable")) ? opened : undefined;
  out.push(await redisCheck(ctx.config));
  if (db)
    out.push(
      ...(await accountChecks(ctx, db).catch((err: unknown) => [
        fail(
          "accounts",
          `could not be read: ${message(err)}`,
          "Run `threadbridge migrate`, then check again.",
        ),
      ])),
    );
  if (db) out.push(...(await silenceChecks(ctx, db).catch(() => [])));
  out.push(await webhookCheck(ctx));
  out.push(...(await chatChecks(ctx, db)));
  return out;
}

/** Each active account's webhooks: arriving, or silent past its alarm (health/webhook-silence.ts). */
async function silenceChecks(ctx: DoctorContext, db: Database): Promise<DoctorCheck[]> {
  const now = new Date();
  return (await webhookSilence(db, ctx.config.webhookSilenceMs, now)).map((s) => {
    const check = `account ${s.username ? `@${s.username}` : s.account}: webhook traffic`;
    const quiet = spanText(now.getTime() - s.quietSince.getTime());
    const alarm = s.openHoursOnly
      ? `${spanText(s.quietMs)} within opening hours; alarm after ${spanText(s.thresholdMs)} of them`
      : `alarm after ${spanText(s.thresholdMs)}`;
    if (!s.silent)
      return pass(
        check,
        s.lastWebhookAt
          ? `last webhook ${quiet} ago (${alarm})`
          : `none yet since it was connected ${quiet} ago (${alarm})`,
      );
    return fail(
      check,
      s.lastWebhookAt
        ? `silent for ${quiet} (${alarm})`
        : `none since it was connected ${quiet} ago (${alarm})`,
      "Check the webhook subscription (the `subscribed_apps` line above, the callback URL and the app's fields in the Meta App Dashboard); then `threadbridge accounts backfill ACCOUNT` recovers recent messages.",
    );
  });
}

async function databaseChecks(ctx: DoctorContext, db: Database | undefined): Promise<DoctorCheck[]> {
  const { database } = ctx.config;
  const where = database.kind === "postgres" ? "Postgres" : "the embedded database";
  // The embedded database has no URL and no server: what can stop it is its directory.
  const unreachableFix =
    database.kind === "postgres"
      ? "Check DATABASE_URL and that Postgres is up and reachable from this host."
      : `Check that DATA_DIR (${database.dataDir}) exists and this process may read and write it, or set DATABASE_URL to use Postgres.`;
  if (!db) {
    const err = "error" in ctx.db ? ctx.db.error : undefined;
    const locked = err instanceof Error && err.name === "DatabaseLockedError";
    return [
      fail(
        "database",
        locked
          ? `${where} is in use by another threadbridge process that serves no commands (another command, or the service still starting)`
          : `${where} is unreachable: ${message(err)}`,
        locked
          ? "Try again in a moment (beside a running service, commands reach the database through it), or open the console's Doctor page (/doctor)."
          : unreachableFix,
      ),
    ];
  }
  try {
    await Promise.race([
      db.query("SELECT 1"),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS).unref(),
      ),
    ]);
  } catch (err) {
    return [fail("database", `${where} is unreachable: ${message(err)}`, unreachableFix)];
  }
  try {
    const { applied, pending } = await migrationState(db);
    return pending.length
      ? [
          fail(
            "database",
            `reachable; ${pending.length} migration(s) not applied (${pending.slice(0, 3).join(", ")}${pending.length > 3 ? ", …" : ""})`,
            "Run `threadbridge migrate` (the release phase) before starting this version.",
          ),
        ]
      : [pass("database", `reachable, migrations current (${applied} applied)`)];
  } catch (err) {
    return [
      fail(
        "database",
        `reachable, but its migrations could not be read: ${message(err)}`,
        "Run `threadbridge migrate`.",
      ),
    ];
  }
}

async function redisCheck(config: Config): Promise<DoctorCheck> {
  if (!config.redisUrl)
    return pass("redis", "not configured: rate limits are kept per process (set REDIS_URL to share them)");
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 3_000,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
    return pass("redis", `reachable at ${new URL(config.redisUrl).host}`);
  } catch (err) {
    return fail(
      "redis",
      `unreachable at ${new URL(config.redisUrl).host}: ${message(err)}`,
      "Check REDIS_URL and that Redis is up; meanwhile each process keeps its own share of the rate limits.",
    );
  } finally {
    redis.disconnect();
  }
}

interface AccountRow {
  id: string;
  username: string | null;
  status: string;
  token_ciphertext: string | null;
  token_key_id: string | null;
  token_expires_at: Date | null;
}

function graphFix(error: GraphError): string {
  return error.kind === "token_invalid"
    ? RECONNECT
    : error.kind === "permission_missing"
      ? "Grant the app the instagram_business_* permissions (App Review) and reconnect the account."
      : error.kind === "retryable"
        ? "Check that this host reaches IG_GRAPH_URL; Meta's status is at https://metastatus.com."
        : error.kind === "redirected"
          ? "Point IG_GRAPH_URL at Meta's Graph API (https://graph.instagram.com) and check any proxy in between: its calls are answered with a redirect, which is not followed."
          : RECONNECT;
}

async function accountChecks(ctx: DoctorContext, db: Database): Promise<DoctorCheck[]> {
  const { config } = ctx;
  const { rows } = await db.query<AccountRow>(
    `SELECT id, username, status, token_ciphertext, token_key_id, token_expires_at
       FROM instagram_accounts WHERE status <> 'removed' ORDER BY id`,
  );
  if (rows.length === 0)
    return [
      fail(
        "accounts",
        "no Instagram account is connected",
        "Connect one from the console (Business Login) or with `threadbridge accounts add`.",
      ),
    ];
  const graph = new GraphClient({
    baseUrl: config.instagram.graphUrl,
    apiVersion: config.instagram.apiVersion,
    maxRetries: 0,
    timeoutMs: TIMEOUT_MS,
    ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
  });
  let cipher: TokenCipher | undefined;
  try {
    cipher = TokenCipher.fromConfig(config.tokenEncryptionKeys);
  } catch {
    cipher = undefined;
  }
  const out: DoctorCheck[] = [];
  for (const a of rows) {
    const name = `account ${a.username ? `@${a.username}` : a.id}`;
    if (!a.token_ciphertext || !a.token_key_id) {
      out.push(fail(`${name}: token`, `no token stored (status ${a.status})`, RECONNECT));
      continue;
    }
    let token: string;
    try {
      if (!cipher) throw new Error("TOKEN_ENCRYPTION_KEY is not set");
      token = cipher.open(a.token_ciphertext, a.token_key_id);
    } catch (err) {
      out.push(
        fail(
          `${name}: token`,
          `the stored token cannot be decrypted: ${message(err)}`,
          "Set TOKEN_ENCRYPTION_KEY to include the key it was sealed with (key id shown above), or reconnect the account.",
        ),
      );
      continue;
    }
    const me = await graph.getMe(token);
    if (!me.ok)
      out.push(
        fail(
          `${name}: token`,
          // A redirect is refused before Instagram is asked anything: it says nothing of the token.
          me.error.kind === "redirected"
            ? `not checked: ${me.error.reason}`
            : `refused by Instagram: ${me.error.reason} (${me.error.message})`,
          graphFix(me.error),
        ),
      );
    else if (me.value.userId !== a.id)
      out.push(
        fail(
          `${name}: token`,
          `the token belongs to @${me.value.username} (${me.value.userId}), not to this account`,
          RECONNECT,
        ),
      );
    else out.push(pass(`${name}: token`, `accepted by Instagram (@${me.value.username})`));
    if (me.ok) {
      const subs = await graph.subscribedApps(token);
      const missing = subs.ok ? SUBSCRIBED_FIELDS.filter((f) => !subs.value.fields.includes(f)) : [];
      const subscribe = `Reconnect the account from the console (it subscribes the fields), or POST ${config.instagram.graphUrl}/${config.instagram.apiVersion}/me/subscribed_apps?subscribed_fields=${SUBSCRIBED_FIELDS.join(",")} with its token; the app's webhook fields must be on in the App Dashboard too.`;
      if (!subs.ok)
        out.push(
          fail(
            `${name}: webhooks`,
            `the subscription could not be read: ${subs.error.reason}`,
            graphFix(subs.error),
          ),
        );
      else if (!subs.value.subscribed)
        out.push(
          fail(`${name}: webhooks`, "not subscribed: Instagram sends nothing for this account", subscribe),
        );
      else if (subs.value.fields.length > 0 && missing.length)
        out.push(fail(`${name}: webhooks`, `fields not subscribed: ${missing.join(", ")}`, subscribe));
      else
        out.push(
          pass(
            `${name}: webhooks`,
            subs.value.fields.length ? `subscribed (${subs.value.fields.length} fields)` : "subscribed",
          ),
        );
    }
    out.push(expiryCheck(name, a.token_expires_at ? new Date(a.token_expires_at) : null));
  }
  return out;
}

function expiryCheck(name: string, expiresAt: Date | null): DoctorCheck {
  const check = `${name}: token expiry`;
  if (!expiresAt) return pass(check, "no expiry recorded");
  const days = (expiresAt.getTime() - Date.now()) / 86_400_000;
  const on = expiresAt.toISOString().slice(0, 10);
  if (days <= 0) return fail(check, `expired on ${on}`, RECONNECT);
  if (days <= EXPIRY_WARNING_DAYS)
    return {
      check,
      ok: true,
      warning: true,
      detail: `expires on ${on}, in ${Math.ceil(days)} day(s)`,
      fix: `The worker refreshes it daily; if it keeps failing (see \`threadbridge accounts list\`), ${RECONNECT[0]?.toLowerCase()}${RECONNECT.slice(1)}`,
    };
  return pass(check, `expires on ${on}, in ${Math.floor(days)} days`);
}

/** Meta's verification handshake against PUBLIC_URL, as Meta makes it. */
async function webhookCheck(ctx: DoctorContext): Promise<DoctorCheck> {
  const { config } = ctx;
  const check = "webhook URL";
  const url = `${config.publicUrl}/webhooks/instagram`;
  const token = config.instagram.verifyToken;
  if (!token)
    return fail(
      check,
      "IG_VERIFY_TOKEN is not set: the handshake is refused",
      "Set IG_VERIFY_TOKEN to the verify token of the App Dashboard's webhook setup.",
    );
  const challenge = randomBytes(8).toString("hex");
  const query = new URLSearchParams({
    "hub.mode": "subscribe",
    "hub.verify_token": token,
    "hub.challenge": challenge,
  });
  const fix = `Make ${url} reach this service (PUBLIC_URL, DNS, TLS, the proxy) with IG_VERIFY_TOKEN as set in the App Dashboard.`;
  try {
    const res = await (ctx.fetch ?? fetch)(`${url}?${query}`, {
      signal: AbortSignal.timeout(TIMEOUT_MS),
      redirect: "manual",
    });
    const body = (await res.text()).trim();
    if (res.status === 200 && body === challenge)
      return pass(check, `${url} answers the verification handshake`);
    return fail(
      check,
      `${url} answered ${res.status}${body === challenge ? "" : " without the challenge"}`,
      fix,
    );
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return fail(check, `${url} did not answer: ${message(cause ?? err)}`, fix);
  }
}

async function chatChecks(ctx: DoctorContext, db: Database | undefined): Promise<DoctorCheck[]> {
  const { config, log } = ctx;
  const out: DoctorCheck[] = [];
  const probes = ctx.probes ?? probesOf(config.platforms, log);
  const channels = new Map<string, Array<{ channel: string; accounts: string[] }>>();
  if (db) {
    const { rows } = await db
      .query<{ platform: string; channel: string; accounts: string[] }>(
        `SELECT platform, channel, array_agg(DISTINCT name ORDER BY name) AS accounts FROM (
         SELECT chat_platform AS platform, chat_channel AS channel, COALESCE('@' || username, id) AS name
           FROM instagram_accounts WHERE status <> 'removed'
         UNION ALL
         SELECT chat_platform, digest_channel, COALESCE('@' || username, id) || ' (digest)'
           FROM instagram_accounts WHERE status <> 'removed'
       ) c WHERE platform IS NOT NULL AND channel IS NOT NULL GROUP BY platform, channel ORDER BY platform, channel`,
      )
      .catch(() => ({ rows: [] }));
    for (const r of rows) channels.set(r.platform, [...(channels.get(r.platform) ?? []), r]);
  }
  for (const { descriptor } of config.platforms) {
    const name = descriptor.name;
    const probe = probes.get(name);
    if (!probe) {
      out.push(pass(name, "configured (this platform has no checks)"));
      continue;
    }
    const auth: NamedCheck[] = await authChecks(probe, TIMEOUT_MS);
    for (const c of auth)
      out.push(
        c.ok ? pass(`${name}: ${c.name}`, c.detail) : fail(`${name}: ${c.name}`, c.detail, c.fix ?? ""),
      );
    // A refused token fails every channel the same way: they are not asked then.
    const tokenOk = auth.find((c) => c.name === "token")?.ok !== false;
    for (const { channel, accounts } of channels.get(name) ?? []) {
      const check = `${name}: channel ${channel} (${accounts.join(", ")})`;
      if (!tokenOk) {
        out.push(fail(check, "not checked: the token is refused", "Fix the token first (the line above)."));
        continue;
      }
      const r = await destinationCheck(probe, channel, TIMEOUT_MS);
      out.push(r.ok ? pass(check, r.detail) : fail(check, r.detail, r.fix ?? ""));
    }
  }
  // Accounts routed to a platform this deployment does not run are never mirrored.
  for (const [platform, list] of channels)
    if (!config.platforms.some((p) => p.descriptor.name === platform)) {
      const label = config.availablePlatforms.find((p) => p.name === platform);
      out.push(
        fail(
          `${platform}: not configured`,
          `${list.map((c) => c.accounts.join(", ")).join(", ")} route to ${label?.label ?? platform}, which is not configured: their events are stored, not mirrored`,
          label
            ? `Set ${label.credentials.join(" and ")}, or route them elsewhere with \`threadbridge accounts route\`.`
            : "Route them to a configured platform with `threadbridge accounts route`.",
        ),
      );
    }
  if (db)
    for (const hold of await listHolds(db).catch(() => []))
      out.push(
        fail(
          `${hold.platform}: held ${hold.channel === "*" ? "(every channel)" : hold.channel}`,
          `mirror work held since ${hold.heldAt.toISOString()} (${hold.reason})${hold.lastCheck ? `; last recheck: ${hold.lastCheck}` : ""}`,
          `${hold.fix} The held work resumes by itself once the recheck passes.`,
        ),
      );
  return out;
}

/** `threadbridge doctor`'s exit code: 0 when every check passes (a warning passes), 1 otherwise. */
export function doctorExitCode(checks: readonly DoctorCheck[]): 0 | 1 {
  return checks.every((c) => c.ok) ? 0 : 1;
}

/** The report as text: one line per check, ✓, ⚠ or ✗, and on ✗ (and ⚠) the fix. */
export function formatDoctor(checks: readonly DoctorCheck[]): string {
  return checks
    .map((c) => {
      const mark = !c.ok ? "✗" : c.warning ? "⚠" : "✓";
      return `${mark} ${c.check}: ${c.detail}${c.fix && (!c.ok || c.warning) ? ` — ${c.fix}` : ""}\n`;
    })
    .join("");
}
