import { createRequire } from "node:module";
import { type Logger, pino } from "pino";
import { secretScrubber } from "./scrub.ts";

export type { Logger };

// Keys whose values may carry secrets or customer content: logs name events and ids, never what a
// customer wrote or a credential (seed 000, 003). Matched by name, in any letter case, at any depth
// of a line (log/scrub.ts).
const SECRET_KEYS = [
  "token",
  "accessToken",
  "access_token",
  "secret",
  "appSecret",
  "signature",
  "text",
  "authorization",
  // Session cookies open the console: never in a log, wherever headers turn up (a request, an
  // answer, an HTTP client's error carrying its request and response).
  "cookie",
  "set-cookie",
  "x-hub-signature-256",
  "x-hub-signature",
  "hub.verify_token",
];

export function createLogger(
  level: string,
  options: {
    pretty?: boolean;
    destination?: NodeJS.WritableStream;
    /** More keys to redact: the chat platforms' signature headers (`secretHeaders`). */
    redactHeaders?: readonly string[];
    /** Log to standard error instead of standard output (one-off commands, whose output is theirs). */
    stderr?: boolean;
    /** The pretty printer's module (a test names one that is not installed). */
    prettyModule?: string;
  } = {},
): Logger {
  const fd = options.stderr ? 2 : 1;
  const tty = options.stderr ? process.stderr.isTTY : process.stdout.isTTY;
  const prettyModule = options.prettyModule ?? "pino-pretty";
  const wanted = !options.destination && (options.pretty ?? (tty && process.env.NODE_ENV !== "production"));
  // pino-pretty is a development dependency: an install with --omit=dev (the Docker image) run on a
  // terminal logs plain JSON instead of failing at start-up when the transport cannot be found.
  const pretty = wanted && installed(prettyModule);
  const settings = {
    level,
    base: { service: "threadbridge" },
    // Redacted in the line as written, by key (log/scrub.ts), not by pino's redaction paths.
    hooks: { streamWrite: secretScrubber([...SECRET_KEYS, ...(options.redactHeaders ?? [])]) },
    ...(pretty
      ? {
          transport: {
            target: prettyModule,
            options: { translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service", destination: fd },
          },
        }
      : {}),
  };
  const log = options.destination
    ? pino(settings, options.destination)
    : pretty || fd === 1
      ? pino(settings)
      : pino(settings, pino.destination({ fd, sync: true }));
  if (wanted && !pretty)
    log.debug(`${prettyModule} is not installed (a development dependency): logging JSON`);
  return log;
}

/** Whether a module can be found from here, without loading it. */
function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

let warningsTo: Logger | undefined;

/**
 * Node prints process warnings (a library's deprecation notice, an experimental feature) on stderr
 * as raw text; from here on they go to `log` as one warning line each. The newest logger wins.
 */
export function routeProcessWarnings(log: Logger): void {
  if (!warningsTo) {
    process.removeAllListeners("warning");
    process.on("warning", (warning: Error & { code?: string }) => {
      warningsTo?.warn({ warning: { name: warning.name, code: warning.code } }, warning.message);
    });
  }
  warningsTo = log;
}
