import { ROOT_CONTEXT } from "@opentelemetry/api";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
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
import type { ReadinessCheck } from "./health.ts";
import { healthRouter } from "./health.ts";
import { requestLog, requestLogger } from "./request-log.ts";
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
  // One line per answer, at its level; headers and query strings are never logged (request-log.ts).
  app.use(requestLog(deps.log, QUIET_ROUTES));

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
      const log = requestLogger(deps.log, req);
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
