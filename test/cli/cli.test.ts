import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../../src/service.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { cli } from "../helpers/cli.ts";
import { testRedisUrl } from "../helpers/redis.ts";
import {
  METRICS_TOKEN,
  OPERATOR,
  startTestService,
  TEST_BACKEND,
  type TestEnv,
  testEnv,
} from "../helpers/service.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/webhooks/dm-text.json", import.meta.url));

describe("threadbridge CLI against Postgres", () => {
  let t: TestEnv;
  let service: Service;

  beforeAll(async () => {
    // A database never migrated: the service's start migrates it (every other file starts on a
    // copy of the run's migrated template), and `migrate` after it has nothing left to do.
    t = await testEnv(TEST_BACKEND, { REDIS_URL: testRedisUrl(), METRICS_TOKEN }, undefined, {
      unmigrated: true,
    });
    service = await startTestService(t, { worker: false });
  });
  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
  });

  it("replay signs a fixture and posts it to the running service", async () => {
    const r = await cli(["replay", FIXTURE, "--url", `${service.url}/webhooks/instagram`], t.env);
    expect(r).toMatchObject({ code: 0, stdout: "200 EVENT_RECEIVED\n" });
    const { rows } = await service.db.query("SELECT kind FROM inbound_events");
    expect(rows).toEqual([{ kind: "dm.message" }]);
  });

  it("replay says plainly when the file or the service is not there", async () => {
    const missing = await cli(["replay", "/nonexistent.json"], t.env);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toMatch(/nonexistent\.json/);
    const down = await cli(["replay", FIXTURE, "--url", "http://127.0.0.1:9/webhooks/instagram"], t.env);
    expect(down.code).toBe(64);
    expect(down.stderr).toMatch(/could not reach/);
  });

  it("dlq list reads the dead letters; replay wants ids", async (ctx) => {
    needsDatabaseServer("the CLI runs in its own process while the service holds the database", ctx);
    expect((await cli(["dlq", "list"], t.env)).stdout).toBe("no dead events\n");
    const bad = await cli(["dlq", "replay", "abc"], t.env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/not an event id: abc/);
  });

  it("migrate is idempotent", async (ctx) => {
    needsDatabaseServer("the CLI runs in its own process while the service holds the database", ctx);
    expect((await cli(["migrate"], t.env)).code).toBe(0);
  });

  it("stops on a malformed variable with one line naming it (exit 78)", async () => {
    const r = await cli(["migrate"], { ...t.env, REDIS_URL: "localhost:6379" });
    expect(r.code).toBe(78);
    expect(r.stderr).toBe(
      "threadbridge: configuration error\n  REDIS_URL: expected redis://host:port[/db]\n",
    );
  });

  it("/readyz includes Redis when it is configured", async () => {
    const body = (await (await fetch(`${service.url}/readyz`, { headers: OPERATOR })).json()) as {
      checks: Record<string, { ok: boolean }>;
    };
    expect(body.checks.redis).toEqual({ ok: true });
  });
});

describe("readiness with Redis down", () => {
  it("answers 200 degraded naming Redis: sending goes on within per-process limits", async () => {
    const t = await testEnv(TEST_BACKEND, { REDIS_URL: "redis://127.0.0.1:1", METRICS_TOKEN });
    const service = await startTestService(t, { worker: false });
    try {
      const res = await fetch(`${service.url}/readyz`, { headers: OPERATOR });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        status: string;
        checks: Record<string, { ok: boolean; degraded?: boolean; detail?: string }>;
      };
      expect(body.status).toBe("degraded");
      expect(body.checks.redis).toMatchObject({
        ok: true,
        degraded: true,
        detail: expect.stringMatching(/unreachable/),
      });
      expect(body.checks.database).toEqual({ ok: true });
    } finally {
      await service.stop();
      await t.cleanup();
    }
  });
});

describe("embedded database ownership", () => {
  it("runs a command beside the running service, through it (issue 20; test/cli/beside-embedded.test.ts)", async () => {
    const t = await testEnv("embedded");
    const service = await startTestService(t, { worker: false });
    try {
      const r = await cli(["dlq", "list"], t.env);
      expect(r).toMatchObject({ code: 0, stdout: "no dead events\n" });
    } finally {
      await service.stop();
      await t.cleanup();
    }
  });
});

describe("worker-only process", () => {
  it("serves health and metrics on METRICS_PORT, and no webhook route", async () => {
    const t = await testEnv(TEST_BACKEND, { METRICS_PORT: "0" });
    const service = await startTestService(t, { web: false });
    try {
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${service.url}/metrics`)).text()).toMatch(/threadbridge_queue_depth/);
      expect((await fetch(`${service.url}/webhooks/instagram`, { method: "POST" })).status).toBe(404);
    } finally {
      await service.stop();
      await t.cleanup();
    }
  });
});
