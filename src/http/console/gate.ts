import type { ConsoleGate } from "../../chat/platform.ts";
import type { Config } from "../../config/config.ts";
import type { Database } from "../../db/database.ts";
import type { Logger } from "../../log/logger.ts";
import { ConsoleAuth } from "./auth.ts";
import { csrfOk } from "./csrf.ts";
import { SessionCookies } from "./session.ts";

// The console's sign-in as lent to the chat platforms' pages (PlatformContext.console): the same
// session cookie and CSRF token as the console's own pages, so one sign-in serves both. Sign-in
// and sign-out themselves stay with the console's router (routes.ts).

export function consoleGate(config: Config, db: Database, log: Logger): ConsoleGate | undefined {
  if (!config.console.sessionSecret) return undefined;
  const sessions = new SessionCookies(config.console.sessionSecret, {
    secure: config.publicUrl.startsWith("https:"),
    hours: config.console.sessionHours,
  });
  const auth = new ConsoleAuth({ config: config.console, sessions, publicUrl: config.publicUrl, db, log });
  return {
    signedIn: (req, res) => auth.signedIn(req, res),
    csrfOk: (req, session) => csrfOk(req, session, config.publicUrl),
    ended: (session) => auth.ended(session),
  };
}
