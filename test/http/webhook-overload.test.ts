// Under overload the webhook route answers 503 at once instead of queueing without bound: the
// batcher's bound on waiting events, seen through the route (IngestBatcher's own tests hold the
// bound itself).
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, expect, it } from "vitest";
import { webhookRouter } from "../../src/http/webhooks.ts";
import { IngestBatcher } from "../../src/ingest/ingest-batcher.ts";
import type { StoreResult, TracedRecord } from "../../src/ingest/store-events.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import { APP_SECRET } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const ACCOUNT = "17841400000000001";
const stored: string[] = [];
let release: () => void = () => {};
const held = new Promise<void>((r) => {
  release = r;
});
let server: ReturnType<express.Express["listen"]>;
let url: string;
let metrics: Metrics;

beforeAll(async () => {
  // A database that does not answer until released.
  const store = async (records: readonly TracedRecord[]): Promise<StoreResult> => {
    await held;
    stored.push(...records.map((r) => r.dedupeKey));
    return {
      stored: records.map((r, i) => ({
        id: stored.length + i,
        kind: r.event.type,
        accountId: r.event.accountId,
        dedupeKey: r.dedupeKey,
      })),
      duplicates: 0,
    };
  };
  metrics = new Metrics();
  const app = express();
  app.use(
    webhookRouter({
      ingest: new IngestBatcher(store, { maxInFlight: 1, maxQueuedEvents: 1 }),
      log: createLogger("silent"),
      metrics,
      verifyToken: undefined,
      appSecrets: [APP_SECRET],
      maxBody: "64kb",
    }),
  );
  server = await new Promise((resolve) => {
    const s = app.listen(0, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  release();
  server?.close();
});

it("answers 503 overloaded while the bound is full, and stores what it took before answering 200", async () => {
  const first = postWebhook(url, dmText(ACCOUNT, "1", "m.first", "hi", 1));
  await new Promise((r) => setTimeout(r, 100));
  const second = postWebhook(url, dmText(ACCOUNT, "2", "m.second", "hi", 2));
  await new Promise((r) => setTimeout(r, 100));
  const third = await postWebhook(url, dmText(ACCOUNT, "3", "m.third", "hi", 3));
  expect(third.status).toBe(503);
  expect(JSON.parse(third.body)).toMatchObject({ error: "overloaded" });
  expect(await metrics.webhookRejected.get()).toMatchObject({
    values: [expect.objectContaining({ labels: { reason: "overloaded" }, value: 1 })],
  });
  release();
  expect((await first).status).toBe(200);
  expect((await second).status).toBe(200);
  expect(stored).toHaveLength(2);
  expect(stored.some((k) => k.includes("m.third"))).toBe(false);
});
