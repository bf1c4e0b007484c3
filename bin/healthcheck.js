#!/usr/bin/env node
// The container's health check (Dockerfile HEALTHCHECK, compose): GET /healthz on this host and
// exit 0 when it answers 200, 1 otherwise. Plain JavaScript with no dependency, so it costs a Node
// start-up and nothing more. The port: the first argument, else PORT, else 3000 (a worker-only
// process serves /healthz on its METRICS_PORT: pass that).

const port = process.argv[2] ?? process.env.PORT ?? "3000";
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4_000) });
  process.exit(res.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
