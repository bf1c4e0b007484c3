import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleHarness, startConsoleHarness } from "../helpers/console.ts";

// Issue 16: only the console's pages carried security headers; the public deletion status page,
// error pages and every other answer had none. They are now set for every answer before any route
// runs, so a new page cannot forget them; the console keeps its own, stricter policy.

let h: ConsoleHarness;

beforeAll(async () => {
  h = await startConsoleHarness();
  await h.service.db.query(
    `INSERT INTO data_requests (code, kind, status, requested_at)
     VALUES ('HEADERS16', 'deletion', 'pending', now())`,
  );
});

afterAll(async () => {
  await h?.close();
});

function policyOf(res: Response): Map<string, string> {
  const csp = res.headers.get("content-security-policy") ?? "";
  return new Map(
    csp
      .split(";")
      .map((d) => d.trim())
      .filter((d) => d !== "")
      .map((d) => {
        const [name = "", ...values] = d.split(/\s+/);
        return [name, values.join(" ")] as [string, string];
      }),
  );
}

function expectSecured(res: Response, what: string): void {
  const policy = policyOf(res);
  expect(policy.get("default-src"), what).toBe("'none'");
  expect(policy.get("frame-ancestors"), what).toBe("'none'");
  expect(policy.get("base-uri"), what).toBe("'none'");
  expect(policy.has("script-src"), what).toBe(false);
  expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(res.headers.get("x-frame-options"), what).toBe("DENY");
  expect(res.headers.get("referrer-policy"), what).toBe("same-origin");
}

describe("security headers", () => {
  it("are on the public deletion status page, found or not", async () => {
    for (const path of ["/privacy/deletion/HEADERS16", "/privacy/deletion/NOSUCHCODE1"]) {
      const res = await fetch(`${h.url}${path}`);
      expect([200, 404]).toContain(res.status);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expectSecured(res, path);
    }
  });

  it("are on every other answer: errors, JSON, text, files, metrics, OPTIONS", async () => {
    const requests: Array<[string, RequestInit?]> = [
      ["/nope"],
      ["/files/%E0%A4%A/x"],
      ["/files/not-a-token/x.png"],
      ["/healthz"],
      ["/readyz"],
      ["/metrics"],
      ["/webhooks/instagram"],
      ["/webhooks/instagram", { method: "POST", body: "{}" }],
      ["/instagram/data-deletion", { method: "POST" }],
      ["/console.css"],
      ["/", { method: "OPTIONS" }],
    ];
    for (const [path, init] of requests) {
      const res = await fetch(`${h.url}${path}`, { redirect: "manual", ...init });
      await res.arrayBuffer();
      expectSecured(res, `${init?.method ?? "GET"} ${path} (${res.status})`);
    }
  });

  it("leave the console's stricter policy in place on its pages", async () => {
    const c = h.client();
    for (const path of ["/login", "/oauth/instagram/start"]) {
      const res = await fetch(`${h.url}${path}`, { redirect: "manual" });
      await res.arrayBuffer();
      expectSecured(res, path);
      expect(policyOf(res).has("style-src-attr"), path).toBe(false);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
    }
    await c.signIn();
    const home = await c.get("/");
    expect(home.status).toBe(200);
    expect(home.headers.get("content-security-policy")).not.toContain("style-src-attr");
  });
});
