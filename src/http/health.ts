import { type Request, type Response, Router } from "express";
import type { Metrics } from "../observability/metrics.ts";

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

export function healthRouter(readiness: ReadinessCheck, metrics: Metrics): Router {
  const router = Router();
  router.get("/healthz", (_req: Request, res: Response) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req: Request, res: Response) => {
    const checks = await readiness.check();
    const ok = Object.values(checks).every((c) => c.ok);
    const degraded = Object.values(checks).some((c) => c.degraded);
    const details = await readiness.details?.().catch(() => undefined);
    res
      .status(ok ? 200 : 503)
      .json({ status: ok ? (degraded ? "degraded" : "ready") : "unavailable", checks, ...details });
  });
  router.get("/metrics", async (_req: Request, res: Response) => {
    await readiness.collect().catch(() => {});
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
