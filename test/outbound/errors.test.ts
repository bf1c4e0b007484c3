import type { PgBoss } from "pg-boss";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { createLogger } from "../../src/log/logger.ts";
import { queueMessage } from "../../src/outbound/compose.ts";
import { pause, resume } from "../../src/outbound/pause.ts";
import { OutboundSender, type SenderDeps } from "../../src/outbound/send-worker.ts";
import type { Service } from "../../src/service.ts";
import { startOutboundWorker } from "../../src/worker/outbound-worker.ts";
import { type Fault, type GraphLoadServer, startGraphLoadServer } from "../fakes/graph-load-server.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv, waitFor } from "../helpers/service.ts";
import { openConversation, senderDeps as outboundSenderDeps, seedAccount, TOKEN_PREFIX } from "./helpers.ts";

// What each Instagram answer does to an outbound message, through the real path: message row and
// pg-boss job (`queueMessage`), the outbound worker, the sender, the gateway, the limiter and the
// Graph client against a fake Graph API. Composed here rather than through startService so the
// test holds the sender's options (Human Agent) and a Graph client whose backoff cap is short
// (1 s instead of 30 s) so that a Meta-requested pause is handed to the limiter in test time.

const HOUR = 3_600_000;

let t: TestEnv;
let svc: Service;
let db: Database;
let boss: PgBoss;
let graph: GraphLoadServer;
let senderDeps: SenderDeps;
const alerts: string[] = [];
let accounts = 0;
let customers = 0;

beforeAll(async () => {
  graph = await startGraphLoadServer();
  t = await testEnv(TEST_BACKEND);
  svc = await startTestService(t, { web: false, worker: false });
  db = svc.db;
  boss = svc.boss;
  const log = createLogger("silent", { pretty: false });
  senderDeps = outboundSenderDeps({
    db,
    graphUrl: graph.url,
    keys: t.env.TOKEN_ENCRYPTION_KEY as string,
    log,
    metrics: svc.metrics,
    onTokenInvalid: async (account) => {
      alerts.push(account);
    },
  });
  await startOutboundWorker({
    boss,
    sender: new OutboundSender(senderDeps),
    actions: { db, gateway: senderDeps.gateway, log },
    log,
    concurrency: 4,
    pollingIntervalSeconds: 1,
  });
});

afterAll(async () => {
  await svc?.stop();
  await graph?.close();
  await t?.cleanup();
});

async function account(): Promise<string> {
  const id = `178414000010${String(accounts++).padStart(5, "0")}`;
  await seedAccount(db, t.env.TOKEN_ENCRYPTION_KEY as string, id);
  return id;
}

async function send(
  accountId: string,
  text: string,
  opts: { ageMs?: number; author?: "agent" | "rule"; customer?: string } = {},
): Promise<number> {
  const customer = opts.customer ?? `62000000${String(customers++).padStart(8, "0")}`;
  await openConversation(db, accountId, customer, opts.ageMs ?? HOUR);
  const kind = opts.author ?? "agent";
  return queueMessage(db, boss, {
    accountId,
    customerId: customer,
    text,
    author: { kind, id: "U1", name: "Ana" },
  });
}

interface Row {
  delivery_state: string;
  delivery_error: string | null;
  ig_message_id: string | null;
  messaging_tag: string | null;
  send_started_at: Date | null;
}

async function row(id: number): Promise<Row> {
  const { rows } = await db.query<Row>(
    "SELECT delivery_state, delivery_error, ig_message_id, messaging_tag, send_started_at FROM messages WHERE id = $1",
    [id],
  );
  return rows[0] as Row;
}

async function settled(id: number, state: string, ms = 15_000): Promise<Row> {
  return waitFor(
    async () => {
      const r = await row(id);
      return r.delivery_state === state ? r : undefined;
    },
    ms,
    `message ${id} to be ${state}`,
  );
}

/** The message's job is finished (completed), so nothing will retry it. */
async function jobDone(id: number): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await db.query<{ state: string }>(
        "SELECT state FROM pgboss.job WHERE name = 'outbound' AND (data->>'messageId')::bigint = $1",
        [id],
      );
      return rows[0]?.state === "completed" ? true : undefined;
    },
    10_000,
    `the job of message ${id} to complete`,
  );
}

const callsOf = (accountId: string) => graph.calls.filter((c) => c.account === accountId && c.cls !== "get");
const pause_ = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("final refusals fail at once, with a plain reason, and are never retried", () => {
  const cases: Array<[string, Fault, string]> = [
    ["window closed (10/2534022)", { kind: "window_closed" }, "the 24-hour window has closed"],
    [
      "user unavailable (551)",
      { kind: "user_unavailable" },
      "this person isn't available to message right now",
    ],
    [
      "permission (10)",
      { kind: "permission", permissionCode: 10 },
      "the app lacks permission for this action (check scopes and App Review)",
    ],
    [
      "permission (200)",
      { kind: "permission", permissionCode: 200 },
      "the app lacks permission for this action (check scopes and App Review)",
    ],
    ["bad request (100)", { kind: "bad_request" }, "Instagram rejected the request as invalid"],
  ];
  for (const [name, fault, reason] of cases)
    it(name, async () => {
      const a = await account();
      graph.fault({ ...fault, account: a });
      const id = await send(a, `refused ${name}`);
      const r = await settled(id, "failed");
      expect(r).toMatchObject({ delivery_error: reason, ig_message_id: null, send_started_at: null });
      await jobDone(id);
      expect(callsOf(a)).toHaveLength(1);
    });
});

describe("temporary failures are retried until sent", () => {
  it("5xx: retried inside the call, then by the job once the client gives up", async () => {
    const a = await account();
    // The client makes 4 attempts per call (3 retries): 6 errors outlast one call, so the job
    // itself is retried (deferred), and its second call succeeds on its 3rd attempt.
    graph.fault({ kind: "server_error", account: a, count: 6 });
    const id = await send(a, "after a 500 storm");
    const r = await settled(id, "sent");
    const calls = callsOf(a);
    expect(calls.map((c) => c.outcome)).toEqual([500, 500, 500, 500, 500, 500, 200]);
    expect(r.ig_message_id).toBe(calls[6]?.messageId);
    const { rows } = await db.query<{ send_attempts: number }>(
      "SELECT send_attempts FROM messages WHERE id = $1",
      [id],
    );
    expect(rows[0]?.send_attempts).toBe(2);
  });

  it("rate limit (613) without a regain time: backed off and sent", async () => {
    const a = await account();
    graph.fault({ kind: "rate_limit", code: 613, account: a, count: 2 });
    const id = await send(a, "after 613");
    await settled(id, "sent");
    expect(callsOf(a).map((c) => c.outcome)).toEqual([400, 400, 200]);
  });

  it("rate limit with estimated_time_to_regain_access pauses the whole account, then sends", async (ctx) => {
    needsDatabaseServer(
      "PGlite runs on this process's event loop and delays the calls whose timing the test measures",
      ctx,
    );
    const a = await account();
    // Meta gives minutes (whole ones in practice); 0.05 min = 3 s keeps the test short.
    graph.fault({ kind: "rate_limit", code: 4, regainMinutes: 0.05, account: a, textIncludes: "first" });
    const first = await send(a, "first, meets the limit");
    await graph.waitForCalls(1, (c) => c.account === a);
    // Another conversation of the same account, queued while the account is paused.
    const second = await send(a, "second, other conversation");
    await settled(first, "sent", 20_000);
    await settled(second, "sent", 20_000);
    const calls = callsOf(a);
    expect(calls[0]?.outcome).toBe(400);
    const limitedAt = calls[0]?.at as number;
    // Nothing reached Instagram for this account during the 3 s it asked for.
    for (const c of calls.slice(1)) expect(c.at - limitedAt).toBeGreaterThanOrEqual(3_000 - 50);
    expect(
      calls
        .filter((c) => c.outcome === 200)
        .map((c) => c.text)
        .sort(),
    ).toEqual(["first, meets the limit", "second, other conversation"]);
  });
});

describe("an invalid token holds the account's messages until it is reconnected", () => {
  it("marks the account token_invalid, holds the message, calls no more; sends after accounts add", async () => {
    const a = await account();
    graph.fault({ kind: "token_invalid", account: a });
    const id = await send(a, "token dies here");
    const held = await settled(id, "held");
    expect(held.delivery_error).toBe(
      "the Instagram connection must be reconnected (token invalid or expired)",
    );
    const { rows } = await db.query<{ status: string }>(
      "SELECT status FROM instagram_accounts WHERE id = $1",
      [a],
    );
    expect(rows[0]?.status).toBe("token_invalid");
    expect(alerts.filter((x) => x === a)).toHaveLength(1);
    // Its job keeps retrying (1 s, 2 s, …) without calling Instagram.
    await pause_(2_500);
    expect(callsOf(a)).toHaveLength(1);
    expect((await row(id)).delivery_state).toBe("held");

    await seedAccount(db, t.env.TOKEN_ENCRYPTION_KEY as string, a); // accounts add with a new token
    const sent = await settled(id, "sent", 20_000);
    const calls = callsOf(a);
    expect(calls).toHaveLength(2);
    expect(sent.ig_message_id).toBe(calls[1]?.messageId);
    expect(calls[1]?.text).toBe("token dies here");
    expect(alerts.filter((x) => x === a)).toHaveLength(1);
  });
});

describe("the pause switch", () => {
  it("holds without calling Instagram, then sends in order on resume", async () => {
    const a = await account();
    await pause(db, { account: a }, "test:ops", { kind: "operator", id: "test:ops" });
    const customer = `62000000${String(customers++).padStart(8, "0")}`;
    const ids: number[] = [];
    for (const n of [1, 2, 3]) ids.push(await send(a, `paused ${n}`, { customer }));
    const first = await settled(ids[0] as number, "held");
    expect(first.delivery_error).toBe("sending is paused for this account (by test:ops)");
    await pause_(1_500);
    expect(callsOf(a)).toHaveLength(0);
    // The later messages wait behind the first, in the conversation's lane.
    expect((await row(ids[1] as number)).delivery_state).toBe("pending");

    await resume(db, { account: a }, { kind: "operator", id: "test:ops" });
    for (const id of ids) await settled(id, "sent", 20_000);
    expect(callsOf(a).map((c) => c.text)).toEqual(["paused 1", "paused 2", "paused 3"]);
  });

  it("the global switch holds every account", async () => {
    const a = await account();
    await pause(db, "global", "test:ops", { kind: "operator", id: "test:ops" });
    try {
      const id = await send(a, "globally paused");
      expect((await settled(id, "held")).delivery_error).toBe(
        "sending is paused for every account (by test:ops)",
      );
      expect(callsOf(a)).toHaveLength(0);
    } finally {
      await resume(db, "global", { kind: "operator", id: "test:ops" });
    }
  });
});

describe("messaging windows", () => {
  it("within 24 h: RESPONSE, for agents and rules", async () => {
    const a = await account();
    const agent = await send(a, "agent in window", { ageMs: 23 * HOUR });
    const rule = await send(a, "rule in window", { ageMs: 1 * HOUR, author: "rule" });
    await settled(agent, "sent");
    await settled(rule, "sent");
    for (const c of callsOf(a)) expect(c.body).toMatchObject({ messaging_type: "RESPONSE" });
    expect(callsOf(a).every((c) => c.body?.tag === undefined)).toBe(true);
  });

  it("24 h – 7 d: HUMAN_AGENT tag for an agent when the app has the feature; refused for a rule", async () => {
    const a = await account();
    const agent = await send(a, "agent after a day", { ageMs: 30 * HOUR });
    const rule = await send(a, "rule after a day", { ageMs: 30 * HOUR, author: "rule" });
    expect((await settled(agent, "sent")).messaging_tag).toBe("HUMAN_AGENT");
    expect((await settled(rule, "failed")).delivery_error).toBe(
      "the 24-hour window has closed; automation may not use the human-agent tag",
    );
    const calls = callsOf(a);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toMatchObject({ messaging_type: "MESSAGE_TAG", tag: "HUMAN_AGENT" });
    expect(calls[0]?.text).toBe("agent after a day");
    expect(calls[0]?.recipient).toBeDefined();
  });

  it("24 h – 7 d without the Human Agent feature: refused, no call", async () => {
    const a = await account();
    senderDeps.humanAgent = false;
    try {
      const id = await send(a, "agent after a day, no feature", { ageMs: 30 * HOUR });
      expect((await settled(id, "failed")).delivery_error).toBe(
        "the messaging window has closed; the customer must write again before anyone can reply",
      );
    } finally {
      senderDeps.humanAgent = true;
    }
    expect(callsOf(a)).toHaveLength(0);
  });

  it("after 7 days: refused for everyone, no call", async () => {
    const a = await account();
    const id = await send(a, "agent after 8 days", { ageMs: 8 * 24 * HOUR });
    expect((await settled(id, "failed")).delivery_error).toBe(
      "the messaging window has closed; the customer must write again before anyone can reply",
    );
    expect(callsOf(a)).toHaveLength(0);
  });

  it("the token travels only in the Authorization header", () => {
    // Every call so far carried no token in its path or body (the fake records both).
    for (const c of graph.calls) {
      expect(c.path).not.toContain(TOKEN_PREFIX);
      expect(JSON.stringify(c.body ?? {})).not.toContain(TOKEN_PREFIX);
    }
  });
});
