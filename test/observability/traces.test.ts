import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import type { Service } from "../../src/service.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../fakes/graph-server.ts";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../fakes/otlp-receiver.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { type RoleProcess, startCommand } from "../helpers/role-process.ts";
import { freePort } from "../helpers/servers.ts";
import {
  startTestService,
  TEST_BACKEND,
  TEST_KEY,
  type TestEnv,
  testEnv,
  waitFor,
} from "../helpers/service.ts";
import { postSlackEvent } from "../helpers/slack.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

needsDatabaseServer("a web process and a worker process share one database");

// Issue 19: with OTEL_EXPORTER_OTLP_ENDPOINT set, a webhook is one trace from the web process's
// request through storage and the queued job to the worker process's mirror and Slack call, and an
// agent's reply one trace from Slack's request through the outbound job to the Graph call: the
// trace context travels inside the job's data. A local OTLP/HTTP receiver collects what the two
// real processes (`threadbridge web`, `threadbridge worker`) send.

const ACCOUNT = "17841400000000019";
const CUSTOMER = "1000000000000019";
const CHANNEL = "C0TRACES";
const SECRET = "slack-signing-secret-traces";
const AGENT = { id: "U0AGENT19", name: "ana", real_name: "Ana Lima", display_name: "Ana" };

let receiver: OtlpReceiver;
let slack: SlackServer;
let graph: GraphServer;
let t: TestEnv;
let db: Service;
let web: RoleProcess;
let worker: RoleProcess;
let url: string;
/** Where the exporters' headers are read from: a vendor's key, as a mounted secret. */
const secrets = mkdtempSync(path.join(tmpdir(), "threadbridge-otlp-"));

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  slack = await startSlackServer({ users: [AGENT] });
  graph = await startGraphServer(instagramResponder());
  const port = await freePort();
  const headersFile = path.join(secrets, "otlp-headers");
  writeFileSync(headersFile, "x-api-key=traces%20key,x-tenant=test\n", { mode: 0o600 });
  t = await testEnv(TEST_BACKEND, {
    PORT: String(port),
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_POSTS_PER_SECOND: "1000",
    IG_GRAPH_URL: graph.url,
    OUTBOUND_ECHO_GRACE_SECONDS: "2",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: "threadbridge-test",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test",
    OTEL_EXPORTER_OTLP_HEADERS_FILE: headersFile,
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-tenant=traces",
    // Batches leave every 200 ms instead of 5 s.
    OTEL_BSP_SCHEDULE_DELAY: "200",
  });
  // Migrations and the account, from this process (which sends no spans: it never starts tracing).
  db = await startTestService(t, { web: false, worker: false });
  await addAccount(db.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: ACCOUNT,
    username: "brand",
    token: "IGAA-traces-token",
    chat: { platform: "slack", channel: CHANNEL },
  });
  // At info: the processes' start-up lines are what the test waits for.
  web = startCommand(["web"], { ...t.env, LOG_LEVEL: "info" });
  worker = startCommand(["worker"], { ...t.env, LOG_LEVEL: "info" });
  await web.line((e) => e.msg === "http listening", 60_000);
  await worker.line((e) => e.msg === "worker started", 60_000);
  url = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  await web?.stop();
  await worker?.stop();
  await db?.stop();
  await graph?.close();
  await slack?.close();
  await receiver?.close();
  await t?.cleanup();
  rmSync(secrets, { recursive: true, force: true });
});

/** The spans of the trace that has a span named `first`, once it holds every name of `names`. */
async function traceWith(first: string, names: string[], what: string): Promise<ReceivedSpan[]> {
  return waitFor(
    async () => {
      for (const root of receiver.spans.filter((s) => s.name === first)) {
        const spans = receiver.spans.filter((s) => s.traceId === root.traceId);
        if (names.every((n) => spans.some((s) => s.name === n))) return spans;
      }
      return undefined;
    },
    30_000,
    `${what}; spans so far: ${receiver.spans.map((s) => s.name).join(", ")}`,
  );
}

const named = (spans: ReceivedSpan[], name: string) => {
  const span = spans.find((s) => s.name === name);
  if (!span) throw new Error(`no span ${name}`);
  return span;
};

const role = (s: ReceivedSpan) => s.resource["threadbridge.role"];

it("follows a webhook from the web process's request to the worker's Slack call in one trace", {
  timeout: 60_000,
}, async () => {
  const res = await postWebhook(url, dmText(ACCOUNT, CUSTOMER, "mid.traces.1", "hello", Date.now()));
  expect(res.status).toBe(200);
  const spans = await traceWith(
    "POST /webhooks/instagram",
    ["webhook store", "inbound job", "mirror", "chat slack openThread", "chat slack post"],
    "the webhook's trace",
  );
  const request = named(spans, "POST /webhooks/instagram");
  const store = named(spans, "webhook store");
  const job = named(spans, "inbound job");
  const mirror = named(spans, "mirror");
  const post = named(spans, "chat slack post");
  // One chain: request → store (web), then job → mirror → chat call (worker).
  expect(request.parentSpanId).toBeUndefined();
  expect(store.parentSpanId).toBe(request.spanId);
  expect(job.parentSpanId).toBe(store.spanId);
  expect(mirror.parentSpanId).toBe(job.spanId);
  expect(post.parentSpanId).toBe(mirror.spanId);
  expect([request, store].map(role)).toEqual(["web", "web"]);
  expect([job, mirror, post].map(role)).toEqual(["worker", "worker", "worker"]);
  expect(request.resource["process.pid"]).not.toBe(job.resource["process.pid"]);
  // Kinds and attributes as OpenTelemetry's conventions name them.
  expect(request).toMatchObject({
    kind: 2,
    attributes: {
      "http.request.method": "POST",
      "http.route": "/webhooks/instagram",
      "http.response.status_code": 200,
    },
  });
  expect(job).toMatchObject({ kind: 5, attributes: { "messaging.destination.name": "inbound" } });
  expect(post).toMatchObject({ kind: 3, status: 0, attributes: { "threadbridge.chat.platform": "slack" } });
  expect(store.attributes).toMatchObject({ "threadbridge.events": 1, "threadbridge.events.stored": 1 });
  // The standard variables: the service's name and extra resource attributes.
  for (const s of spans)
    expect(s.resource).toMatchObject({
      "service.name": "threadbridge-test",
      "deployment.environment.name": "test",
    });
  // Nothing of what the customer wrote, nor the token, in any span.
  const everything = JSON.stringify(receiver.spans);
  expect(everything).not.toContain("hello");
  expect(everything).not.toContain("IGAA-traces-token");
  expect(receiver.refused).toEqual([]);
  // Every export carried the headers: read from OTEL_EXPORTER_OTLP_HEADERS_FILE (decoded), with
  // the traces-only variable's value where both name a key.
  expect(receiver.requests.length).toBeGreaterThan(0);
  for (const headers of receiver.requests)
    expect(headers).toMatchObject({ "x-api-key": "traces key", "x-tenant": "traces" });
});

it("follows an agent's reply from Slack's request through the outbound job to the Graph call", {
  timeout: 60_000,
}, async () => {
  const root = await waitFor(
    async () => {
      const { rows } = await db.db.query<{ chat_thread: string | null }>(
        "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
        [ACCOUNT, CUSTOMER],
      );
      return rows[0]?.chat_thread ?? undefined;
    },
    15_000,
    "the conversation's thread",
  );
  const text = "we ship tomorrow";
  const ts = slack.seedMessage(CHANNEL, { user: AGENT.id, text, thread_ts: root });
  const res = await postSlackEvent(url, SECRET, {
    type: "message",
    channel: CHANNEL,
    channel_type: "channel",
    user: AGENT.id,
    text,
    ts,
    thread_ts: root,
  });
  expect(res.status).toBe(200);
  const spans = await traceWith(
    "POST /slack/events",
    ["chat inbox agentMessage", "outbound job", "graph POST /v25.0/{id}/messages"],
    "the reply's trace",
  );
  const request = named(spans, "POST /slack/events");
  const inbox = named(spans, "chat inbox agentMessage");
  const job = named(spans, "outbound job");
  const send = named(spans, "graph POST /v25.0/{id}/messages");
  expect(inbox.parentSpanId).toBe(request.spanId);
  expect(job.parentSpanId).toBe(inbox.spanId);
  expect(send.parentSpanId).toBe(job.spanId);
  expect([request, inbox].map(role)).toEqual(["web", "web"]);
  expect([job, send].map(role)).toEqual(["worker", "worker"]);
  expect(send).toMatchObject({
    kind: 3,
    status: 0,
    attributes: { "http.request.method": "POST", "url.template": "/v25.0/{id}/messages" },
  });
  expect(graph.requests.filter((r) => r.path.endsWith("/messages"))).toHaveLength(1);
  expect(JSON.stringify(receiver.spans)).not.toContain(text);
});
