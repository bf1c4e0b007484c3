import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listDeadLetters, replayDeadLetters } from "../../src/queue/dead-letters.ts";
import { stopWork } from "../../src/queue/work-slots.ts";
import type { Service } from "../../src/service.ts";
import { type Backend, startTestService, type TestEnv, testEnv, waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const ACCOUNT = "17841400000000001";

// The same pipeline, webhook → store → queue → worker → records, on both database backends.
describe.each<Backend>(["postgres", "embedded"])("pipeline on %s", (backend) => {
  let t: TestEnv;
  let service: Service;

  beforeAll(async () => {
    t = await testEnv(backend, { INBOUND_RETRY_LIMIT: "1", WORKER_CONCURRENCY: "4" });
    service = await startTestService(t);
  });

  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
  });

  const q = <R extends object>(sql: string, params: unknown[] = []) =>
    service.db.query<R>(sql, params).then((r) => r.rows);

  async function processedCount(where = "TRUE"): Promise<number> {
    const rows = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbound_events WHERE status = 'processed' AND ${where}`,
    );
    return (rows[0] as { n: number }).n;
  }

  it("turns a conversation's events into records, in order", async () => {
    const customer = "3000000000000001";
    const t0 = 1761287294000;
    const events = [
      dmText(ACCOUNT, customer, "mid.p.1", "Hi, is the blue one available?", t0),
      {
        object: "instagram",
        entry: [
          {
            id: ACCOUNT,
            time: t0 + 10,
            messaging: [
              {
                sender: { id: customer },
                recipient: { id: ACCOUNT },
                timestamp: t0 + 10,
                message_edit: { mid: "mid.p.1", text: "Hi, is the red one available?", num_edit: 1 },
              },
              {
                sender: { id: ACCOUNT },
                recipient: { id: customer },
                timestamp: t0 + 20,
                message: { mid: "mid.p.2", text: "Yes!", is_echo: true },
              },
              {
                sender: { id: customer },
                recipient: { id: ACCOUNT },
                timestamp: t0 + 30,
                reaction: { mid: "mid.p.2", action: "react", reaction: "love", emoji: "❤️" },
              },
              {
                sender: { id: customer },
                recipient: { id: ACCOUNT },
                timestamp: t0 + 40,
                read: { mid: "mid.p.2" },
              },
              {
                sender: { id: customer },
                recipient: { id: ACCOUNT },
                timestamp: t0 + 50,
                message: { mid: "mid.p.3", text: "oops" },
              },
              {
                sender: { id: customer },
                recipient: { id: ACCOUNT },
                timestamp: t0 + 60,
                message: { mid: "mid.p.3", is_deleted: true },
              },
            ],
          },
        ],
      },
    ];
    for (const e of events) expect((await postWebhook(service.url as string, e)).status).toBe(200);
    await waitFor(async () =>
      (await processedCount(`thread_key = 'dm:${customer}'`)) === 7 ? true : undefined,
    );

    const messages = await q<{
      ig_message_id: string;
      direction: string;
      author_kind: string;
      text: string | null;
      edit_count: number;
      deleted_at: Date | null;
      details: Record<string, unknown>;
    }>(
      "SELECT ig_message_id, direction, author_kind, text, edit_count, deleted_at, details FROM messages WHERE account_id = $1 AND conversation_id = (SELECT id FROM conversations WHERE customer_id = $2) ORDER BY occurred_at",
      [ACCOUNT, customer],
    );
    expect(messages.map((m) => [m.ig_message_id, m.direction, m.author_kind, m.text, m.edit_count])).toEqual([
      ["mid.p.1", "inbound", "customer", "Hi, is the red one available?", 1],
      ["mid.p.2", "outbound", "business", "Yes!", 0],
      ["mid.p.3", "inbound", "customer", null, 0],
    ]);
    expect(messages[2]?.deleted_at).not.toBeNull();
    expect(messages[1]?.details.customerReaction).toBe("❤️");
    const [conversation] = await q<{
      last_customer_message_at: Date;
      last_business_message_at: Date;
      last_seen_mid: string;
    }>(
      "SELECT last_customer_message_at, last_business_message_at, last_seen_mid FROM conversations WHERE customer_id = $1",
      [customer],
    );
    expect(new Date(conversation?.last_customer_message_at as Date).getTime()).toBe(t0 + 50);
    expect(new Date(conversation?.last_business_message_at as Date).getTime()).toBe(t0 + 20);
    expect(conversation?.last_seen_mid).toBe("mid.p.2");

    // Handled one after another in the order they happened.
    const order = await q<{ id: number; processed_at: Date }>(
      `SELECT id, processed_at FROM inbound_events WHERE thread_key = 'dm:${customer}' ORDER BY occurred_at, id`,
    );
    const times = order.map((r) => new Date(r.processed_at).getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const [account] = await q<{ status: string }>("SELECT status FROM instagram_accounts WHERE id = $1", [
      ACCOUNT,
    ]);
    expect(account?.status).toBe("unconfigured");
  });

  it("records comment threads, replies attached to their top-level comment", async () => {
    const body = {
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: 1776339591,
          changes: [
            {
              field: "comments",
              value: {
                id: "17850000000000001",
                text: "Price?",
                from: { id: "4000000000000001", username: "jane" },
                media: { id: "17900000000000001", media_product_type: "FEED" },
              },
            },
            {
              field: "comments",
              value: {
                id: "17850000000000002",
                parent_id: "17850000000000001",
                text: "@jane DM us",
                from: { id: ACCOUNT, username: "brand" },
                media: { id: "17900000000000001", media_product_type: "FEED" },
              },
            },
          ],
        },
      ],
    };
    expect((await postWebhook(service.url as string, body)).status).toBe(200);
    await waitFor(async () =>
      (await processedCount("thread_key = 'comment:17850000000000001'")) === 2 ? true : undefined,
    );
    const threads = await q<{ root_comment_id: string; author_username: string; media_id: string }>(
      "SELECT root_comment_id, author_username, media_id FROM comment_threads",
    );
    expect(threads).toEqual([
      { root_comment_id: "17850000000000001", author_username: "jane", media_id: "17900000000000001" },
    ]);
    const comments = await q<{ ig_message_id: string; author_kind: string }>(
      "SELECT ig_message_id, author_kind FROM messages WHERE comment_thread_id IS NOT NULL ORDER BY ig_message_id",
    );
    expect(comments).toEqual([
      { ig_message_id: "17850000000000001", author_kind: "customer" },
      { ig_message_id: "17850000000000002", author_kind: "business" },
    ]);
  });

  it("holds a failing conversation back while others proceed, dead-letters it, and replays it in order", {
    timeout: 90_000,
  }, async () => {
    const stuck = "5000000000000001";
    const free = "5000000000000002";
    const t0 = 1761287400000;
    // Store without a worker racing us, then break the first event of `stuck` the way a corrupt row would.
    await stopWork(service.boss, { queue: "inbound" });
    expect(
      (await postWebhook(service.url as string, dmText(ACCOUNT, stuck, "mid.s.1", "first", t0))).status,
    ).toBe(200);
    const [bad] = await q<{ id: number; event: object }>(
      "SELECT id, event FROM inbound_events WHERE dedupe_key = 'msg:mid.s.1'",
    );
    await service.db.query(
      "UPDATE inbound_events SET event = jsonb_set(event, '{accountId}', 'null') WHERE id = $1",
      [bad?.id],
    );
    for (const [customer, mid, at] of [
      [stuck, "mid.s.2", t0 + 1],
      [stuck, "mid.s.3", t0 + 2],
      [free, "mid.f.1", t0 + 3],
      [free, "mid.f.2", t0 + 4],
    ] as const)
      expect((await postWebhook(service.url as string, dmText(ACCOUNT, customer, mid, "x", at))).status).toBe(
        200,
      );

    const { startInboundWorker } = await import("../../src/worker/inbound-worker.ts");
    const { Bridge } = await import("../../src/mirror/pipeline.ts");
    const { createLogger } = await import("../../src/log/logger.ts");
    const log = createLogger("silent", { pretty: false });
    await startInboundWorker({
      db: service.db,
      boss: service.boss,
      bridge: new Bridge({ db: service.db, log }),
      log,
      metrics: service.metrics,
      concurrency: 2,
      pollingIntervalSeconds: 0.5,
    });

    // The other conversation is not held up by the broken one.
    await waitFor(async () => ((await processedCount(`thread_key = 'dm:${free}'`)) === 2 ? true : undefined));
    // The broken event exhausts its retries and becomes a dead letter; its successors wait.
    const dead = await waitFor(
      async () => {
        const list = await listDeadLetters(service.db);
        return list.length ? list : undefined;
      },
      30_000,
      "a dead letter",
    );
    expect(dead.map((d) => d.id)).toEqual([bad?.id]);
    expect(dead[0]?.lastError).toMatch(/null/i);
    expect(await processedCount(`thread_key = 'dm:${stuck}'`)).toBe(0);

    // The operator repairs the row and replays it: it runs first, then the ones it held back.
    await service.db.query("UPDATE inbound_events SET event = $2 WHERE id = $1", [
      bad?.id,
      JSON.stringify(bad?.event),
    ]);
    expect(await replayDeadLetters(service.db, service.boss, "all")).toEqual([bad?.id]);
    await waitFor(
      async () => ((await processedCount(`thread_key = 'dm:${stuck}'`)) === 3 ? true : undefined),
      30_000,
      "the replayed event and its successors",
    ).catch(async (err: unknown) => {
      // Once seen in a CI run beside the browser test (not reproduced alone): the thread's events and
      // jobs as they stood, for whoever reads the failure.
      const rows = await q(
        `SELECT e.id, e.status, e.attempts, e.last_error, j.state, j.retry_count, j.start_after, j.blocked
           FROM inbound_events e LEFT JOIN pgboss.job j ON j.id = e.job_id
          WHERE e.thread_key = 'dm:${stuck}' ORDER BY e.id`,
      );
      throw new Error(`${(err as Error).message}; the thread's events and jobs: ${JSON.stringify(rows)}`);
    });
    const order = await q<{ dedupe_key: string }>(
      `SELECT dedupe_key FROM inbound_events WHERE thread_key = 'dm:${stuck}' ORDER BY processed_at`,
    );
    expect(order.map((r) => r.dedupe_key)).toEqual(["msg:mid.s.1", "msg:mid.s.2", "msg:mid.s.3"]);
  });
});
