import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { cli } from "../helpers/cli.ts";
import { type ConsoleHarness, csrfOf, PASSWORD, startConsoleHarness } from "../helpers/console.ts";

// Issue 16, finding 3: `trust proxy` was on for everyone, so the client address the sign-in
// throttle and the audit log use came from X-Forwarded-For, which any client writes. It is now
// off unless TRUST_PROXY names the proxies to believe.

async function refusals(h: ConsoleHarness): Promise<unknown[]> {
  const { rows } = await h.service.db.query<{ details: { client?: string } }>(
    "SELECT details FROM audit_log WHERE action = 'refused' AND target = 'console_login' ORDER BY id",
  );
  return rows.map((r) => r.details.client);
}

const LOOPBACK = /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/;

describe("without TRUST_PROXY", () => {
  let h: ConsoleHarness;
  beforeAll(async () => {
    h = await startConsoleHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("takes the scheme from the connection, not from X-Forwarded-Proto", async () => {
    // The sign-in form's origin must be PUBLIC_URL's: a claimed https must not make an https
    // origin this service's own.
    const c = h.client({ "x-forwarded-proto": "https" });
    const page = await c.get("/login");
    const answer = await c.post(
      "/login",
      { _csrf: csrfOf(page), password: PASSWORD },
      { origin: `https://${new URL(h.url).host}` },
    );
    expect(answer.status).toBe(403);
    expect(answer.body).toContain("The sign-in form had expired.");
  });

  it("throttles a client that varies X-Forwarded-For, and audits its real address", async () => {
    for (let i = 0; i < 5; i++) {
      const c = h.client({ "x-forwarded-for": `198.51.100.${i + 1}` });
      expect((await c.signIn("wrong password")).status).toBe(401);
    }
    const next = h.client({ "x-forwarded-for": "198.51.100.99" });
    const blocked = await next.signIn(PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body).toContain("Too many wrong passwords.");
    const clients = await refusals(h);
    expect(clients).toHaveLength(5);
    for (const client of clients) expect(client).toMatch(LOOPBACK);
  });
});

describe("TRUST_PROXY=loopback", () => {
  let h: ConsoleHarness;
  beforeAll(async () => {
    h = await startConsoleHarness({ TRUST_PROXY: "loopback" });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("believes the proxy on loopback: each client is throttled and audited by its own address", async () => {
    const c = h.client({ "x-forwarded-for": "203.0.113.7" });
    for (let i = 0; i < 5; i++) expect((await c.signIn("wrong password")).status).toBe(401);
    expect((await c.signIn(PASSWORD)).status).toBe(429);
    expect((await h.client({ "x-forwarded-for": "203.0.113.8" }).signIn()).status).toBe(303);
    expect(new Set(await refusals(h))).toEqual(new Set(["203.0.113.7"]));
  });

  it("judges a proxied form's origin by PUBLIC_URL alone, whatever scheme the proxy reports", async () => {
    const c = h.client({ "x-forwarded-for": "203.0.113.10", "x-forwarded-proto": "https" });
    const forged = await c.post(
      "/login",
      { _csrf: csrfOf(await c.get("/login")), password: PASSWORD },
      { origin: `https://${new URL(h.url).host}` },
    );
    expect(forged.status).toBe(403);
    const own = await c.post(
      "/login",
      { _csrf: csrfOf(await c.get("/login")), password: PASSWORD },
      { origin: new URL(h.url).origin },
    );
    expect(own).toMatchObject({ status: 303, location: "/" });
  });
});

describe("TRUST_PROXY naming other proxies", () => {
  let h: ConsoleHarness;
  beforeAll(async () => {
    h = await startConsoleHarness({ TRUST_PROXY: "10.0.0.0/8, 192.0.2.1" });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("does not believe a peer that is not one of them", async () => {
    const c = h.client({ "x-forwarded-for": "203.0.113.9" });
    expect((await c.signIn("wrong password")).status).toBe(401);
    const clients = await refusals(h);
    expect(clients).toHaveLength(1);
    expect(clients[0]).toMatch(LOOPBACK);
  });
});

describe("the TRUST_PROXY setting", () => {
  const base = { DATA_DIR: "/tmp/threadbridge-trust-proxy" };

  it("takes Express's forms: off, true, a hop count, names, addresses and CIDR ranges", () => {
    // Whatever the variable accepts, Express takes (it would throw at start-up otherwise).
    for (const value of [
      "true",
      "2",
      "loopback,linklocal,uniquelocal",
      "fe80::1%eth0",
      "::ffff:10.0.0.1/104",
      "10.0.0.0/1",
    ])
      expect(() =>
        express().set("trust proxy", loadConfig({ ...base, TRUST_PROXY: value }, platforms).trustProxy),
      ).not.toThrow();
    expect(loadConfig(base, platforms).trustProxy).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY: "" }, platforms).trustProxy).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY: "off" }, platforms).trustProxy).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY: "true" }, platforms).trustProxy).toBe(true);
    expect(loadConfig({ ...base, TRUST_PROXY: "1" }, platforms).trustProxy).toBe(1);
    expect(loadConfig({ ...base, TRUST_PROXY: "loopback" }, platforms).trustProxy).toEqual(["loopback"]);
    expect(
      loadConfig({ ...base, TRUST_PROXY: " loopback, 10.0.0.0/8 ,fd00::/8,192.0.2.1" }, platforms).trustProxy,
    ).toEqual(["loopback", "10.0.0.0/8", "fd00::/8", "192.0.2.1"]);
  });

  it.each([
    ["10.0.0.300", '"10.0.0.300" is not an IP address'],
    ["10.0.0.0/33", '"10.0.0.0/33": the prefix length must be 1 to 32'],
    ["loopback,proxy.internal", '"proxy.internal" is not an IP address'],
    ["-1", '"-1" is not an IP address'],
    ["10.0.0.0/0", '"10.0.0.0/0": the prefix length must be 1 to 32'],
    ["::/129", '"::/129": the prefix length must be 1 to 128'],
    ["1000", "a hop count is at most 100"],
    [",", "no entry"],
  ])("refuses %j with a precise error naming the variable", (value, problem) => {
    let error: unknown;
    try {
      loadConfig({ ...base, TRUST_PROXY: value }, platforms);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.split("\n")).toHaveLength(1);
    expect(message).toMatch(/^TRUST_PROXY: expected off, true, a hop count such as 1, or comma-separated /);
    expect(message).toContain(problem);
  });

  it("stops start-up on a malformed value with one line naming it (exit 78)", async () => {
    const r = await cli(["migrate"], { ...base, TRUST_PROXY: "10.0.0.0/99" });
    expect(r.code).toBe(78);
    expect(r.stderr).toBe(
      'threadbridge: configuration error\n  TRUST_PROXY: expected off, true, a hop count such as 1, or comma-separated loopback/linklocal/uniquelocal, IP addresses and CIDR ranges such as loopback,10.0.0.0/8; "10.0.0.0/99": the prefix length must be 1 to 32\n',
    );
  });
});
