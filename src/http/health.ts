import { type Request, type Response, Router } from "express";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { sameSecret } from "./console/secrets.ts";

export interface ComponentStatus {
  ok: boolean;
  /** Working, but not as configured (e.g. rate limits enforced per process while Redis is down). */
  degraded?: boolean;
  detail?: string;
}

export interface ReadinessCheck {
  /** Each dependency's state: database, queue, Redis when configured. */
  check(): Promise<Record<string, ComponentStatus>>;
  /** Brings gauges (queue depth) up to date before a scrape. */
  collect(): Promise<void>;
  /** Operational state shown beside the checks (pauses, outbound queue per account). */
  details?(): Promise<Record<string, unknown>>;
}

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time. */
function bearerMatches(req: Request, token: string): boolean {
  const m = /^Bearer +(\S+) *$/i.exec(req.get("authorization") ?? "");
  return m?.[1] !== undefined && sameSecret(m[1], token);
}

/**
 * `/healthz`, `/readyz`, `/metrics`. With a token, `/metrics` needs it; `/readyz` answers everyone
 * with its status (and the status code load balancers act on), and shows the checks and the
 * operational details (error messages, paused accounts, queues) only to a request carrying the
 * token: without one configured, to nobody.
 */
export function healthRouter(
  readiness: ReadinessCheck,
  metrics: Metrics,
  token: string | undefined,
  log: Logger,
): Router {
  const router = Router();
  router.get("/healthz", (_req: Request, res: Response) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (req: Request, res: Response) => {
    const checks = await readiness.check();
    const ok = Object.values(checks).every((c) => c.ok);
    const degraded = Object.values(checks).some((c) => c.degraded);
    const status = ok ? (degraded ? "degraded" : "ready") : "unavailable";
    res.status(ok ? 200 : 503);
    if (!token || !bearerMatches(req, token)) {
      res.json({ status });
      return;
    }
    const details = await readiness.details?.().catch(() => undefined);
    res.json({ status, checks, ...details });
  });
  router.get("/metrics", async (req: Request, res: Response) => {
    if (token && !bearerMatches(req, token)) {
      log.warn(
        { given: req.get("authorization") !== undefined },
        "metrics scrape refused: wrong or no bearer token",
      );
      res
        .status(401)
        .set("www-authenticate", 'Bearer realm="threadbridge metrics"')
        .json({ error: "unauthorized", detail: "expected Authorization: Bearer METRICS_TOKEN" });
      return;
    }
    await readiness.collect().catch(() => {});
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
