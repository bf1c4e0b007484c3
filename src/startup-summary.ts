import path from "node:path";
import type { NamedCheck } from "./chat/health.ts";
import type { Config } from "./config/config.ts";
import type { Defaulted } from "./config/local-secrets.ts";

const AND = new Intl.ListFormat("en", { type: "conjunction" });

/** One line per part of the service: what is configured, what is off and how to turn it on. `chat`:
 * each configured platform's checks, when they were made: a platform whose check fails says so
 * (`slack: failing (invalid_auth: …)`) instead of `on`. */
export function describeConfiguration(
  config: Config,
  defaulted: Defaulted,
  chat?: ReadonlyMap<string, readonly NamedCheck[]>,
): string[] {
  const lines: string[] = [];
  lines.push(
    config.database.kind === "postgres"
      ? `database: Postgres (${new URL(config.database.url).host})`
      : `database: embedded PGlite in ${path.resolve(config.dataDir)} (set DATABASE_URL for Postgres)`,
  );
  lines.push(
    config.redisUrl
      ? `rate limits: Redis at ${new URL(config.redisUrl).host}`
      : "rate limits: in-process (set REDIS_URL to share limits between processes)",
  );
  lines.push(
    defaulted.webhookSecret
      ? "instagram: IG_APP_SECRET not set; webhooks are verified with a local secret from DATA_DIR (for `threadbridge replay`)"
      : config.instagram.appSecrets.length
        ? `instagram: webhook signatures checked against ${config.instagram.appSecrets.length} secret(s)`
        : "instagram: IG_APP_SECRET not set; POST /webhooks/instagram answers 503 until it is",
  );
  lines.push(
    defaulted.verifyToken
      ? `instagram: IG_VERIFY_TOKEN not set; using the local one in ${path.join(config.dataDir, "local-secrets.json")}`
      : config.instagram.verifyToken
        ? "instagram: webhook verify token configured"
        : "instagram: IG_VERIFY_TOKEN not set; the webhook handshake is refused until it is",
  );
  lines.push(
    `instagram: Graph API ${config.instagram.graphUrl}/${config.instagram.apiVersion}, human agent tag ${config.instagram.humanAgent ? "on" : "off"}`,
  );
  for (const descriptor of config.availablePlatforms) {
    const on = config.platforms.find((p) => p.descriptor === descriptor);
    const failing = chat?.get(descriptor.name)?.filter((c) => !c.ok) ?? [];
    lines.push(
      !on
        ? `${descriptor.name}: off (set ${AND.format(descriptor.credentials)} to turn it on)`
        : failing.length
          ? `${descriptor.name}: failing (${failing.map((c) => c.detail).join("; ")}): ${failing[0]?.fix ?? ""}`.trimEnd()
          : `${descriptor.name}: on (${descriptor.summary(on.settings, config)})`,
    );
  }
  const user = config.availablePlatforms[0]?.refs.user;
  lines.push(
    config.admins.length
      ? `chat admins: ${config.admins.length} (ADMIN_USERS may pause and resume sending)`
      : `chat admins: none (set ADMIN_USERS${user ? `, e.g. ${user.prefix}:${user.example},` : ""} to allow /ig pause and resume)`,
  );
  const signIn = [
    // Named users are in the database, not the configuration: always possible, once one is added.
    "named users",
    config.console.passwordHash ? "shared password" : undefined,
    config.console.authHeader ? `${config.console.authHeader} from a trusted proxy` : undefined,
  ].filter(Boolean);
  lines.push(
    signIn.length > 1
      ? `console: ${config.publicUrl}/ (sign-in: ${signIn.join(" or ")}${defaulted.consoleSessionSecret ? "; session secret from DATA_DIR" : ""})`
      : `console: ${config.publicUrl}/ (sign-in: named users, once \`threadbridge console users add\` made one; or set CONSOLE_PASSWORD_HASH from \`threadbridge console hash-password\`, or CONSOLE_AUTH_HEADER behind a sign-on proxy)`,
  );
  lines.push(
    config.businessLogin
      ? `business login: on (OAuth redirect URI ${config.publicUrl}/oauth/instagram/callback)`
      : "business login: off (set IG_APP_ID and IG_APP_SECRET to connect accounts from the console)",
  );
  if (defaulted.tokenEncryptionKey) lines.push("tokens: encrypted with a key generated into DATA_DIR");
  lines.push(
    config.tracing
      ? `traces: OTLP/HTTP (JSON) to ${withoutCredentials(config.tracing.url)} as ${config.tracing.serviceName}${config.tracing.otherProtocol ? ` (OTEL_EXPORTER_OTLP_PROTOCOL=${config.tracing.otherProtocol} is not used: JSON is sent)` : ""}`
      : "traces: off (set OTEL_EXPORTER_OTLP_ENDPOINT to send them over OTLP/HTTP)",
  );
  return lines;
}

/** A URL as it may be printed: no user, password or query (where credentials hide). */
function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  u.search = "";
  return u.toString();
}
