// Meta counts the business's reactions, sender actions and a message of several images within the
// Send API's one limit (100 calls/s per account). Each has its own class too, so that typing and
// reactions never crowd out replies, but together with text they must stay within that one limit:
// with separate classes alone, their defaults added up to 150 calls/s.

import { afterAll, beforeAll, expect, it } from "vitest";
import { turnsOf } from "../../src/ratelimit/classes.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { startTimedGraph, type TimedGraph } from "./helpers.ts";

const ACCOUNT = "17841400002100002";
const LIMIT = 6;

let t: TimedGraph;

beforeAll(async () => {
  t = await startTimedGraph(ACCOUNT);
});

afterAll(async () => {
  await t?.stop();
});

it("names the Send API's limit as the one reactions, sender actions and image sets count in", () => {
  expect(turnsOf("reaction")).toEqual(["reaction", "send_text"]);
  expect(turnsOf("sender_action")).toEqual(["sender_action", "send_text"]);
  expect(turnsOf("send_images")).toEqual(["send_images", "send_text"]);
  expect(turnsOf("send_text")).toEqual(["send_text"]);
  expect(turnsOf("send_media")).toEqual(["send_media"]);
});

it("keeps text, reactions and sender actions together within the Send API's limit", async (ctx) => {
  needsDatabaseServer(
    "PGlite runs on this process's event loop and delays the calls whose timing the test measures",
    ctx,
  );
  const { graph } = t;
  // Each class alone allows the whole limit: only the shared turn keeps the sum within it.
  const gateway = t.gateway({
    send_text: { points: LIMIT, durationSeconds: 1 },
    reaction: { points: LIMIT, durationSeconds: 1 },
    sender_action: { points: LIMIT, durationSeconds: 1 },
  });
  const customer = (i: number) => `62100000${String(i).padStart(8, "0")}`;
  const calls = Array.from({ length: 8 }, (_, i) => [
    gateway.call(
      ACCOUNT,
      "send_text",
      (token) =>
        gateway.graph.sendMessage(token, ACCOUNT, {
          recipient: { id: customer(i) },
          message: { text: `budget ${i}` },
        }),
      { maxWaitMs: 30_000 },
    ),
    gateway.call(
      ACCOUNT,
      "reaction",
      (token) =>
        gateway.graph.senderAction(token, ACCOUNT, customer(i), "react", {
          message_id: `mid.budget.${i}`,
          reaction: "love",
        }),
      { maxWaitMs: 30_000 },
    ),
    gateway.call(
      ACCOUNT,
      "sender_action",
      (token) => gateway.graph.senderAction(token, ACCOUNT, customer(i), "mark_seen"),
      { maxWaitMs: 30_000 },
    ),
  ]).flat();
  const outcomes = await Promise.all(calls);
  expect(outcomes.map((o) => o.kind)).toEqual(Array(24).fill("ok"));
  // The fake counts every Send API call that is not audio, video or a private reply as Meta does:
  // in one class.
  expect((await graph.calls()).filter((c) => c.account === ACCOUNT)).toHaveLength(24);
  // Counted over a second narrowed by the fake's own longest stall (GraphLoadThread.maxInSecond).
  expect((await graph.maxInSecond(ACCOUNT, "send_text", t.guardMs)).max).toBeLessThanOrEqual(LIMIT);
});
