import { type Logger, pino } from "pino";

export type { Logger };

/** Bracket notation, so each also names a header among an object's `headers`. */
const COOKIE_HEADERS = ['["cookie"]', '["Cookie"]', '["set-cookie"]', '["Set-Cookie"]'];

// Paths that may carry secrets or customer content. Logs name events and ids, never what a
// customer wrote or a credential (seed 000, 003).
const REDACT = [
  "token",
  "*.token",
  "accessToken",
  "*.accessToken",
  "access_token",
  "*.access_token",
  "secret",
  "*.secret",
  "appSecret",
  "*.appSecret",
  "signature",
  "*.signature",
  "text",
  "*.text",
  "*.*.text",
  "message.text",
  "req.headers.authorization",
  // Session cookies open the console: never in a log, wherever headers turn up (a request, an
  // answer, an HTTP client's error carrying its request and response).
  ...COOKIE_HEADERS.flatMap((header) =>
    ["", "*", "*.*", "*.*.*"].flatMap((at) => [`${at}${header}`, `${at}${at && "."}headers${header}`]),
  ),
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-hub-signature"]',
  "req.query.access_token",
  'req.query["hub.verify_token"]',
];

export function createLogger(
  level: string,
  options: {
    pretty?: boolean;
    destination?: NodeJS.WritableStream;
    /** More request headers to redact: the chat platforms' signatures (`secretHeaders`). */
    redactHeaders?: readonly string[];
  } = {},
): Logger {
  const pretty =
    !options.destination &&
    (options.pretty ?? (process.stdout.isTTY && process.env.NODE_ENV !== "production"));
  const settings = {
    level,
    base: { service: "threadbridge" },
    redact: {
      paths: [...REDACT, ...(options.redactHeaders ?? []).map((h) => `req.headers[${JSON.stringify(h)}]`)],
      censor: "[redacted]",
    },
    ...(pretty
      ? {
          transport: {
            target: "pino-pretty",
            options: { translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service" },
          },
        }
      : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
