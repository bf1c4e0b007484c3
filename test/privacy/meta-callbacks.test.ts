// Meta's data deletion and deauthorize callbacks: signed_requests verified (forgeries refused),
// the account's data erased by a job, the status page by confirmation code, unknown ids answered.

import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import type { Service } from "../../src/service.ts";
import {
  APP_SECRET,
  startTestService,
  TEST_BACKEND,
  TEST_KEY,
  type TestEnv,
  testEnv,
  waitFor,
} from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const ACCOUNT = "17841400000000001";
let t: TestEnv;
let service: Service;

// Meta's callbacks refuse a signed_request older than an hour (test/security/meta-signed-request).
const nowSeconds = () => Math.floor(Date.now() / 1000);

function signedRequest(payload: object, secret = APP_SECRET): string {
  const enc = Buffer.from(JSON.stringify(payload)).toString("base64url");
  const sig = createHmac("sha256", secret).update(enc).digest("base64url");
  return `${sig}.${enc}`;
}

async function callback(path: string, signed: string) {
  const res = await fetch(`${service.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ signed_request: signed }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  service = await startTestService(t);
  await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: ACCOUNT,
    username: "brand",
    token: "IGAA-callback-token",
    chat: { platform: "slack", channel: "C1" },
  });
});

afterAll(async () => {
  await service?.stop();
  await t?.cleanup();
});

describe("Meta's callbacks", () => {
  it("refuses a forged or malformed signed_request", async () => {
    const forged = await callback(
      "/instagram/data-deletion",
      signedRequest(
        { algorithm: "HMAC-SHA256", issued_at: nowSeconds(), user_id: ACCOUNT },
        "not-the-app-secret",
      ),
    );
    expect(forged).toEqual({
      status: 400,
      body: { error: "bad_signed_request", detail: expect.stringMatching(/signature/) },
    });
    expect((await callback("/instagram/deauthorize", "garbage")).status).toBe(400);
  });

  it("erases the account's data on a deletion request and shows the status by code", async () => {
    await postWebhook(
      service.url as string,
      dmText(ACCOUNT, "1000000000000701", "m_del_1", "hello", Date.now()),
    );
    await waitFor(async () => {
      const { rows } = await service.db.query("SELECT 1 FROM messages WHERE account_id = $1", [ACCOUNT]);
      return rows.length > 0 ? true : undefined;
    });
    // What agents wrote about the customer (!note, !label) goes with the account.
    await service.db.query(
      "INSERT INTO customer_labels (account_id, customer_id, label) VALUES ($1, '1000000000000701', 'vip')",
      [ACCOUNT],
    );
    await service.db.query(
      "INSERT INTO customer_notes (account_id, customer_id, text, author) VALUES ($1, '1000000000000701', 'prefers email', 'Ana')",
      [ACCOUNT],
    );
    const res = await callback(
      "/instagram/data-deletion",
      signedRequest({ algorithm: "HMAC-SHA256", user_id: ACCOUNT, issued_at: nowSeconds() }),
    );
    expect(res.status).toBe(200);
    const code = res.body.confirmation_code as string;
    expect(code).toMatch(/^[A-Z0-9]{12}$/);
    expect(res.body.url).toBe(`${t.config.publicUrl}/privacy/deletion/${code}`);
    const page = await waitFor(async () => {
      const r = await fetch(`${service.url}/privacy/deletion/${code}`);
      const html = await r.text();
      return html.includes("Completed") ? html : undefined;
    });
    expect(page).not.toContain(ACCOUNT);
    const left = async (table: string) =>
      (
        await service.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${table} WHERE account_id = $1`,
          [ACCOUNT],
        )
      ).rows[0]?.n;
    for (const table of ["messages", "conversations", "inbound_events", "customer_labels", "customer_notes"])
      expect(await left(table), table).toBe(0);
    const { rows } = await service.db.query<{
      status: string;
      token_ciphertext: string | null;
      username: string | null;
    }>("SELECT status, token_ciphertext, username FROM instagram_accounts WHERE id = $1", [ACCOUNT]);
    expect(rows[0]).toEqual({ status: "removed", token_ciphertext: null, username: null });
  });

  it("answers an unknown id with a code whose page says nothing was stored", async () => {
    const res = await callback(
      "/instagram/data-deletion",
      signedRequest({ algorithm: "HMAC-SHA256", issued_at: nowSeconds(), user_id: "999" }),
    );
    expect(res.status).toBe(200);
    const html = await (await fetch(`${service.url}/privacy/deletion/${res.body.confirmation_code}`)).text();
    expect(html).toContain("Nothing was stored");
    expect((await fetch(`${service.url}/privacy/deletion/NOSUCHCODE1`)).status).toBe(404);
  });

  it("removes the token at once on deauthorization", async () => {
    const other = "17841400000000002";
    await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: other,
      username: "brand2",
      token: "IGAA-other",
      chat: { platform: "slack", channel: "C2" },
    });
    const res = await callback(
      "/instagram/deauthorize",
      signedRequest({ algorithm: "HMAC-SHA256", issued_at: nowSeconds(), user_id: other }),
    );
    expect(res).toEqual({ status: 200, body: { ok: true } });
    const { rows } = await service.db.query<{ status: string; token_ciphertext: string | null }>(
      "SELECT status, token_ciphertext FROM instagram_accounts WHERE id = $1",
      [other],
    );
    expect(rows[0]).toEqual({ status: "revoked", token_ciphertext: null });
  });
});
