import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { pinoHttp } from "pino-http";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { ReadinessCheck } from "./health.ts";
import { healthRouter } from "./health.ts";

export interface HttpAppDeps {
  log: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck;
  /** Feature routers (webhooks, Slack, OAuth, …) mounted in order. */
  routers: express.Router[];
}

const QUIET_ROUTES = new Set(["/healthz", "/readyz", "/metrics"]);

export function createHttpApp(deps: HttpAppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", true);

  app.use((req, res, next) => {
    const end = deps.metrics.httpDuration.startTimer();
    res.on("finish", () => {
      const route = req.route?.path ?? (res.statusCode === 404 ? "unmatched" : req.path);
      end({ route });
      deps.metrics.httpRequests.inc({ route, status: String(res.statusCode) });
    });
    next();
  });
  app.use(
    pinoHttp({
      logger: deps.log,
      autoLogging: { ignore: (req) => QUIET_ROUTES.has(req.url ?? "") },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "debug",
      // Query strings can carry tokens (OAuth codes, hub.verify_token): log the path only.
      serializers: {
        req: (req: { method: string; url: string; id: unknown }) => ({
          id: req.id,
          method: req.method,
          path: req.url.split("?")[0],
        }),
      },
    }),
  );

  app.use(healthRouter(deps.readiness, deps.metrics));
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
      if (err.type === "entity.too.large") {
        deps.metrics.webhookRejected.inc({ reason: "too_large" });
        req.log.warn({ limit: err.limit, path: req.path }, "request body over the limit");
        res
          .status(413)
          .json({ error: "payload_too_large", detail: `body exceeds the limit of ${err.limit} bytes` });
        return;
      }
      if (err.status && err.status >= 400 && err.status < 500) {
        req.log.warn({ err: err.message, path: req.path }, "bad request");
        res.status(err.status).json({ error: "bad_request", detail: err.message });
        return;
      }
      req.log.error({ err }, "unhandled error");
      res.status(500).json({ error: "internal_error" });
    },
  );

  return app;
}
