import { BlockList, isIP } from "node:net";
import { z } from "zod";
import { ConfigError, intInRange, url, variable } from "./env-schema.ts";
import { addressOrRangeProblem } from "./trust-proxy.ts";

// The web console's login and Business Login for Instagram (issue 9), read from the environment
// next to the rest of the configuration (config.ts spreads `consoleEnv` into its schema).

/** `$scrypt$ln=…,r=…,p=…$salt$hash`, as `threadbridge console hash-password` prints it. */
const PASSWORD_HASH = /^\$scrypt\$ln=\d{1,2},r=\d{1,2},p=\d{1,2}\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

const section = "Console";

export const consoleEnv = {
  CONSOLE_PASSWORD_HASH: variable(
    z.string().trim().regex(PASSWORD_HASH, {
      error: "expected a hash from `threadbridge console hash-password` ($scrypt$ln=17,r=8,p=1$…$…)",
    }),
    {
      section,
      secret: true,
      doc: "the console's admin password, as printed by `threadbridge console hash-password` (scrypt)",
      unset: "no password sign-in",
      example: "paste-the-output-of-threadbridge-console-hash-password",
    },
  ),
  CONSOLE_AUTH_HEADER: variable(
    z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, { error: "expected a header name such as X-Forwarded-Email" })
      .transform((s) => s.toLowerCase()),
    {
      section,
      doc: "trust this header (e.g. `X-Forwarded-Email`) from an authenticating proxy as the signed-in user",
      unset: "no sign-in through a proxy",
      example: "X-Forwarded-Email",
    },
  ),
  CONSOLE_TRUSTED_PROXIES: variable(
    z
      .string()
      .transform(list)
      .refine((l) => l.length > 0 && l.every((entry) => addressOrRangeProblem(entry) === undefined), {
        error: "expected comma-separated IP addresses or CIDR ranges such as 127.0.0.1,10.0.0.0/8",
      }),
    {
      section,
      doc: "comma-separated IPs or CIDR ranges of the sign-on proxy, the only peers whose `CONSOLE_AUTH_HEADER` is believed (name the proxy alone: not 127.0.0.1 unless the proxy itself runs on this host)",
      unset: "none; required with `CONSOLE_AUTH_HEADER`",
      example: "10.0.0.5",
    },
  ),
  CONSOLE_ALLOWED_USERS: variable(
    z
      .string()
      .transform((s) => list(s).map((u) => u.toLowerCase()))
      .refine((l) => l.length > 0, { error: "expected a comma-separated list of user names or emails" }),
    {
      section,
      doc: "comma-separated users or emails (any case) allowed in through the proxy",
      unset: "anyone the proxy signed in",
      example: "ann@example.com,bob@example.com",
    },
  ),
  CONSOLE_SESSION_SECRET: variable(
    z.string().min(32, { error: "expected at least 32 random characters (`openssl rand -base64 32`)" }),
    {
      section,
      secret: true,
      doc: "at least 32 random characters (`openssl rand -base64 32`) that seal the session cookies; the same on every web replica",
      unset:
        "generated into `DATA_DIR` in the embedded mode; required with `DATABASE_URL` once a console login is set",
      example: "paste-the-output-of-openssl-rand-base64-32",
    },
  ),
  CONSOLE_SESSION_HOURS: variable(intInRange(1, 720, "hours"), {
    section,
    doc: "how long a console sign-in lasts (1 to 720)",
    default: "12",
  }),
  IG_OAUTH_URL: variable(url("an http(s) URL such as https://www.instagram.com"), {
    section: "Instagram",
    doc: "where operators' browsers consent (Business Login); tests point it at a fake",
    default: "https://www.instagram.com",
  }),
  IG_API_URL: variable(url("an http(s) URL such as https://api.instagram.com"), {
    section: "Instagram",
    doc: "where the Business Login authorization code is exchanged; tests point it at a fake",
    default: "https://api.instagram.com",
  }),
};

type ConsoleEnv = { [K in keyof typeof consoleEnv]?: z.infer<(typeof consoleEnv)[K]> } & {
  IG_APP_ID?: string | undefined;
  IG_APP_SECRET?: string | undefined;
  DATABASE_URL?: string | undefined;
};

export interface ConsoleConfig {
  /** scrypt hash of the admin password; undefined: no password login. */
  passwordHash: string | undefined;
  /** Header a reverse proxy (oauth2-proxy…) names the signed-in user in; undefined: not trusted. */
  authHeader: string | undefined;
  /** The only peers whose `authHeader` is believed: CONSOLE_TRUSTED_PROXIES, required with it. */
  trustedProxies: string[];
  /** Lower-cased users the proxy may sign in; empty: anyone it authenticated. */
  allowedUsers: string[];
  /** Key material of the session cookies; filled from DATA_DIR in the embedded mode. */
  sessionSecret: string | undefined;
  sessionHours: number;
}

export interface BusinessLoginConfig {
  appId: string;
  appSecret: string;
  /** Where the operator's browser consents: https://www.instagram.com. */
  oauthUrl: string;
  /** Where the code is exchanged: https://api.instagram.com. */
  apiUrl: string;
}

export function consoleConfig(e: ConsoleEnv): ConsoleConfig {
  const login = Boolean(e.CONSOLE_PASSWORD_HASH || e.CONSOLE_AUTH_HEADER);
  if (login && e.DATABASE_URL && !e.CONSOLE_SESSION_SECRET)
    throw new ConfigError(
      "CONSOLE_SESSION_SECRET: required with DATABASE_URL once a console login is configured (`openssl rand -base64 32`; the same on every web replica)",
    );
  if (!e.CONSOLE_AUTH_HEADER && (e.CONSOLE_TRUSTED_PROXIES || e.CONSOLE_ALLOWED_USERS))
    throw new ConfigError(
      `${e.CONSOLE_TRUSTED_PROXIES ? "CONSOLE_TRUSTED_PROXIES" : "CONSOLE_ALLOWED_USERS"}: only means something with CONSOLE_AUTH_HEADER`,
    );
  // No default: a loopback default believed the header from anything on the same host, a TLS
  // terminator that passes client headers through included, so anyone could name any user.
  if (e.CONSOLE_AUTH_HEADER && !e.CONSOLE_TRUSTED_PROXIES)
    throw new ConfigError(
      "CONSOLE_TRUSTED_PROXIES: required with CONSOLE_AUTH_HEADER (the sign-on proxy's address or range, such as 10.0.0.5: the header is believed from it alone)",
    );
  return {
    passwordHash: e.CONSOLE_PASSWORD_HASH,
    authHeader: e.CONSOLE_AUTH_HEADER,
    trustedProxies: e.CONSOLE_TRUSTED_PROXIES ?? [],
    allowedUsers: e.CONSOLE_ALLOWED_USERS ?? [],
    sessionSecret: e.CONSOLE_SESSION_SECRET,
    sessionHours: e.CONSOLE_SESSION_HOURS ?? 12,
  };
}

/** Business Login needs the Instagram app's id and secret; without them it is off. */
export function businessLoginConfig(e: ConsoleEnv): BusinessLoginConfig | undefined {
  if (!e.IG_APP_ID || !e.IG_APP_SECRET) return undefined;
  return {
    appId: e.IG_APP_ID,
    appSecret: e.IG_APP_SECRET,
    oauthUrl: (e.IG_OAUTH_URL ?? "https://www.instagram.com").replace(/\/$/, ""),
    apiUrl: (e.IG_API_URL ?? "https://api.instagram.com").replace(/\/$/, ""),
  };
}

/** Whether `address` (a socket's remote address) is one of `trusted`. */
export function trustedPeer(address: string | undefined, trusted: readonly string[]): boolean {
  if (!address) return false;
  const list = new BlockList();
  for (const entry of trusted) {
    const [ip = "", bits] = entry.split("/");
    const type = isIP(ip) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  return list.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4");
}
