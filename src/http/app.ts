import { ROOT_CONTEXT } from "@opentelemetry/api";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { pinoHttp } from "pino-http";
import type { TrustProxy } from "../config/trust-proxy.ts";
import type { Logger } from "../log/logger.ts";
import { httpMethodLabel, type Metrics } from "../observability/metrics.ts";
import {
  bindEmitter,
  runIn,
  SpanKind,
  SpanStatusCode,
  startSpan,
  tracingOn,
  withSpan,
} from "../tracing/spans.ts";
import { expectedReason, wasLogged } from "./expected-answer.ts";
import type { ReadinessCheck } from "./health.ts";
import { healthRouter } from "./health.ts";
import { securityHeaders } from "./security-headers.ts";

export interface HttpAppDeps {
  log: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck;
  /** Whose X-Forwarded-* headers are believed: req.ip, req.protocol and req.hostname follow it. */
  trustProxy: TrustProxy;
  /** Bearer token for /metrics and /readyz's details. */
  metricsToken: string | undefined;
  /** Feature routers (webhooks, Slack, OAuth, …) mounted in order. */
  routers: express.Router[];
  /** Paths whose route logs every answer itself, at its level (Meta's webhook deliveries): the
   * request log leaves them out (see below). */
  selfLoggedPaths?: readonly string[];
}

const QUIET_ROUTES = new Set(["/healthz", "/readyz", "/metrics"]);

/** The methods the service's routes take; every OPTIONS request is told these. */
const ALLOW = "GET, HEAD, POST";

/**
 * The metric label of a request: the pattern of the route that answered (written in the code, so a
 * fixed set), else `unmatched` (404) or `other` (OPTIONS, undecodable paths, …). Never the path a
 * client sent: every distinct label is a series kept for the life of the process.
 */
function routeLabel(req: Request, res: Response): string {
  const pattern: unknown = req.route?.path;
  if (typeof pattern === "string") return pattern;
  return res.statusCode === 404 ? "unmatched" : "other";
}

/** Opens the request's server span, makes it active for everything the request does (its body's
 * events included), and ends it with the route and status once the answer is sent. */
function requestSpan(req: Request, res: Response, next: NextFunction): void {
  // Probes and scrapes every few seconds would bury the traces that matter.
  if (QUIET_ROUTES.has(req.path)) {
    next();
    return;
  }
  const method = httpMethodLabel(req.method);
  const span = startSpan(method, SpanKind.SERVER, ROOT_CONTEXT, { "http.request.method": method });
  const ctx = withSpan(ROOT_CONTEXT, span);
  bindEmitter(ctx, req);
  bindEmitter(ctx, res);
  res.on("finish", () => {
    const route = routeLabel(req, res);
    span.updateName(`${method} ${route}`);
    span.setAttributes({ "http.route": route, "http.response.status_code": res.statusCode });
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  runIn(ctx, next);
}

/** The request log's level for an answer: one line per condition, at the level it deserves. */
function requestLogLevel(res: Response, err: Error | undefined): "error" | "warn" | "info" | "debug" {
  if (err) return "error";
  // The route logged the condition itself (a refused webhook): the request is detail.
  if (wasLogged(res)) return "debug";
  // Working as designed (the console's setup page): worth a line, not an alarm.
  if (expectedReason(res)) return "info";
  if (res.statusCode >= 500) return "error";
  return res.statusCode >= 400 ? "warn" : "debug";
}

export function createHttpApp(deps: HttpAppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  // Everything that reads the client's address (req.ip: the sign-in throttle, audit entries) goes
  // through this one setting; origins are judged against PUBLIC_URL, never the request's own.
  app.set("trust proxy", deps.trustProxy);

  // A server span per request when traces are on: what the request leads to (storing a webhook,
  // queueing a reply) becomes its child, and the jobs it queues carry it on. A trace starts here:
  // a caller's traceparent is not taken, since every caller is outside (Meta, Slack, browsers).
  if (tracingOn()) app.use(requestSpan);

  app.use((req, res, next) => {
    const end = deps.metrics.httpDuration.startTimer();
    res.on("finish", () => {
      const route = routeLabel(req, res);
      const method = httpMethodLabel(req.method);
      end({ method, route });
      deps.metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
    });
    next();
  });
  app.use(securityHeaders);
  const requestLog = pinoHttp({
    logger: deps.log,
    customLogLevel: (_req, res, err) => requestLogLevel(res as Response, err),
    // pino-http makes up an Error ("failed with status code 503") for a 5xx answered without
    // one: its stack is pino-http's own, so it is left out. A real error keeps its stack (and
    // the error handler below logs it); an expected answer says why instead.
    customErrorObject: (_req, res, err, val: Record<string, unknown>) => {
      const expected = expectedReason(res as Response);
      if (expected) return { res: val.res, responseTime: val.responseTime, expected };
      if (err.message === `failed with status code ${res.statusCode}`) {
        const { err: _madeUp, ...rest } = val;
        return rest;
      }
      return val;
    },
    customErrorMessage: (_req, res, err) =>
      expectedReason(res as Response) ??
      (err.message.startsWith("failed with status code") ? `answered ${res.statusCode}` : err.message),
    // Query strings can carry tokens (OAuth codes, hub.verify_token): log the path only.
    // Headers are never logged: requests carry Cookie and Authorization, answers Set-Cookie.
    serializers: {
      req: (req: { method: string; url: string; id: unknown }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split("?")[0],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
  // Left out of the request log altogether: probes and scrapes (many a minute, never a line), and
  // the paths whose route logs each of its answers itself. pino-http makes a child logger for every
  // request it sees (its bindings serialised at once) and puts three listeners on the answer, even
  // for a request it will not log: about 13 % of the web process's CPU per webhook in alternating
  // rounds of the ingest bench (bench/README.md, "sixteenth pass"). Such a request has no `req.log`.
  const unlogged = new Set([...QUIET_ROUTES, ...(deps.selfLoggedPaths ?? [])]);
  app.use((req, res, next) => (unlogged.has(req.path) ? next() : requestLog(req, res, next)));

  // Express would answer OPTIONS for any path a route matches, itself and before any route (so
  // unlabelled). The service takes no cross-origin calls: one answer for every path, no CORS.
  app.use((req, res, next) => {
    if (req.method !== "OPTIONS") {
      next();
      return;
    }
    res.set("allow", ALLOW).status(204).end();
  });

  app.use(healthRouter(deps.readiness, deps.metrics, deps.metricsToken, deps.log));
  for (const router of deps.routers) app.use(router);

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: "not_found", detail: `no route for ${req.method} ${req.path}` });
  });

  // Body parser failures carry a status and type; anything else is our fault.
  app.use(
    (
      err: Error & { status?: number; type?: string; limit?: number },
      req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      // A path left out of the request log has no request logger: one is made for its error,
      // named as the request log names requests.
      const log: Logger = req.log ?? deps.log.child({ req: { method: req.method, path: req.path } });
      if (err.type === "entity.too.large") {
        deps.metrics.webhookRejected.inc({ reason: "too_large" });
        log.warn({ limit: err.limit, path: req.path }, "request body over the limit");
        res
          .status(413)
          .json({ error: "payload_too_large", detail: `body exceeds the limit of ${err.limit} bytes` });
        return;
      }
      // A route's path parameter that is not valid percent-encoding, e.g. /files/%E0%A4%A/x.
      if (err instanceof URIError && err.status === 400) {
        log.warn({ path: req.path.slice(0, 200) }, "path not valid percent-encoding");
        res.status(400).json({ error: "bad_request", detail: "the path is not valid percent-encoding" });
        return;
      }
      if (err.status && err.status >= 400 && err.status < 500) {
        log.warn({ err: err.message, path: req.path }, "bad request");
        res.status(err.status).json({ error: "bad_request", detail: err.message });
        return;
      }
      log.error({ err }, "unhandled error");
      res.status(500).json({ error: "internal_error" });
    },
  );

  return app;
}
