// Fuzzing the webhook endpoint with validly signed bodies: mutated real payloads, random bytes,
// deep nesting, huge strings and odd Unicode. Every request gets a 2xx or 4xx answer, never a
// 5xx; nothing is left unhandled; the service still takes a normal webhook afterwards.
// `npm run fuzz` runs the same with many more cases (FUZZ_RUNS, FUZZ_SEED).

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../../src/service.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv, waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { mutated, nested, oddString, webhookFixtures } from "./arbitraries.ts";
import { fuzzParams, watchUnhandled } from "./watch.ts";

let t: TestEnv;
let service: Service;
const unhandled = watchUnhandled();

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND, { LOG_LEVEL: "silent" });
  service = await startTestService(t);
});

afterAll(async () => {
  await service?.stop();
  await t?.cleanup();
});

const url = () => service.url as string;
const params = fuzzParams();

/** The statuses a well-behaved endpoint may give a signed body it did not choose. */
function answered(status: number): boolean {
  return (status >= 200 && status < 300) || [400, 413, 415, 422].includes(status);
}

describe("POST /webhooks/instagram under fuzzing", () => {
  it("answers mutated real payloads with 2xx or 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: webhookFixtures.length - 1 }).chain((i) => mutated(webhookFixtures[i])),
        async (body) => {
          const res = await postWebhook(url(), JSON.stringify(body) ?? "null");
          expect(answered(res.status), `${res.status} ${res.body}`).toBe(true);
        },
      ),
      params,
    );
  });

  it("answers random bytes, odd text, deep nesting and huge bodies with 4xx", async () => {
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b).toString("latin1")),
      oddString,
      fc.integer({ min: 1, max: 200_000 }).chain((d) => fc.boolean().map((o) => nested(d, o))),
      fc.constantFrom(
        "",
        "null",
        "[]",
        "{}",
        '{"object":"instagram"}',
        '{"object":"instagram","entry":null}',
      ),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async (raw) => {
        const res = await postWebhook(url(), raw);
        expect(answered(res.status), `${res.status} ${res.body}`).toBe(true);
      }),
      params,
    );
    // Past the body limit: refused before it is parsed.
    const big = await postWebhook(url(), {
      object: "instagram",
      entry: [{ id: "1", text: "x".repeat(2_000_000) }],
    });
    expect(big.status).toBe(413);
  });

  it("leaves nothing unhandled and still stores and processes a normal webhook", async () => {
    const res = await postWebhook(
      url(),
      dmText("17841400000000001", "1000000000000999", "m_after_fuzz", "hi", Date.now()),
    );
    expect(res.status).toBe(200);
    await waitFor(async () => {
      const { rows } = await service.db.query<{ status: string }>(
        "SELECT status FROM inbound_events WHERE dedupe_key LIKE '%m_after_fuzz%'",
      );
      return rows[0]?.status === "processed" ? true : undefined;
    });
    expect((await fetch(`${url()}/healthz`)).status).toBe(200);
    // Whatever was accepted is processable: no stored event fails in the worker. (No chat platform
    // is configured here, so this is the record and the rules; the bridges are fuzzed on their own.)
    await waitFor(async () => {
      const { rows } = await service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM inbound_events WHERE status = 'queued' AND attempts = 0",
      );
      return rows[0]?.n === 0 ? true : undefined;
    }, 60_000);
    const { rows: failing } = await service.db.query<{ kind: string; last_error: string }>(
      "SELECT kind, last_error FROM inbound_events WHERE attempts > 0 AND status <> 'processed'",
    );
    expect(failing).toEqual([]);
    expect(unhandled).toEqual([]);
  });
});
