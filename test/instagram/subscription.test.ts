import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueBackfill } from "../../src/ingest/backfill.ts";
import { SUBSCRIBED_FIELDS } from "../../src/instagram/business-login.ts";
import { ensureSubscribed } from "../../src/instagram/subscription.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { Service } from "../../src/service.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../fakes/graph-server.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv, waitFor } from "../helpers/service.ts";
import { seedAccount, senderDeps, TOKEN_PREFIX } from "../outbound/helpers.ts";

// The webhook subscription checked when an account (re)connects (issue 22): the account's
// subscribed fields are read (`GET /me/subscribed_apps`, reference 5.5) and, when one the product
// needs is missing, subscribed again with them added (`POST /me/subscribed_apps`), against the
// Graph fake that keeps each token's subscription as Instagram does.

const COMPLETE = "17841400000088001";
const PARTIAL = "17841400000088002";
const NONE = "17841400000088003";
const REVOKED = "17841400000088004";
const QUEUED = "17841400000088005";

type Sub = { userId: string; username: string; subscribedFields: readonly string[] };
const accounts = new Map<string, Sub>([
  [`${TOKEN_PREFIX}${COMPLETE}`, { userId: COMPLETE, username: "c", subscribedFields: SUBSCRIBED_FIELDS }],
  // Another tool subscribed the account with its own field list, without Conversation Routing's.
  [
    `${TOKEN_PREFIX}${PARTIAL}`,
    { userId: PARTIAL, username: "p", subscribedFields: ["messages", "comments", "live_comments"] },
  ],
  [`${TOKEN_PREFIX}${NONE}`, { userId: NONE, username: "n", subscribedFields: [] }],
  [`${TOKEN_PREFIX}${QUEUED}`, { userId: QUEUED, username: "q", subscribedFields: ["messages"] }],
]);

let t: TestEnv;
let svc: Service;
let graph: GraphServer;

beforeAll(async () => {
  graph = await startGraphServer(instagramResponder({ accounts }));
  t = await testEnv(TEST_BACKEND, { IG_GRAPH_URL: graph.url });
  svc = await startTestService(t, { web: false, worker: true });
  for (const id of [COMPLETE, PARTIAL, NONE, REVOKED, QUEUED])
    await seedAccount(svc.db, t.env.TOKEN_ENCRYPTION_KEY as string, id);
});

afterAll(async () => {
  await svc?.stop();
  await graph?.close();
  await t?.cleanup();
});

function deps() {
  const log = createLogger("silent", { pretty: false });
  const { gateway } = senderDeps({
    db: svc.db,
    graphUrl: graph.url,
    keys: t.env.TOKEN_ENCRYPTION_KEY as string,
    log,
    metrics: svc.metrics,
  });
  return { db: svc.db, gateway, log };
}

const calls = (id: string, method: string) =>
  graph.requests.filter(
    (r) =>
      r.method === method &&
      r.path.endsWith("/me/subscribed_apps") &&
      r.headers.authorization === `Bearer ${TOKEN_PREFIX}${id}`,
  );

describe("the webhook subscription on reconnect", () => {
  it("reads a complete subscription and leaves it alone", async () => {
    expect(await ensureSubscribed(deps(), COMPLETE)).toEqual({
      kind: "complete",
      fields: SUBSCRIBED_FIELDS,
    });
    expect(calls(COMPLETE, "GET")).toHaveLength(1);
    expect(calls(COMPLETE, "POST")).toEqual([]);
  });

  it("subscribes the missing fields again, keeping the ones another tool added", async () => {
    const check = await ensureSubscribed(deps(), PARTIAL);
    expect(check).toEqual({
      kind: "renewed",
      missing: SUBSCRIBED_FIELDS.filter((f) => f !== "messages" && f !== "comments"),
      fields: ["messages", "comments", "live_comments", ...SUBSCRIBED_FIELDS.slice(2)],
    });
    const [post] = calls(PARTIAL, "POST");
    expect(post?.query.subscribed_fields?.split(",")).toEqual(
      expect.arrayContaining([...SUBSCRIBED_FIELDS, "live_comments", "messaging_handover", "standby"]),
    );
    expect(accounts.get(`${TOKEN_PREFIX}${PARTIAL}`)?.subscribedFields).toContain("standby");
    // Audited, as any change made for the operator.
    const { rows } = await svc.db.query<{ details: { missing: string[] } }>(
      "SELECT details FROM audit_log WHERE account_id = $1 AND action = 'webhooks_resubscribed'",
      [PARTIAL],
    );
    expect(rows[0]?.details.missing).toContain("messaging_handover");
    // Checked again: now complete, nothing written.
    expect((await ensureSubscribed(deps(), PARTIAL)).kind).toBe("complete");
    expect(calls(PARTIAL, "POST")).toHaveLength(1);
  });

  it("subscribes an account Instagram delivers nothing for", async () => {
    expect(await ensureSubscribed(deps(), NONE)).toMatchObject({
      kind: "renewed",
      missing: SUBSCRIBED_FIELDS,
    });
    expect(calls(NONE, "POST")[0]?.query.subscribed_fields).toBe(SUBSCRIBED_FIELDS.join(","));
  });

  it("says why it could not check, without throwing", async () => {
    // The fake knows no account behind this token: error 190, as for a revoked token.
    const check = await ensureSubscribed(deps(), REVOKED);
    expect(check.kind).toBe("failed");
    if (check.kind === "failed") expect(check.reason).toMatch(/^reading the webhook subscription: /);
  });

  it("is checked by the queued backfill a reconnection starts", async () => {
    await queueBackfill(svc.boss, QUEUED, new Date(Date.now() - 86_400_000));
    await waitFor(
      async () => (calls(QUEUED, "POST").length > 0 ? true : undefined),
      30_000,
      "the worker's subscription",
    );
    expect(accounts.get(`${TOKEN_PREFIX}${QUEUED}`)?.subscribedFields).toEqual([
      "messages",
      ...SUBSCRIBED_FIELDS.filter((f) => f !== "messages"),
    ]);
  });
});
