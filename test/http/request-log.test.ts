// The request log (pino-http, configured in src/http/app.ts): one line per answer at the level its outcome deserves,
// naming the request by id, method and path only, and nothing at all where that level is off. A self-logged path
// (Meta's webhook deliveries) is left out of it, but its errors are still logged with the request's method and path.
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import express, { Router } from "express";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpApp } from "../../src/http/app.ts";
import { expectedAnswer } from "../../src/http/expected-answer.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Metrics } from "../../src/observability/metrics.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** The app with a few routes, its log captured at `level`. */
async function serve(level: string): Promise<{ url: string; lines(): Array<Record<string, unknown>> }> {
  const out = new PassThrough();
  let written = "";
  out.on("data", (chunk: Buffer) => {
    written += chunk.toString();
  });
  const log = createLogger(level, { destination: out });
  const routes = Router();
  routes.get("/ok", (_req, res) => {
    res.cookie("threadbridge_session", "s3cr3t-session-value-0123456789", { httpOnly: true }).send("ok");
  });
  routes.get("/setup", (_req, res) => {
    expectedAnswer(res, "not configured: setup page shown").status(503).send("setup");
  });
  routes.get("/fail", () => {
    throw new Error("boom");
  });
  routes.post("/self", express.raw({ type: () => true, limit: "16b" }), (_req, res) => {
    res.send("taken");
  });
  routes.get("/self/fail", () => {
    throw new Error("self boom");
  });
  const app = createHttpApp({
    log,
    metrics: new Metrics(),
    readiness: { check: async () => ({}), collect: async () => {} },
    trustProxy: false,
    metricsToken: undefined,
    routers: [routes],
    selfLoggedPaths: ["/self", "/self/fail"],
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lines: () =>
      written
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe("the request log", () => {
  it("at debug: one line per answer, with the path but not the query string, headers or cookies", async () => {
    const s = await serve("debug");
    const res = await fetch(`${s.url}/ok?access_token=tok-in-query-0123&x=1`, {
      headers: {
        cookie: "threadbridge_session=client-cookie-0123456789",
        authorization: "Bearer abcdef0123",
      },
    });
    expect(res.status).toBe(200);
    await fetch(`${s.url}/ok`);
    await settle();
    const lines = s.lines().filter((l) => l.msg === "request completed");
    expect(lines).toEqual([
      expect.objectContaining({
        level: 20,
        req: { id: expect.any(Number), method: "GET", path: "/ok" },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
      }),
      expect.objectContaining({ req: expect.objectContaining({ path: "/ok" }) }),
    ]);
    // Ids follow the requests.
    const [first, second] = lines.map((l) => (l.req as { id: number }).id);
    expect(second).toBe((first as number) + 1);
    const written = JSON.stringify(s.lines());
    for (const secret of ["tok-in-query", "client-cookie", "abcdef0123", "s3cr3t-session"])
      expect(written).not.toContain(secret);
  });

  it("at info: nothing for a 200, one info line for an expected 503, an error with its stack for a failure", async () => {
    const s = await serve("info");
    expect((await fetch(`${s.url}/ok`)).status).toBe(200);
    expect((await fetch(`${s.url}/setup`)).status).toBe(503);
    expect((await fetch(`${s.url}/fail`)).status).toBe(500);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${s.url}/nowhere`)).status).toBe(404);
    await settle();
    const lines = s.lines();
    expect(lines.filter((l) => (l.req as { path?: string } | undefined)?.path === "/ok")).toEqual([]);
    expect(lines.filter((l) => (l.req as { path?: string } | undefined)?.path === "/healthz")).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 30,
        msg: "not configured: setup page shown",
        expected: "not configured: setup page shown",
        req: expect.objectContaining({ path: "/setup" }),
        res: { statusCode: 503 },
      }),
    );
    // The error handler's line (with the error and its stack), then the answer's, without one.
    const failed = lines.filter((l) => (l.req as { path?: string } | undefined)?.path === "/fail");
    expect(failed).toEqual([
      expect.objectContaining({
        level: 50,
        msg: "unhandled error",
        err: expect.objectContaining({ message: "boom", stack: expect.stringContaining("Error: boom") }),
      }),
      expect.objectContaining({ level: 50, msg: "answered 500", res: { statusCode: 500 } }),
    ]);
    expect(failed[1]).not.toHaveProperty("err");
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, msg: "request completed", res: { statusCode: 404 } }),
    );
  });

  it("leaves a self-logged path out, yet logs its errors with the request's method and path", async () => {
    const s = await serve("debug");
    expect((await fetch(`${s.url}/self?x=1`, { method: "POST", body: "small" })).status).toBe(200);
    expect((await fetch(`${s.url}/self`, { method: "POST", body: "x".repeat(64) })).status).toBe(413);
    expect((await fetch(`${s.url}/self/fail`)).status).toBe(500);
    expect((await fetch(`${s.url}/ok`)).status).toBe(200);
    await settle();
    const lines = s.lines();
    const self = lines.filter((l) => (l.req as { path?: string } | undefined)?.path?.startsWith("/self"));
    expect(self).toEqual([
      expect.objectContaining({
        level: 40,
        msg: "request body over the limit",
        req: { method: "POST", path: "/self" },
        limit: 16,
      }),
      expect.objectContaining({
        level: 50,
        msg: "unhandled error",
        req: { method: "GET", path: "/self/fail" },
        err: expect.objectContaining({ message: "self boom" }),
      }),
    ]);
    // Other paths keep their line.
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "request completed", req: expect.objectContaining({ path: "/ok" }) }),
    );
  });
});
