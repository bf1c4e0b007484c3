import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../log/logger.ts";
import { expectedReason, wasLogged } from "./expected-answer.ts";

// The request log: one line per answered request, at the level its outcome deserves, naming the
// request by a per-process id, its method and its path (never its query string, which can carry
// tokens, nor its headers: requests carry Cookie and Authorization, answers Set-Cookie).
//
// This replaced pino-http, which made a child logger for every request as it arrived: pino
// serialises and redacts a child's bindings when it is made (the ~50 redaction paths run over
// them), which cost about 3 % of the web process's time under webhook load, for a line that is
// written at debug (a webhook answered 200) and so, at the default level, never. Here nothing is
// made per request: the level is decided when the answer is sent, and a line is built only when
// that level is enabled. It goes through the service's logger, so every line is redacted as any
// other. A logger bound to the request is made only when something asks for it (requestLogger).

type Level = "error" | "warn" | "info" | "debug";

interface RequestEntry {
  id: number;
  method: string;
  path: string;
}

const ENTRY = Symbol("request log entry");
type Logged = Request & { [ENTRY]?: RequestEntry };

/** The request log's level for an answer: one line per condition, at the level it deserves. */
export function requestLogLevel(res: Response, err: Error | undefined): Level {
  if (err) return "error";
  // The route logged the condition itself (a refused webhook): the request is detail.
  if (wasLogged(res)) return "debug";
  // Working as designed (the console's setup page): worth a line, not an alarm.
  if (expectedReason(res)) return "info";
  if (res.statusCode >= 500) return "error";
  return res.statusCode >= 400 ? "warn" : "debug";
}

let lastId = 0;

/** The request as its log lines name it: id, method and path (made once per request). */
function entryOf(req: Request): RequestEntry {
  const logged = req as Logged;
  if (!logged[ENTRY]) {
    lastId = (lastId + 1) & 0x7fffffff;
    logged[ENTRY] = {
      id: lastId,
      method: req.method,
      path: (req.originalUrl ?? req.url).split("?")[0] ?? "",
    };
  }
  return logged[ENTRY];
}

/** A logger whose lines name this request, as the request log's line does. */
export function requestLogger(log: Logger, req: Request): Logger {
  return log.child({ req: entryOf(req) });
}

/**
 * Logs each answer when it is sent (or the connection closes first), except for paths in `quiet`
 * (probes and scrapes). 5xx answers and errors are logged with what went wrong: the error (with its
 * stack) when there is one, the reason when the answer was expected, else the status alone.
 */
export function requestLog(log: Logger, quiet: ReadonlySet<string>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // The id is taken as the request arrives, so ids follow arrival order.
    entryOf(req);
    const started = Date.now();
    const skip = quiet.has(req.url);
    let done = false;
    const onDone = (err?: Error) => {
      if (done) return;
      done = true;
      res.off("finish", onDone);
      res.off("close", onDone);
      res.off("error", onDone);
      if (skip && !err) return;
      const failure = err instanceof Error ? err : undefined;
      const level = requestLogLevel(res, failure);
      if (!log.isLevelEnabled(level)) return;
      const fields = {
        req: entryOf(req),
        res: { statusCode: res.statusCode },
        responseTime: Date.now() - started,
      };
      const expected = expectedReason(res);
      if (failure) log[level]({ ...fields, err: failure }, failure.message);
      else if (res.statusCode >= 500)
        log[level](expected ? { ...fields, expected } : fields, expected ?? `answered ${res.statusCode}`);
      else log[level](fields, "request completed");
    };
    res.on("finish", onDone);
    res.on("close", onDone);
    res.on("error", onDone);
    next();
  };
}
