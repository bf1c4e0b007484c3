import { afterAll, beforeAll, expect, it } from "vitest";
import { ACCOUNT, type BridgeHarness, startBridgeHarness } from "../helpers/bridge.ts";
import { METRICS_TOKEN, OPERATOR, waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

// Issue 19: retried and dead inbound jobs are counted under the kind of their event (they were all
// `kind="any"`), and /metrics shows the connected accounts by status and when each last had an
// event, for the webhook-silence alert.

let h: BridgeHarness;

beforeAll(async () => {
  // One retry: the second failure dead-letters the event.
  h = await startBridgeHarness({ INBOUND_RETRY_LIMIT: "1", METRICS_TOKEN });
});

afterAll(async () => {
  await h?.close();
});

const metrics = async () => (await fetch(`${h.url()}/metrics`, { headers: OPERATOR })).text();

it("counts a failing event's retries and its dead letter under its own kind", {
  timeout: 60_000,
}, async () => {
  // Slack answers 500 to every post: each attempt fails after the client's own bounded retries.
  h.slack.failNext(1_000, { status: 500, method: "chat.postMessage" });
  const at = Date.now();
  const res = await postWebhook(h.url(), dmText(ACCOUNT, "1000000000000077", "mid.metrics.1", "hi", at));
  expect(res.status).toBe(200);
  const text = await waitFor(
    async () => {
      const m = await metrics();
      // The counter moves when the job fails for good; the depth gauge is read from the queue
      // when scraped, once the dead letter is written: both, in either order.
      return /threadbridge_jobs_total\{kind="dm.message",outcome="dead"\} 1\b/.test(m) &&
        /threadbridge_queue_depth\{queue="inbound",state="dead"\} 1\b/.test(m)
        ? m
        : undefined;
    },
    45_000,
    "the event dead-lettered",
  );
  expect(text).toMatch(/threadbridge_jobs_total\{kind="dm.message",outcome="retried"\} 1\b/);
  expect(text).not.toContain('kind="any"');
});

it("shows connected accounts by status and the time of each one's newest event", async () => {
  const at = Date.now();
  // An account nobody connected: a webhook naming it must not become a series.
  const stranger = "17841499999999999";
  expect(
    (await postWebhook(h.url(), dmText(stranger, "1000000000000078", "mid.metrics.2", "x", at))).status,
  ).toBe(200);
  const text = await waitFor(
    async () => {
      const m = await metrics();
      return m.includes(`threadbridge_webhook_last_received_timestamp_seconds{account="${ACCOUNT}"}`)
        ? m
        : undefined;
    },
    10_000,
    "the account's last event time",
  );
  const seconds = Number(
    new RegExp(`threadbridge_webhook_last_received_timestamp_seconds\\{account="${ACCOUNT}"\\} (\\S+)`).exec(
      text,
    )?.[1],
  );
  // The dead-lettered event above was recorded before its mirror failed: its time is the newest.
  expect(seconds).toBeGreaterThan(Date.now() / 1000 - 120);
  expect(seconds).toBeLessThanOrEqual(Date.now() / 1000);
  expect(text).toMatch(/threadbridge_accounts\{status="active"\} 1\b/);
  expect(text).toMatch(/threadbridge_accounts\{status="token_invalid"\} 0\b/);
  // Wait for the stranger's event to be handled (its unconfigured row exists), then check again.
  await waitFor(
    async () => {
      const { rows } = await h.service.db.query("SELECT 1 FROM instagram_accounts WHERE id = $1", [stranger]);
      return rows.length ? true : undefined;
    },
    10_000,
    "the stranger's event handled",
  );
  expect(await metrics()).not.toContain(stranger);
});
