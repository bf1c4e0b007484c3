// Issue 16, finding 7: Meta's signed_request had no freshness or replay check, so a replayed
// deletion request, or one issued in 2001, started a full erasure again. Rerun from outside: a
// stale or undated request is refused and starts nothing; a repeat (or two at once) gets the first
// answer and starts one erasure; a new request while one is pending joins it; a replayed
// deauthorization does not disconnect an account connected again since. The replay memory is
// dropped by the retention pass once the requests are too old to be accepted anyway.
//
// The web service runs without a worker, so an erasure stays pending (one queued job) while the
// attacks run; a worker is started at the end and must erase the account once.

import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { createLogger } from "../../src/log/logger.ts";
import { purgeExpired } from "../../src/privacy/retention.ts";
import { ERASURE_QUEUE } from "../../src/queue/boss.ts";
import { type Service, startService } from "../../src/service.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { TEST_BACKEND, TEST_KEY, type TestEnv, testEnv, waitFor } from "../helpers/service.ts";
import {
  freshSignedRequest,
  nowSeconds,
  postSignedRequest,
  signedRequest,
} from "../helpers/signed-request.ts";

const REPLAYED = "17841400000001601";
const CONCURRENT = "17841400000001602";
const STALE = "17841400000001603";
const DEAUTHORIZED = "17841400000001604";
const TWICE = "17841400000001605";

let t: TestEnv;
let web: Service;
const logs: Array<{ level: number; msg: string; reason?: string }> = [];

const url = () => web.url as string;
const deletion = (signed: string) => postSignedRequest(url(), "/instagram/data-deletion", signed);
const deauthorize = (signed: string) => postSignedRequest(url(), "/instagram/deauthorize", signed);

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await web.db.query<{ n: number }>(sql, params);
  return rows[0]?.n ?? -1;
}
/** What one account's deletion requests left behind: rows, queued erasures, audit entries. */
async function erasuresOf(account: string) {
  return {
    requests: await count(
      "SELECT count(*)::int AS n FROM data_requests WHERE kind = 'deletion' AND account_id = $1",
      [account],
    ),
    jobs: await count(
      "SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND data->>'code' IN (SELECT code FROM data_requests WHERE account_id = $2)",
      [ERASURE_QUEUE, account],
    ),
    audit: await count(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'data_deletion_requested' AND account_id = $1",
      [account],
    ),
  };
}
const refusals = () => logs.filter((l) => l.level === 40 && l.msg === "meta callback refused");

/** The same signature, spelled differently: base64url's last character has two spare bits. */
function respelled(signed: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const [sig = "", payload = ""] = signed.split(".");
  const last = alphabet[alphabet.indexOf(sig.at(-1) ?? "A") ^ 1];
  return `${sig.slice(0, -1)}${last}.${payload}`;
}

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  web = await startService(
    t.config,
    { web: true, worker: false, migrate: true },
    createLogger("info", { destination }),
  );
  const cipher = TokenCipher.fromConfig(TEST_KEY);
  for (const [i, id] of [REPLAYED, CONCURRENT, STALE, DEAUTHORIZED, TWICE].entries())
    await addAccount(web.db, cipher, {
      igUserId: id,
      username: `brand_16${i}`,
      token: `IGAA-token-${i}`,
      chat: { platform: "slack", channel: `C16${i}` },
    });
});

afterAll(async () => {
  await web?.stop();
  await t?.cleanup();
});

describe("Meta's signed_request: freshness", () => {
  it("refuses a request issued in 2001, undated, or from the future, with one warning each, and starts nothing", async () => {
    const cases: Array<[object, string, RegExp]> = [
      [
        { issued_at: 1_000_000_000 },
        "stale_signed_request",
        /2001-09-09T01:46:40.000Z is older than 3600 seconds/,
      ],
      [{ issued_at: nowSeconds() - 3700 }, "stale_signed_request", /older than 3600 seconds/],
      [{ issued_at: nowSeconds() + 3600 }, "stale_signed_request", /more than 300 seconds in the future/],
      [{}, "bad_signed_request", /no issued_at/],
      [{ issued_at: "yesterday" }, "bad_signed_request", /issued_at is not a whole number/],
      [{ issued_at: 1.5e9 + 0.5 }, "bad_signed_request", /issued_at is not a whole number/],
      [{ issued_at: 1e300 }, "bad_signed_request", /issued_at is not a whole number/],
    ];
    for (const [fields, error, detail] of cases)
      for (const post of [deletion, deauthorize]) {
        const before = refusals().length;
        const res = await post(signedRequest({ algorithm: "HMAC-SHA256", user_id: STALE, ...fields }));
        expect(res, JSON.stringify(fields)).toEqual({
          status: 400,
          body: { error, detail: expect.stringMatching(detail) },
        });
        expect(refusals().length - before).toBe(1);
      }
    expect(await erasuresOf(STALE)).toEqual({ requests: 0, jobs: 0, audit: 0 });
    const { rows } = await web.db.query<{ status: string; has_token: boolean }>(
      "SELECT status, token_ciphertext IS NOT NULL AS has_token FROM instagram_accounts WHERE id = $1",
      [STALE],
    );
    expect(rows[0]).toEqual({ status: "active", has_token: true });
    expect(await count("SELECT count(*)::int AS n FROM signed_request_replays")).toBe(0);
  });

  it("accepts a request from the last hour, and one a little ahead of our clock", async () => {
    expect((await deauthorize(freshSignedRequest("999", 50 * 60))).status).toBe(200);
    expect((await deletion(freshSignedRequest("998", -120))).status).toBe(200);
  });
});

describe("Meta's signed_request: repeats", () => {
  it("answers a replayed deletion request with the first code and starts no second erasure", async () => {
    const signed = freshSignedRequest(REPLAYED);
    const first = await deletion(signed);
    expect(first.status).toBe(200);
    const code = first.body.confirmation_code as string;
    for (const again of [signed, signed, respelled(signed)])
      expect(await deletion(again)).toEqual({ status: 200, body: first.body });
    expect(await erasuresOf(REPLAYED)).toEqual({ requests: 1, jobs: 1, audit: 1 });
    expect(await count("SELECT count(*)::int AS n FROM data_requests WHERE code = $1", [code])).toBe(1);
  });

  it("starts one erasure for identical requests that arrive at once", async () => {
    const signed = freshSignedRequest(CONCURRENT);
    const answers = await Promise.all(Array.from({ length: 6 }, () => deletion(signed)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.confirmation_code)).size).toBe(1);
    expect(await erasuresOf(CONCURRENT)).toEqual({ requests: 1, jobs: 1, audit: 1 });
  });

  it("answers a new request while the account's erasure is pending with that erasure's code", async () => {
    const first = await deletion(freshSignedRequest(TWICE, 30));
    // Different requests (other issued_at), one of them twice, all at once.
    const later = [freshSignedRequest(TWICE, 20), freshSignedRequest(TWICE, 10)];
    const answers = await Promise.all([...later, ...later].map(deletion));
    for (const a of answers) expect(a).toEqual({ status: 200, body: first.body });
    expect(await erasuresOf(TWICE)).toEqual({ requests: 1, jobs: 1, audit: 1 });
  });

  it("does not disconnect again, on a replayed deauthorization, an account connected since", async () => {
    const signed = freshSignedRequest(DEAUTHORIZED);
    expect(await deauthorize(signed)).toEqual({ status: 200, body: { ok: true } });
    const state = async () =>
      (
        await web.db.query<{ status: string; has_token: boolean }>(
          "SELECT status, token_ciphertext IS NOT NULL AS has_token FROM instagram_accounts WHERE id = $1",
          [DEAUTHORIZED],
        )
      ).rows[0];
    expect(await state()).toEqual({ status: "revoked", has_token: false });
    // The owner connects the account again (Business Login stores a new token).
    await addAccount(web.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: DEAUTHORIZED,
      username: "brand_back",
      token: "IGAA-new-token",
      chat: { platform: "slack", channel: "C16back" },
    });
    for (const again of [signed, respelled(signed)])
      expect(await deauthorize(again)).toEqual({ status: 200, body: { ok: true } });
    expect(await state()).toEqual({ status: "active", has_token: true });
    expect(
      await count(
        "SELECT count(*)::int AS n FROM audit_log WHERE action = 'account_deauthorized' AND account_id = $1",
        [DEAUTHORIZED],
      ),
    ).toBe(1);
  });

  it("erases each account once when a worker runs the queued erasures", async (ctx) => {
    needsDatabaseServer("a worker starts beside the web service on the same database", ctx);
    const worker = await startService(
      t.config,
      { web: false, worker: true, migrate: false },
      createLogger("silent"),
    );
    try {
      await waitFor(
        async () =>
          (await count("SELECT count(*)::int AS n FROM data_requests WHERE status = 'pending'")) === 0
            ? true
            : undefined,
        30_000,
        "the erasures",
      );
    } finally {
      await worker.stop();
    }
    for (const account of [REPLAYED, CONCURRENT, TWICE]) {
      expect(
        await count(
          "SELECT count(*)::int AS n FROM audit_log WHERE action = 'data_deletion_completed' AND account_id = $1",
          [account],
        ),
        account,
      ).toBe(1);
      const { rows } = await web.db.query<{ status: string }>(
        "SELECT status FROM instagram_accounts WHERE id = $1",
        [account],
      );
      expect(rows[0]?.status).toBe("removed");
    }
  });
});

describe("Meta's signed_request: replay memory", () => {
  it("is dropped by the retention pass once its requests are too old to be accepted", async () => {
    const remembered = await count("SELECT count(*)::int AS n FROM signed_request_replays");
    // One row per accepted request: 2 fresh, 1 replayed, 1 concurrent, 3 for TWICE, 1 deauthorize.
    expect(remembered).toBe(8);
    const policy = { messageDays: 90, rawEventDays: 14, revokedAccountDays: 7 };
    const erase = async () => undefined;
    expect((await purgeExpired(web.db, policy, erase)).signedRequests).toBe(0);
    const later = new Date(Date.now() + 26 * 3600_000);
    expect((await purgeExpired(web.db, policy, erase, later)).signedRequests).toBe(remembered);
    expect(await count("SELECT count(*)::int AS n FROM signed_request_replays")).toBe(0);
  });
});
