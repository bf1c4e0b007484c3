import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import type { Service } from "../../src/service.ts";
import {
  METRICS_TOKEN,
  OPERATOR,
  startTestService,
  TEST_BACKEND,
  type TestEnv,
  testEnv,
} from "../helpers/service.ts";

// Issue 16: /metrics and /readyz were public, /readyz with every dependency's error message, the
// paused accounts and the outbound queue. With METRICS_TOKEN, /metrics needs it as a bearer token;
// /readyz tells everyone its status (with the same status code) and shows the rest only with it.

describe("with METRICS_TOKEN", () => {
  let t: TestEnv;
  let service: Service;
  let url: string;
  beforeAll(async () => {
    // Redis unreachable: the details would name its address and the error.
    t = await testEnv(TEST_BACKEND, { METRICS_TOKEN, REDIS_URL: "redis://127.0.0.1:1" });
    service = await startTestService(t, { worker: false });
    url = service.url as string;
  });
  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
  });

  it("refuses /metrics without the bearer token or with another one", async () => {
    for (const authorization of [
      undefined,
      "",
      "Bearer",
      `Bearer ${METRICS_TOKEN}x`,
      `Bearer ${METRICS_TOKEN.slice(0, -1)}`,
      `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString("base64")}`,
      METRICS_TOKEN,
    ]) {
      const res = await fetch(
        `${url}/metrics`,
        authorization === undefined ? {} : { headers: { authorization } },
      );
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="threadbridge metrics"');
      const body = await res.text();
      expect(body).not.toMatch(/threadbridge_/);
      expect(JSON.parse(body)).toEqual({
        error: "unauthorized",
        detail: "expected Authorization: Bearer METRICS_TOKEN",
      });
    }
  });

  it("serves /metrics with it", async () => {
    for (const authorization of [OPERATOR.authorization, `bearer ${METRICS_TOKEN}`]) {
      const res = await fetch(`${url}/metrics`, { headers: { authorization } });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/threadbridge_queue_depth/);
    }
  });

  it("answers /readyz with the status alone without it", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong-token-0123456789" }]) {
      const res = await fetch(`${url}/readyz`, { headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "degraded" });
    }
  });

  it("shows /readyz's checks and details with it", async () => {
    const res = await fetch(`${url}/readyz`, { headers: OPERATOR });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "degraded",
      checks: { database: { ok: true }, redis: { ok: true, degraded: true } },
      outbound: { paused: { global: false } },
    });
  });
});

describe("without METRICS_TOKEN", () => {
  let t: TestEnv;
  let service: Service;
  let url: string;
  beforeAll(async () => {
    t = await testEnv(TEST_BACKEND, { REDIS_URL: "redis://127.0.0.1:1" });
    service = await startTestService(t, { worker: false });
    url = service.url as string;
  });
  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
  });

  it("keeps /metrics open, as Prometheus expects by default", async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/threadbridge_queue_depth/);
  });

  it("shows nobody /readyz's details: no error messages, accounts or queues", async () => {
    const res = await fetch(`${url}/readyz`, { headers: OPERATOR });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: "degraded" });
    expect(text).not.toMatch(/127\.0\.0\.1|unreachable|ECONNREFUSED/);
  });

  it("answers 503 with the status alone when a dependency is down", async () => {
    await service.db.query("SELECT 1"); // up now; take the queue's schema away
    await service.db.query("ALTER SCHEMA pgboss RENAME TO pgboss_gone");
    try {
      const res = await fetch(`${url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "unavailable" });
    } finally {
      await service.db.query("ALTER SCHEMA pgboss_gone RENAME TO pgboss");
    }
  });
});

describe("the METRICS_TOKEN setting", () => {
  it("refuses a short token with one line naming it", () => {
    expect(() => loadConfig({ DATA_DIR: "/tmp/x", METRICS_TOKEN: "short" }, platforms)).toThrow(
      new ConfigError(
        "METRICS_TOKEN: expected at least 16 printable characters without spaces (`openssl rand -hex 32`)",
      ),
    );
    expect(loadConfig({ DATA_DIR: "/tmp/x", METRICS_TOKEN: METRICS_TOKEN }, platforms).metricsToken).toBe(
      METRICS_TOKEN,
    );
    expect(loadConfig({ DATA_DIR: "/tmp/x" }, platforms).metricsToken).toBeUndefined();
  });
});
