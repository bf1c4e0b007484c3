// Issue 16: "A validly signed delivery with a 200,000-deep array inside an attachment answers 503
// forever, so Meta would retry it forever: store what can be stored or refuse it with 400; never
// an endless 503 for a payload that will never fit." It failed in JSON.stringify (stack overflow)
// while the batch was serialised for Postgres, and the route took every storage failure for a
// transient one. Also here: the other delivery the review's rule covers (a value Postgres itself
// refuses for good), that a real transient failure still answers 503, and Slack's inbound path
// with the same deep JSON.

import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstorable } from "../../src/ingest/store-events.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { slackSign } from "../helpers/slack.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { type InputsHarness, SLACK_SECRET, startInputsHarness } from "./inputs-harness.ts";

const ACCOUNT = "17841400000000001";
const CUSTOMER = "1000000000000001";
const AT = 1761287294014;
// The service's own statements give up on a lock after this long: the transient failure below.
const LOCK_TIMEOUT = "-c lock_timeout=300";

let h: InputsHarness;

beforeAll(async () => {
  h = await startInputsHarness({ pgOptions: LOCK_TIMEOUT });
});

afterAll(async () => {
  await h?.close();
});

/** A DM whose attachment payload carries `nested` (JSON text), written out by hand: no
 * JSON.stringify could write what the review sent. */
function deepDelivery(mid: string, nested: string): string {
  const item = `{"sender":{"id":"${CUSTOMER}"},"recipient":{"id":"${ACCOUNT}"},"timestamp":${AT},"message":{"mid":"${mid}","attachments":[{"type":"image","payload":{"url":"https://cdn.example/x.png","extra":${nested}}}]}}`;
  return `{"object":"instagram","entry":[{"id":"${ACCOUNT}","time":${AT},"messaging":[${item}]}]}`;
}
const nestedArray = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

async function stored(mid: string): Promise<number> {
  const { rows } = await h.service.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM inbound_events WHERE dedupe_key = $1",
    [`msg:${mid}`],
  );
  return (rows[0] as { n: number }).n;
}

describe("a validly signed webhook nested 200,000 deep", () => {
  it("gets a definite 400 every time, never 503, with one warning, and nothing stored", async () => {
    const body = deepDelivery("mid.deep.1", nestedArray(200_000));
    expect(body.length).toBeGreaterThan(400_000);
    expect(body.length).toBeLessThan(1024 * 1024); // under WEBHOOK_MAX_BODY's default: not a 413
    for (let attempt = 0; attempt < 2; attempt++) {
      const before = h.logs.length;
      const res = await postWebhook(h.url, body);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: "too_deep" });
      const lines = h.logs.slice(before).filter((l) => !("req" in l));
      expect(lines).toEqual([
        expect.objectContaining({ level: 40, msg: "webhook refused: JSON nested too deep", limit: 64 }),
      ]);
    }
    expect(await stored("mid.deep.1")).toBe(0);
  });

  it("refuses from 65 levels on, counting brackets in strings as text", async () => {
    // The envelope and the path to `extra` take 9 levels.
    expect((await postWebhook(h.url, deepDelivery("mid.deep.65", nestedArray(56)))).status).toBe(400);
    const inString = `"${"[".repeat(5000)}"`;
    const fine = await postWebhook(h.url, deepDelivery("mid.deep.str", `[${nestedArray(50)},${inString}]`));
    expect(fine.status).toBe(200);
    expect(await stored("mid.deep.str")).toBe(1);
  });

  it("still stores the next normal delivery", async () => {
    const res = await postWebhook(h.url, dmText(ACCOUNT, CUSTOMER, "mid.after.deep", "hello", AT + 1));
    expect(res.status).toBe(200);
    expect(await stored("mid.after.deep")).toBe(1);
  });
});

describe("storage failures", () => {
  it("answers 400, not 503, to a delivery Postgres refuses for good (an id over the index limit)", async () => {
    // 54000: index row size exceeds the B-tree maximum. Shallow, small, and never storable.
    // Random, so Postgres cannot compress it under the limit.
    const longMid = randomBytes(4500).toString("base64url");
    for (let attempt = 0; attempt < 2; attempt++) {
      const before = h.logs.length;
      const res = await postWebhook(h.url, dmText(ACCOUNT, CUSTOMER, `mid.${longMid}`, "hi", AT + 2));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: "unstorable" });
      expect(h.logs.slice(before).filter((l) => !("req" in l))).toEqual([
        expect.objectContaining({ level: 50, code: "54000" }),
      ]);
    }
    const res = await postWebhook(h.url, dmText(ACCOUNT, CUSTOMER, "mid.after.long", "hello", AT + 3));
    expect(res.status).toBe(200);
  });

  it("still answers 503 when storing fails for a reason that passes (a lock held too long)", async (ctx) => {
    needsDatabaseServer("a second session holds a lock on the table", ctx);
    const blocker = new pg.Client({ connectionString: h.t.env.DATABASE_URL });
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE inbound_events IN ACCESS EXCLUSIVE MODE");
      const res = await postWebhook(h.url, dmText(ACCOUNT, CUSTOMER, "mid.locked", "hi", AT + 4));
      expect(res.status).toBe(503);
      await blocker.query("ROLLBACK");
      // Meta's redelivery, once the lock is gone, is stored.
      expect((await postWebhook(h.url, dmText(ACCOUNT, CUSTOMER, "mid.locked", "hi", AT + 4))).status).toBe(
        200,
      );
      expect(await stored("mid.locked")).toBe(1);
    } finally {
      await blocker.end();
    }
  });

  it("tells real permanent failures from real transient ones", async () => {
    const errorOf = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    const db = h.service.db;
    expect(unstorable(await errorOf(db.query("SELECT to_timestamp(1e20)")))).toBe(true); // 22008
    expect(unstorable(await errorOf(db.query("SELECT '{'::jsonb")))).toBe(true); // 22P02
    expect(
      unstorable(
        await errorOf(Promise.resolve().then(() => JSON.stringify(JSON.parse(nestedArray(200_000))))),
      ),
    ).toBe(true);
    const down = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:1/none" });
    expect(unstorable(await errorOf(down.connect()))).toBe(false); // ECONNREFUSED
    expect(unstorable(await errorOf(db.query("SELECT 1/0")))).toBe(true); // 22012
  });
});

describe("Slack's inbound path with the same nesting", () => {
  async function postSlack(raw: string, contentType: string) {
    const res = await fetch(`${h.url}/slack/events`, {
      method: "POST",
      headers: { "content-type": contentType, ...slackSign(SLACK_SECRET, raw) },
      body: raw,
    });
    return res.status;
  }

  it("answers a signed interaction and event nested 100,000 deep without a crash or a 5xx", async () => {
    const deep = nestedArray(100_000);
    const payload = `{"type":"block_actions","user":{"id":"U0AGENT1","name":"ana"},"team":{"id":"T0FAKE"},"api_app_id":"A0APP","trigger_id":"1.t","channel":{"id":"C0X"},"message":{"ts":"1.1","text":"x","extra":${deep}},"container":{"type":"message","channel_id":"C0X","message_ts":"1.1"},"actions":[{"type":"button","action_id":"ig_retry","block_id":"b","value":"1","action_ts":"1","extra":${deep}}]}`;
    const interaction = await postSlack(
      new URLSearchParams({ payload }).toString(),
      "application/x-www-form-urlencoded",
    );
    expect(interaction).toBeLessThan(500);
    const event = `{"type":"event_callback","event_id":"Ev0DEEP","team_id":"T0FAKE","api_app_id":"A0APP","event":{"type":"message","channel":"C0X","user":"U0AGENT1","text":"hi","ts":"2.2","thread_ts":"1.1","extra":${deep}}}`;
    expect(await postSlack(event, "application/json")).toBeLessThan(500);
    expect(h.logs.filter((l) => (l.level as number) >= 50 && l.component === "slack")).toEqual([]);
    // The service still answers.
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});
