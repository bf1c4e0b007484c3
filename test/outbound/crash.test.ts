import { afterAll, beforeAll, expect, it } from "vitest";
import { queueMessage } from "../../src/outbound/compose.ts";
import type { Service } from "../../src/service.ts";
import { type GraphLoadServer, startGraphLoadServer } from "../fakes/graph-load-server.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv, waitFor } from "../helpers/service.ts";
import { postWebhook } from "../helpers/webhook.ts";
import { killWorker, openConversation, seedAccount, startWorker, type WorkerProcess } from "./helpers.ts";

needsDatabaseServer("worker processes share the database with the web process");

// A worker is killed (SIGKILL) while two of its Send API calls are in flight: the fake Graph has
// received both and holds their answers, so the worker never learns their message ids. Instagram
// delivered both. Then:
//   (a) the echo webhook of the first arrives (at the web process, while no worker runs). After
//       the restart the echo is taken as that send's delivery (echo-match.ts): its row becomes
//       `sent` with the echo's mid, and its retried job finds it sent. Proven: no second call.
//   (b) no echo of the second arrives. After the echo grace (OUTBOUND_ECHO_GRACE_SECONDS=2) the
//       retried job sends it again: exactly one more call, whose answer is stored. Proven: two
//       calls in all (the documented limit: a delivered send whose echo is later than the grace,
//       or never comes, reaches the customer twice), never three.
// Both rows end `sent` and both jobs complete.

const ACCOUNT = "17841400000000401";
const CUSTOMER_A = "6300000000000001";
const CUSTOMER_B = "6300000000000002";

let t: TestEnv;
let web: Service;
let graph: GraphLoadServer;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  graph = await startGraphLoadServer();
  t = await testEnv(TEST_BACKEND, {
    IG_GRAPH_URL: graph.url,
    OUTBOUND_ECHO_GRACE_SECONDS: "2",
    INBOUND_EXPIRE_SECONDS: "2",
    QUEUE_SUPERVISE_SECONDS: "1",
    OUTBOUND_CONCURRENCY: "2",
  });
  web = await startTestService(t, { worker: false });
  await seedAccount(web.db, t.env.TOKEN_ENCRYPTION_KEY as string, ACCOUNT);
  await openConversation(web.db, ACCOUNT, CUSTOMER_A);
  await openConversation(web.db, ACCOUNT, CUSTOMER_B);
});

afterAll(async () => {
  for (const w of workers) await killWorker(w);
  await web?.stop();
  await graph?.close();
  await t?.cleanup();
});

async function queue(customer: string, text: string): Promise<number> {
  return queueMessage(web.db, web.boss, {
    accountId: ACCOUNT,
    customerId: customer,
    text,
    author: { kind: "agent", id: "U1", name: "Ana" },
  });
}

interface Row {
  delivery_state: string;
  ig_message_id: string | null;
  send_started_at: Date | null;
  details: { reconciledByEcho?: boolean };
}

async function row(id: number): Promise<Row> {
  const { rows } = await web.db.query<Row>(
    "SELECT delivery_state, ig_message_id, send_started_at, details FROM messages WHERE id = $1",
    [id],
  );
  return rows[0] as Row;
}

async function jobState(id: number): Promise<string | undefined> {
  const { rows } = await web.db.query<{ state: string }>(
    "SELECT state FROM pgboss.job WHERE name = 'outbound' AND (data->>'messageId')::bigint = $1",
    [id],
  );
  return rows[0]?.state;
}

it("a send cut off by kill -9 is reconciled by its echo, or sent exactly once more", {
  timeout: 60_000,
}, async () => {
  graph.fault({ kind: "hold", textIncludes: "crash", count: 2 });
  const a = await queue(CUSTOMER_A, "crash (a): the echo will tell");
  const b = await queue(CUSTOMER_B, "crash (b): no echo will come");
  const first = startWorker(t.env);
  workers.push(first);
  const inFlight = await graph.waitForCalls(2, (c) => (c.text ?? "").startsWith("crash"), 20_000);
  // Both calls started (send_started_at committed) and neither answer came back.
  expect((await row(a)).send_started_at).not.toBeNull();
  expect((await row(b)).send_started_at).not.toBeNull();
  await killWorker(first, "SIGKILL");

  const callA = inFlight.find((c) => c.recipient === CUSTOMER_A);
  expect(callA?.messageId).toBeDefined();
  // (a) Instagram delivered it and echoes it.
  const now = Date.now();
  const echo = await postWebhook(web.url as string, {
    object: "instagram",
    entry: [
      {
        id: ACCOUNT,
        time: now,
        messaging: [
          {
            sender: { id: ACCOUNT },
            recipient: { id: CUSTOMER_A },
            timestamp: now,
            message: { mid: callA?.messageId, text: callA?.text, is_echo: true },
          },
        ],
      },
    ],
  });
  expect(echo.status).toBe(200);

  workers.push(startWorker(t.env));
  await waitFor(
    async () =>
      (await jobState(a)) === "completed" && (await jobState(b)) === "completed" ? true : undefined,
    30_000,
    "both outbound jobs to complete after the restart",
  );

  const rowA = await row(a);
  expect(rowA).toMatchObject({
    delivery_state: "sent",
    ig_message_id: callA?.messageId,
    send_started_at: null,
  });
  expect(rowA.details.reconciledByEcho).toBe(true);
  const callsA = graph.calls.filter((c) => c.recipient === CUSTOMER_A);
  expect(callsA).toHaveLength(1);
  // The echo was recognised as our own send, not recorded as a message typed in the Instagram app.
  const { rows: others } = await web.db.query(
    "SELECT id FROM messages WHERE author_kind = 'business' AND account_id = $1",
    [ACCOUNT],
  );
  expect(others).toHaveLength(0);

  const callsB = graph.calls.filter((c) => c.recipient === CUSTOMER_B);
  expect(callsB.map((c) => c.outcome)).toEqual(["dropped", 200]);
  const rowB = await row(b);
  expect(rowB).toMatchObject({
    delivery_state: "sent",
    ig_message_id: callsB[1]?.messageId,
    send_started_at: null,
  });
  // The resend waited out the grace: at least 2 s after the interrupted call.
  expect((callsB[1]?.at as number) - (callsB[0]?.at as number)).toBeGreaterThanOrEqual(2_000);
});
