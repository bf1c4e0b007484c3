import { type Request, type Response, Router } from "express";
import type { Metrics } from "../observability/metrics.ts";

export interface ComponentStatus {
  ok: boolean;
  detail?: string;
}

export interface ReadinessCheck {
  /** Each dependency's state: database, queue, Redis when configured. */
  check(): Promise<Record<string, ComponentStatus>>;
  /** Brings gauges (queue depth) up to date before a scrape. */
  collect(): Promise<void>;
}

export function healthRouter(readiness: ReadinessCheck, metrics: Metrics): Router {
  const router = Router();
  router.get("/healthz", (_req: Request, res: Response) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req: Request, res: Response) => {
    const checks = await readiness.check();
    const ok = Object.values(checks).every((c) => c.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? "ready" : "unavailable", checks });
  });
  router.get("/metrics", async (_req: Request, res: Response) => {
    await readiness.collect().catch(() => {});
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
