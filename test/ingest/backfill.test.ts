// Backfill (issue 22), end to end against the Graph fake's Conversations API: `threadbridge
// accounts backfill` stores every message not yet known since --since, in conversation order,
// marked as recovered in the thread; a message already delivered by webhook is not doubled, a
// second run adds nothing, a webhook arriving later for a recovered message adds nothing; the
// calls keep the Conversations limit (2/s per account); a queued backfill (what a reconnection or
// the end of a webhook silence starts) runs in the worker.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueBackfill } from "../../src/ingest/backfill.ts";
import type { FakeConversation } from "../fakes/graph-server.ts";
import { TEST_BACKEND } from "../helpers/backend.ts";
import { ACCOUNT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { cli } from "../helpers/cli.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const A = "1000000000000971";
const B = "1000000000000972";
const C = "1000000000000973";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+0000");

function msg(id: string, from: string, to: string, at: number, text: string) {
  return { id, created_time: iso(at), from: { id: from }, to: { data: [{ id: to }] }, message: text };
}

const conversations = new Map<string, FakeConversation[]>([
  [
    ACCOUNT,
    [
      {
        id: "conv-a",
        updated_time: iso(now - HOUR),
        messages: [
          msg("m_bf_a3", A, ACCOUNT, now - HOUR, "third, also by webhook"),
          msg("m_bf_a2", ACCOUNT, A, now - 2 * HOUR, "answered from the Instagram app"),
          msg("m_bf_a1", A, ACCOUNT, now - 3 * HOUR, "first, never delivered"),
          msg("m_bf_a0", A, ACCOUNT, now - 10 * DAY, "too old for --since 7d"),
        ],
      },
      {
        id: "conv-b",
        updated_time: iso(now - 4 * HOUR),
        messages: [msg("m_bf_b1", B, ACCOUNT, now - 4 * HOUR, "hello from B")],
      },
      {
        id: "conv-c",
        updated_time: iso(now - 20 * DAY),
        messages: [msg("m_bf_c1", C, ACCOUNT, now - 20 * DAY, "long ago")],
      },
    ],
  ],
]);

let h: BridgeHarness;

beforeAll(async () => {
  h = await startBridgeHarness({}, { conversations, conversationsIdsOnly: true });
});
afterAll(async () => {
  await h?.close();
});

const texts = (root: string) =>
  h.slack
    .thread(CHANNEL, root)
    .slice(1)
    .map((m) => `${m.text ?? ""} ${JSON.stringify(m.blocks ?? [])}`);

async function settled(): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await h.service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM inbound_events WHERE status <> 'processed'",
      );
      return rows[0]?.n === 0 ? true : undefined;
    },
    20_000,
    "every event handled",
  );
}

describe("backfill", () => {
  it("recovers what no webhook brought, once, in order, marked, within the rate limit", async () => {
    expect(
      (await postWebhook(h.url(), dmText(ACCOUNT, A, "m_bf_a3", "third, also by webhook", now - HOUR)))
        .status,
    ).toBe(200);
    const rootA = await h.rootOf(A);
    await settled();

    const run = await cli(["accounts", "backfill", ACCOUNT, "--since", "7d"], h.t.env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      "2 conversation(s) read, 4 message(s) found, 3 new (queued for the threads), 1 already known",
    );
    await settled();

    const a = await waitFor(async () => {
      const t = texts(rootA);
      return t.some((x) => x.includes("answered from the Instagram app")) ? t : undefined;
    });
    const first = a.findIndex((x) => x.includes("first, never delivered"));
    const echo = a.findIndex((x) => x.includes("answered from the Instagram app"));
    expect(first).toBeGreaterThan(-1);
    expect(echo).toBeGreaterThan(first);
    expect(a[first]).toContain("recovered later (backfill)");
    expect(a.filter((x) => x.includes("third, also by webhook"))).toHaveLength(1);
    expect(a.join("\n")).not.toContain("too old");
    const rootB = await h.rootOf(B);
    const b = await waitFor(async () => {
      const t = texts(rootB);
      return t.some((x) => x.includes("hello from B")) ? t : undefined;
    });
    expect(b[0]).toContain("recovered later (backfill)");
    const { rows: none } = await h.service.db.query("SELECT 1 FROM conversations WHERE customer_id = $1", [
      C,
    ]);
    expect(none).toHaveLength(0);

    expect(h.sends()).toHaveLength(0);

    // Again: nothing new.
    const firstRunCalls = h.graph.requests.length;
    const again = await cli(["backfill", "--account", ACCOUNT, "--since", "7d"], h.t.env);
    expect(again.stdout).toContain("0 new (queued for the threads), 4 already known");

    // The Conversations limit, 2 calls/s per account, in each run: no 1-second window saw more.
    // Each run is a new process whose first call leaves long after its grant (fetch loads and
    // connects on first use); the limiter spaces calls from when they left, so that call is no
    // closer to the next ones. Each run on its own: this harness has no Redis, and without it the
    // limit is kept per process (ratelimit/limiter.ts), so the second run's first call may follow
    // the first run's last closer than a spacing (437 ms apart on a quiet machine, where the CLI
    // starts fast). The fake stamps calls on this process's event loop, which on the embedded
    // database also runs PGlite: a stall there stamps calls that arrived a moment apart as one, so
    // the windows are counted on Postgres only (test/outbound and the bench count calls at a fake
    // in a thread of its own).
    const callsOf = (requests: typeof h.graph.requests) =>
      requests
        .filter((r) => r.method === "GET" && /\/(conversations|conv-[a-z]+|m_bf_\w+)$/.test(r.path))
        .map((r) => r.at);
    const runs = [
      callsOf(h.graph.requests.slice(0, firstRunCalls)),
      callsOf(h.graph.requests.slice(firstRunCalls)),
    ];
    for (const calls of runs) expect(calls.length).toBeGreaterThanOrEqual(8);
    if (TEST_BACKEND === "postgres")
      for (const calls of runs)
        for (const at of calls)
          expect(calls.filter((t) => t >= at && t < at + 1000).length).toBeLessThanOrEqual(2);

    // The webhook arriving late for a recovered message adds nothing.
    await postWebhook(h.url(), dmText(ACCOUNT, B, "m_bf_b1", "hello from B", now - 4 * HOUR));
    await settled();
    await new Promise((r) => setTimeout(r, 500));
    expect(texts(rootB).filter((x) => x.includes("hello from B"))).toHaveLength(1);
    const { rows } = await h.service.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM messages WHERE ig_message_id LIKE 'm_bf_%'",
    );
    expect(rows[0]?.n).toBe(4);
  }, 90_000);

  it("runs a queued backfill in the worker (a reconnection, the end of a silence)", async () => {
    conversations
      .get(ACCOUNT)?.[1]
      ?.messages.unshift(msg("m_bf_b2", B, ACCOUNT, Date.now() - 1000, "B again"));
    const conv = conversations.get(ACCOUNT)?.[1];
    if (conv) conv.updated_time = iso(Date.now() - 1000);
    await queueBackfill(h.service.boss, ACCOUNT, new Date(Date.now() - DAY));
    const rootB = await h.rootOf(B);
    await waitFor(
      async () => (texts(rootB).some((x) => x.includes("B again")) ? true : undefined),
      30_000,
      "the queued backfill mirrored",
    );
  }, 60_000);
});

it("refuses an unknown account and a bad span", async () => {
  const unknown = await cli(["accounts", "backfill", "17841400000000999"], h.t.env);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain("no account 17841400000000999");
  const bad = await cli(["accounts", "backfill", ACCOUNT, "--since", "forever"], h.t.env);
  expect(bad.code).toBe(64);
  expect(bad.stderr).toContain("expected hours or days");
});
