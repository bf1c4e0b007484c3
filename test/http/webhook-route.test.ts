import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sign } from "../../src/instagram/signature.ts";
import type { Service } from "../../src/service.ts";
import {
  META_SECRET,
  METRICS_TOKEN,
  OPERATOR,
  startTestService,
  TEST_BACKEND,
  type TestEnv,
  testEnv,
  VERIFY_TOKEN,
} from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const ACCOUNT = "17841400000000001";
let t: TestEnv;
let service: Service;
let url: string;

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND, { WEBHOOK_MAX_BODY: "64kb", METRICS_TOKEN });
  // Web role only: events stay queued, so the tests see exactly what the route stored.
  service = await startTestService(t, { worker: false });
  url = service.url as string;
});

afterAll(async () => {
  await service?.stop();
  await t?.cleanup();
});

async function storedCount(): Promise<number> {
  const { rows } = await service.db.query<{ n: number }>("SELECT count(*)::int AS n FROM inbound_events");
  return (rows[0] as { n: number }).n;
}

async function queuedJobs(): Promise<number> {
  const { rows } = await service.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'inbound' AND state = 'created'",
  );
  return (rows[0] as { n: number }).n;
}

describe("GET /webhooks/instagram handshake", () => {
  it("echoes the challenge when the verify token matches", async () => {
    const res = await fetch(
      `${url}/webhooks/instagram?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("1158201444");
  });

  it("refuses a wrong verify token with 403", async () => {
    const res = await fetch(
      `${url}/webhooks/instagram?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`,
    );
    expect(res.status).toBe(403);
  });

  it("answers 400 when it is not a subscribe request", async () => {
    const res = await fetch(`${url}/webhooks/instagram?hub.verify_token=${VERIFY_TOKEN}`);
    expect(res.status).toBe(400);
  });
});

describe("POST /webhooks/instagram signature", () => {
  const body = JSON.stringify(dmText(ACCOUNT, "1000000000000001", "mid.sig.1", "hello", 1761287294014));

  it("refuses a missing signature with 401 and stores nothing", async () => {
    const before = await storedCount();
    const res = await postWebhook(url, body, { signature: null });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({
      error: "invalid_signature",
      detail: expect.stringMatching(/missing/),
    });
    expect(await storedCount()).toBe(before);
  });

  it("refuses a wrong signature with 401", async () => {
    const res = await postWebhook(url, body, { secret: "someone-elses-secret" });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).detail).toMatch(/does not match/);
  });

  it("refuses a signature of the wrong length with 401", async () => {
    const res = await postWebhook(url, body, { signature: `${sign(body, "x").slice(0, 40)}` });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).detail).toMatch(/64 hex digits/);
  });

  it("refuses a signature over different bytes (re-serialised body)", async () => {
    const spaced = JSON.stringify(JSON.parse(body), null, 2);
    const res = await postWebhook(url, spaced, { signature: sign(body, "test-app-secret-0123456789") });
    expect(res.status).toBe(401);
  });

  it("accepts the Instagram app secret and the Meta app secret", async () => {
    const a = await postWebhook(url, dmText(ACCOUNT, "1000000000000002", "mid.sig.2", "a", 1761287294015));
    const b = await postWebhook(url, dmText(ACCOUNT, "1000000000000002", "mid.sig.3", "b", 1761287294016), {
      secret: META_SECRET,
    });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body).toBe("EVENT_RECEIVED");
    // Written directly, not through express's send(): the same type, and the security headers kept.
    expect(a.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(a.headers.get("content-length")).toBe("14");
    expect(a.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("POST /webhooks/instagram body", () => {
  it("stores and enqueues each event before answering 200", async () => {
    const before = await storedCount();
    const jobsBefore = await queuedJobs();
    const res = await postWebhook(
      url,
      dmText(ACCOUNT, "1000000000000003", "mid.store.1", "hi", 1761287295000),
    );
    expect(res.status).toBe(200);
    // No waiting: the rows are there the moment the 200 is.
    expect(await storedCount()).toBe(before + 1);
    expect(await queuedJobs()).toBe(jobsBefore + 1);
    const { rows } = await service.db.query<{
      kind: string;
      thread_key: string;
      status: string;
      event: { text: string };
    }>("SELECT kind, thread_key, status, event FROM inbound_events WHERE dedupe_key = 'msg:mid.store.1'");
    expect(rows).toEqual([
      expect.objectContaining({ kind: "dm.message", thread_key: "dm:1000000000000003", status: "queued" }),
    ]);
    expect(rows[0]?.event.text).toBe("hi");
  });

  it("stores a redelivered event once", async () => {
    const body = dmText(ACCOUNT, "1000000000000004", "mid.redeliver.1", "again", 1761287296000);
    const before = await storedCount();
    const jobsBefore = await queuedJobs();
    for (let i = 0; i < 3; i++) expect((await postWebhook(url, body)).status).toBe(200);
    expect(await storedCount()).toBe(before + 1);
    expect(await queuedJobs()).toBe(jobsBefore + 1);
  });

  it("stores a batch of 50 events from one delivery", async () => {
    const before = await storedCount();
    const entry = Array.from({ length: 5 }, (_, e) => ({
      id: ACCOUNT,
      time: 1761287300000 + e,
      messaging: Array.from({ length: 10 }, (_, i) => ({
        sender: { id: `20000000000000${String(i).padStart(2, "0")}` },
        recipient: { id: ACCOUNT },
        timestamp: 1761287300000 + e * 10 + i,
        message: { mid: `mid.batch.${e}.${i}`, text: `m${e}.${i}` },
      })),
    }));
    const res = await postWebhook(url, { object: "instagram", entry });
    expect(res.status).toBe(200);
    expect(await storedCount()).toBe(before + 50);
  });

  it("answers 400 with a reason for a body that is not JSON", async () => {
    const before = await storedCount();
    const res = await postWebhook(url, "{not json");
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toBe("invalid_json");
    expect(await storedCount()).toBe(before);
  });

  it("answers 400 with the path of the problem for a wrong shape", async () => {
    const res = await postWebhook(url, { object: "instagram", entry: [{ time: 1 }] });
    expect(res.status).toBe(400);
    const answer = JSON.parse(res.body);
    expect(answer.error).toBe("invalid_payload");
    expect(answer.detail).toMatch(/entry\[0\]\.id/);
  });

  it("answers 400 for a Page (Messenger) subscription", async () => {
    const res = await postWebhook(url, { object: "page", entry: [{ id: "1", time: 1, messaging: [] }] });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).detail).toMatch(/page/i);
  });

  it("answers 413 for a body over the configured limit and stores nothing", async () => {
    const before = await storedCount();
    const huge = dmText(ACCOUNT, "1000000000000005", "mid.huge", "x".repeat(70 * 1024), 1761287297000);
    const res = await postWebhook(url, huge);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toBe("payload_too_large");
    expect(await storedCount()).toBe(before);
  });

  it("stores an unknown event kind instead of refusing it", async () => {
    const res = await postWebhook(url, {
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: 1776339591,
          changes: [{ field: "story_insights", value: { media_id: "1", reach: 3 } }],
        },
      ],
    });
    expect(res.status).toBe(200);
    const { rows } = await service.db.query<{ kind: string }>(
      "SELECT kind FROM inbound_events WHERE kind = 'unknown' AND raw->>'field' = 'story_insights'",
    );
    expect(rows).toHaveLength(1);
  });
});

describe("health, readiness and metrics", () => {
  it("GET /healthz answers ok", async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("GET /readyz reports database, queue, pauses and the outbound queue", async () => {
    const res = await fetch(`${url}/readyz`, { headers: OPERATOR });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: "ready",
      checks: { database: { ok: true }, queue: { ok: true } },
      outbound: { paused: { global: false, accounts: [] }, queue: {} },
    });
  });

  it("GET /metrics exposes requests, events by kind and queue depth", async () => {
    const text = await (await fetch(`${url}/metrics`, { headers: OPERATOR })).text();
    expect(text).toMatch(
      /threadbridge_http_requests_total\{method="POST",route="\/webhooks\/instagram",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /threadbridge_http_request_duration_seconds_count\{method="POST",route="\/webhooks\/instagram"\} [1-9]/,
    );
    expect(text).toMatch(/threadbridge_webhook_events_total\{kind="dm.message",outcome="stored"\} [1-9]/);
    // The redelivered event above, counted under its own kind.
    expect(text).toMatch(/threadbridge_webhook_events_total\{kind="dm.message",outcome="duplicate"\} [1-9]/);
    expect(text).not.toContain('kind="any"');
    expect(text).toMatch(/threadbridge_webhook_rejected_total\{reason="invalid_signature"\} [1-9]/);
    expect(text).toMatch(/threadbridge_queue_depth\{queue="inbound",state="queued"\} [1-9]/);
  });

  it("GET /metrics names the build and keeps Node's and the process's metrics under their standard names", async () => {
    const text = await (await fetch(`${url}/metrics`, { headers: OPERATOR })).text();
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(text).toContain(`threadbridge_build_info{version="${version}",node="${process.version}"} 1`);
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "nodejs_eventloop_lag_p99_seconds",
      "nodejs_heap_size_used_bytes",
      "nodejs_gc_duration_seconds",
    ])
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, "m"));
    expect(text).not.toMatch(/^threadbridge_(process|nodejs)_/m);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await fetch(`${url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe("not_found");
  });
});

describe("concurrent deliveries", () => {
  it("stores every one of 200 concurrent deliveries before answering", async () => {
    const before = await storedCount();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        postWebhook(
          url,
          dmText(
            ACCOUNT,
            `80000000000${String(i % 20).padStart(5, "0")}`,
            `mid.conc.${i}`,
            "x",
            1761287400000 + i,
          ),
        ),
      ),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await storedCount()).toBe(before + 200);
    expect(await queuedJobs()).toBeGreaterThanOrEqual(200);
  });
});
