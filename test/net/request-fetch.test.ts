import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { requestFetch } from "../../src/net/request-fetch.ts";

// What the Slack Web API client asks of its fetch, answered by a real server on loopback: the same
// call through Node's fetch and through requestFetch must come out alike.
let server: Server;
let base: string;
const seen: { method?: string; headers: IncomingMessage["headers"]; body: string }[] = [];

function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  seen.push({ ...(req.method ? { method: req.method } : {}), headers: req.headers, body });
  const path = req.url ?? "/";
  if (path === "/ok") {
    res.setHeader("content-type", "application/json");
    res.setHeader("x-oauth-scopes", "chat:write, files:read");
    res.setHeader("set-cookie", ["a=1", "b=2"]);
    res.end(JSON.stringify({ ok: true, echo: body }));
  } else if (path === "/limited") {
    res.writeHead(429, { "retry-after": "3" }).end();
  } else if (path === "/moved") {
    res.writeHead(302, { location: `${base}/ok` }).end();
  } else if (path === "/empty") {
    res.writeHead(204).end();
  } else if (path === "/slow") {
    setTimeout(() => res.end("late"), 2_000);
  } else {
    res.writeHead(500, "Broken Here").end("broken");
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
    });
    req.on("end", () => route(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (body: string): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: "Bearer xoxb-1" },
  body,
  redirect: "error",
});

describe("requestFetch", () => {
  it("sends the method, headers and body, and answers what fetch answers", async () => {
    const fallback = vi.fn(globalThis.fetch);
    const leanFetch = requestFetch(fallback);
    const [lean, node] = [await leanFetch(`${base}/ok`, post("a=1")), await fetch(`${base}/ok`, post("a=1"))];
    expect(fallback).not.toHaveBeenCalled();
    const [a, b] = seen.slice(-2);
    expect(a).toMatchObject({ method: "POST", body: "a=1" });
    expect(a?.headers).toMatchObject({
      "content-type": "application/x-www-form-urlencoded",
      authorization: "Bearer xoxb-1",
    });
    expect(b).toMatchObject({ method: "POST", body: "a=1" });
    for (const res of [lean, node]) {
      expect(res.status).toBe(200);
      expect(res.ok).toBe(true);
      expect(res.statusText).toBe("OK");
      expect(res.url).toBe(`${base}/ok`);
      expect(res.headers.get("x-oauth-scopes")).toBe("chat:write, files:read");
      expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    }
    expect(await lean.json()).toEqual(await node.json());
  });

  it("hands on a 429 with its Retry-After, an error status with its text, and a bodiless 204", async () => {
    const leanFetch = requestFetch();
    const limited = await leanFetch(`${base}/limited`, post(""));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("3");
    const broken = await leanFetch(`${base}/broken`, post(""));
    expect([broken.status, broken.statusText, await broken.text()]).toEqual([500, "Broken Here", "broken"]);
    const empty = await leanFetch(`${base}/empty`, post(""));
    expect([empty.status, empty.body]).toEqual([204, null]);
  });

  it("fails a redirect as fetch does with redirect: error", async () => {
    const expected = await fetch(`${base}/moved`, post("")).catch((e: unknown) => e);
    const got = await requestFetch()(`${base}/moved`, post("")).catch((e: unknown) => e);
    expect(expected).toBeInstanceOf(TypeError);
    expect(got).toBeInstanceOf(TypeError);
    expect((got as Error).message).toBe("fetch failed");
  });

  it("rejects with the signal's reason when it aborts, and with fetch's TypeError when nothing answers", async () => {
    const timedOut = await requestFetch()(`${base}/slow`, {
      ...post(""),
      signal: AbortSignal.timeout(50),
    }).catch((e: unknown) => e);
    expect((timedOut as Error).name).toBe("TimeoutError");
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await requestFetch()(`http://127.0.0.1:${port}/`, post("")).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as Error).message).toBe("fetch failed");
    expect(((refused as Error).cause as { code?: string }).code).toBe("ECONNREFUSED");
  });

  it("leaves to the fallback what it does not take itself: forms, Request objects, followed redirects", async () => {
    const fallback = vi.fn(globalThis.fetch);
    const leanFetch = requestFetch(fallback);
    const form = new FormData();
    form.append("file", new Blob(["bytes"]), "f.txt");
    const before = seen.length;
    await leanFetch(`${base}/ok`, { method: "POST", body: form, redirect: "error" });
    await leanFetch(new Request(`${base}/ok`));
    const followed = await leanFetch(`${base}/moved`, { method: "GET" });
    expect(fallback).toHaveBeenCalledTimes(3);
    expect(followed.status).toBe(200);
    expect(seen[before]?.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
  });
});

it("is seen leaving by the Send API's departure watch, which reads undici's diagnostics channels", async () => {
  const { DepartureWatch } = await import("../../src/outbound/departures.ts");
  let leftAt: number | undefined;
  const watch = new DepartureWatch((at) => {
    leftAt = at;
  });
  const before = performance.now();
  await watch.run(() => requestFetch()(`${base}/ok`, post("a=1")).then((r) => r.text()));
  expect(watch.seen).toBe(true);
  expect(leftAt).toBeGreaterThanOrEqual(before);
});
