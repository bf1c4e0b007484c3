import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOMAIN_EVENT_TYPES } from "../../src/instagram/events.ts";
import type { Service } from "../../src/service.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";
import { postWebhook } from "../helpers/webhook.ts";

// Issue 16, finding 1: HTTP metrics were labelled with the request's path whenever Express answered
// before a route did (OPTIONS on a route's pattern, an undecodable path parameter), so anyone could
// grow /metrics without bound. Labels now come from the code's route patterns, `unmatched` and
// `other` only.

let t: TestEnv;
let service: Service;
let url: string;

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  service = await startTestService(t, { worker: false });
  url = service.url as string;
});

afterAll(async () => {
  await service?.stop();
  await t?.cleanup();
});

/** Every random path piece the attacks used: none may show in /metrics. */
const pieces: string[] = [];
const rand = () => {
  const piece = randomBytes(6).toString("hex");
  pieces.push(piece);
  return piece;
};

/** One attacker request of each kind, each with a path never seen before. */
const ATTACKS: Array<() => [string, RequestInit]> = [
  () => [`/${rand()}/${rand()}`, {}],
  () => [`/files/${rand()}/${rand()}`, { method: "OPTIONS" }],
  () => [`/privacy/deletion/${rand()}`, { method: "OPTIONS" }],
  () => [`/${rand()}`, { method: "OPTIONS" }],
  // %E0%A4%A is a cut-off UTF-8 sequence: decoding the parameter fails.
  () => [`/files/%E0%A4%A${rand()}/x`, {}],
  () => [`/privacy/deletion/%E0%A4%A${rand()}`, {}],
  () => [`/accounts/%ZZ${rand()}/disconnect`, {}],
  // Methods no route takes (Node's parser accepts these WebDAV and SSDP ones).
  () => [`/${rand()}`, { method: "PROPFIND" }],
  () => [`/webhooks/instagram?${rand()}`, { method: "M-SEARCH" }],
];

async function metricsText(): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

async function attack(n: number): Promise<void> {
  const one = async (i: number) => {
    const [path, init] = (ATTACKS[i % ATTACKS.length] as () => [string, RequestInit])();
    const res = await fetch(`${url}${path}`, init);
    await res.arrayBuffer();
  };
  for (let i = 0; i < n; i += 25) await Promise.all(Array.from({ length: 25 }, (_, j) => one(i + j)));
}

describe("HTTP metric labels", () => {
  it("2,000 random paths, OPTIONS and bad encodings leave /metrics within 2× its size", async () => {
    // Every kind once, so the fixed labels they map to already exist in the baseline.
    await attack(ATTACKS.length);
    const before = await metricsText();
    pieces.length = 0;
    await attack(2_000);
    const after = await metricsText();
    console.log(`metrics-labels: /metrics ${before.length} → ${after.length} bytes after 2,000 requests`);
    expect(after.length).toBeLessThan(2 * before.length);
    const routes = new Set(
      [...after.matchAll(/threadbridge_http_requests_total\{method="[^"]*",route="([^"]*)"/g)].map(
        (m) => m[1],
      ),
    );
    expect(routes.size).toBeGreaterThan(0);
    for (const route of routes) expect(route).toMatch(/^(unmatched|other|\/[\w/:.-]*)$/);
    const methods = new Set(
      [...after.matchAll(/threadbridge_http_requests_total\{method="([^"]*)"/g)].map((m) => m[1]),
    );
    expect(methods).toContain("other");
    for (const method of methods)
      expect(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"]).toContain(method);
    expect(pieces.length).toBeGreaterThanOrEqual(2_000);
    expect(pieces.filter((p) => after.includes(p))).toEqual([]);
  }, 120_000);

  it("answers OPTIONS itself, without CORS, whatever the path", async () => {
    for (const path of ["/files/abc/def", "/webhooks/instagram", `/${rand()}`]) {
      const res = await fetch(`${url}${path}`, { method: "OPTIONS" });
      expect(res.status).toBe(204);
      expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("answers an undecodable path parameter with a precise 400", async () => {
    const res = await fetch(`${url}/files/%E0%A4%A/x`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "bad_request",
      detail: "the path is not valid percent-encoding",
    });
  });

  it("still labels answered routes with their pattern", async () => {
    await fetch(`${url}/privacy/deletion/ABCDEF123`);
    await fetch(`${url}/healthz`);
    const text = await metricsText();
    expect(text).toMatch(
      /threadbridge_http_requests_total\{method="GET",route="\/privacy\/deletion\/:code",status="404"\} [1-9]/,
    );
    expect(text).toMatch(
      /threadbridge_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/,
    );
  });
});

describe("other metric labels", () => {
  it("webhook event kinds are the domain's event types, whatever field or key a payload names", async () => {
    const account = "17841400000000016";
    for (let i = 0; i < 20; i++) {
      const time = 1761287294014 + i;
      const res = await postWebhook(url, {
        object: "instagram",
        entry: [
          {
            id: account,
            time,
            changes: [{ field: `field_${rand()}`, value: { id: rand() } }],
            messaging: [
              {
                sender: { id: "1000000000000016" },
                recipient: { id: account },
                timestamp: time,
                [`key_${rand()}`]: { mid: rand() },
              },
            ],
          },
        ],
      });
      expect(res.status).toBe(200);
    }
    const text = await metricsText();
    const kinds = new Set(
      [...text.matchAll(/threadbridge_webhook_events_total\{kind="([^"]*)"/g)].map((m) => m[1]),
    );
    expect(kinds.size).toBeGreaterThan(0);
    for (const kind of kinds) expect([...DOMAIN_EVENT_TYPES, "other"]).toContain(kind);
    expect(pieces.filter((p) => text.includes(p))).toEqual([]);
  });
});
