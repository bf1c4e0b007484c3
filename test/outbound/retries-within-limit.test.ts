// A call Instagram answers with a rate-limit error is retried, and every retry is a call Instagram
// counts. The chaos run found 15 Send API calls of one account in a second of 10: the Graph
// client retried code 613 answers by itself, outside the limiter. The gateway now retries, and
// each attempt takes its own turn of the account's limit.

import { afterAll, beforeAll, expect, it } from "vitest";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { startTimedGraph, type TimedGraph } from "./helpers.ts";

const ACCOUNT = "17841400002100001";
const LIMIT = 5;

let t: TimedGraph;

beforeAll(async () => {
  t = await startTimedGraph(ACCOUNT);
});

afterAll(async () => {
  await t?.stop();
});

it("counts every retry of a rate-limited call against the account's limit", async (ctx) => {
  needsDatabaseServer(
    "PGlite runs on this process's event loop and delays the calls whose timing the test measures",
    ctx,
  );
  const { graph } = t;
  // Backoff of tens of milliseconds: a retry outside the limiter would land inside the window.
  const gateway = t.gateway(
    { send_text: { points: LIMIT, durationSeconds: 1 } },
    { retryBaseMs: 20, retryCapMs: 1_000 },
  );
  await graph.fault({ kind: "rate_limit", code: 613, account: ACCOUNT, count: 5 });
  const outcomes = await Promise.all(
    Array.from({ length: 15 }, (_, i) =>
      gateway.call(
        ACCOUNT,
        "send_text",
        (token) =>
          gateway.graph.sendMessage(token, ACCOUNT, {
            recipient: { id: `62000000${String(i).padStart(8, "0")}` },
            message: { text: `retry within limit ${i}` },
          }),
        { maxWaitMs: 30_000 },
      ),
    ),
  );
  // Counted over a second narrowed by the fake's own longest stall (GraphLoadThread.maxInSecond).
  expect((await graph.maxInSecond(ACCOUNT, "send_text", t.guardMs)).max).toBeLessThanOrEqual(LIMIT);
  const calls = (await graph.calls()).filter((c) => c.account === ACCOUNT);
  // Every rate-limited call was tried again (none gave up after four answers in a row here).
  expect(calls.filter((c) => c.fault === "rate_limit")).toHaveLength(5);
  expect(outcomes.map((o) => o.kind)).toEqual(Array(15).fill("ok"));
  expect(calls).toHaveLength(20);
});
