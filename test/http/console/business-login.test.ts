// Business Login for Instagram from the console, against a fake Instagram (consent, code exchange,
// long-lived exchange, /me, subscribed_apps): an account connected end to end, every kind of bad
// state refused, Meta's refusals shown plainly, the account disconnected and unsubscribed, and no
// code or token ever in a response or a log line.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import { SCOPES } from "../../fakes/instagram-login.ts";
import {
  APP_ID,
  type ConsoleClient,
  type ConsoleHarness,
  csrfOf,
  startConsoleHarness,
  throughConsent,
} from "../../helpers/console.ts";
import { APP_SECRET, TEST_KEY } from "../../helpers/service.ts";

let h: ConsoleHarness;
let operator: ConsoleClient;
const clients: ConsoleClient[] = [];

const NEW = "17841400000000777";

async function signedInClient(): Promise<ConsoleClient> {
  const c = h.client();
  clients.push(c);
  expect((await c.signIn()).status).toBe(303);
  return c;
}

const calls = (method: string, path: RegExp) =>
  h.graph.requests.filter((r) => r.method === method && path.test(r.path));

async function audit(action: string) {
  const { rows } = await h.service.db.query<{
    actor_id: string;
    account_id: string | null;
    target: string | null;
    details: Record<string, unknown>;
  }>("SELECT actor_id, account_id, target, details FROM audit_log WHERE action = $1 ORDER BY id", [action]);
  return rows;
}

async function accountRow(id: string) {
  const { rows } = await h.service.db.query<{
    status: string;
    username: string;
    token_ciphertext: string | null;
    token_key_id: string | null;
    token_expires_at: Date | null;
    chat_platform: string | null;
    chat_channel: string | null;
    digest_channel: string | null;
  }>("SELECT * FROM instagram_accounts WHERE id = $1", [id]);
  return rows[0];
}

beforeAll(async () => {
  h = await startConsoleHarness();
  operator = await signedInClient();
});

afterAll(async () => {
  await h?.close();
});

describe("Business Login for Instagram", () => {
  it("connects an account: consent, code, long-lived token, /me, webhooks, then the operator's channel", async () => {
    const { consent, callback } = await throughConsent(h, operator);
    const authorize = new URL(consent);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${h.graph.url}/oauth/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: APP_ID,
      redirect_uri: `${h.url}/oauth/instagram/callback`,
      response_type: "code",
      scope: SCOPES.join(","),
      state: expect.stringMatching(/^[\w-]{40,}$/),
    });
    expect(callback.status).toBe(303);
    expect(callback.location).toBe("/oauth/instagram/connect");

    // The code was exchanged by a form POST with the app's credentials and the same redirect URI.
    const [exchange] = calls("POST", /^\/oauth\/access_token$/);
    const form = Object.fromEntries(new URLSearchParams(exchange?.body as string));
    expect(exchange?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(form).toEqual({
      client_id: APP_ID,
      client_secret: APP_SECRET,
      grant_type: "authorization_code",
      redirect_uri: `${h.url}/oauth/instagram/callback`,
      code: h.login.issued[0],
    });
    const [longLived] = calls("GET", /^\/access_token$/);
    expect(longLived?.query).toEqual({
      grant_type: "ig_exchange_token",
      client_secret: APP_SECRET,
      access_token: h.login.issued[1],
    });
    const longToken = h.login.issued[2] as string;
    const [me] = calls("GET", /\/me$/);
    expect(me?.headers.authorization).toBe(`Bearer ${longToken}`);
    expect(h.login.subscriptions.get(NEW)).toEqual([
      "messages",
      "comments",
      "message_reactions",
      "messaging_postbacks",
      "messaging_seen",
      "messaging_referral",
      "messaging_handover",
      "standby",
    ]);
    // Nothing is connected before the operator says where its threads go.
    expect(await accountRow(NEW)).toBeUndefined();

    const ask = await operator.get("/oauth/instagram/connect");
    expect(ask.status).toBe(200);
    expect(ask.body).toContain("Where should @newbrand go?");
    expect(ask.body).toMatch(
      /<input type="radio" id="platform-slack" name="platform" value="slack" required checked>/,
    );
    expect(ask.body).not.toContain("platform-discord");

    const bad = await operator.submit(ask, "/oauth/instagram/connect", {
      platform: "slack",
      channel: "general",
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain("“general” is not a Slack channel id");

    const done = await operator.submit(ask, "/oauth/instagram/connect", {
      platform: "slack",
      channel: "C0NEWBRAND",
      digest: "C0DIGEST1",
    });
    expect(done).toMatchObject({ status: 303, location: "/" });
    const home = await operator.get("/");
    expect(home.body).toContain("Connected @newbrand to Slack C0NEWBRAND.");
    expect(home.body).toContain("@newbrand");

    const row = await accountRow(NEW);
    expect(row).toMatchObject({
      status: "active",
      username: "newbrand",
      chat_platform: "slack",
      chat_channel: "C0NEWBRAND",
      digest_channel: "C0DIGEST1",
    });
    expect(
      TokenCipher.fromConfig(TEST_KEY).open(row?.token_ciphertext as string, row?.token_key_id as string),
    ).toBe(longToken);
    const days = (new Date(row?.token_expires_at as Date).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(59);
    expect(days).toBeLessThan(61);
    const { rows: held } = await h.service.db.query(
      "SELECT 1 FROM oauth_logins WHERE token_ciphertext IS NOT NULL",
    );
    expect(held).toEqual([]);
    expect(await audit("account_added")).toEqual([
      {
        actor_id: "console:admin",
        account_id: NEW,
        target: null,
        details: { via: "business_login", destination: "slack:C0NEWBRAND", digest: "C0DIGEST1" },
      },
    ]);
    // The channel is greeted, which also shows the bot can post there.
    const greeted = h.slack
      .callsOf("chat.postMessage")
      .filter((c) => c.args.channel === "C0NEWBRAND")
      .map((c) => c.args.text);
    expect(greeted).toEqual([expect.stringContaining("@newbrand is connected")]);

    // A second submit of the same form connects nothing more.
    const again = await operator.submit(ask, "/oauth/instagram/connect", {
      platform: "slack",
      channel: "C0OTHER1",
    });
    expect(again.status).toBe(404);
    expect((await accountRow(NEW))?.chat_channel).toBe("C0NEWBRAND");
  });

  it("also reads the flat token answer seen live", async () => {
    h.login.shape = "flat";
    h.login.account = { igUserId: "17841400000000888", username: "flatbrand" };
    try {
      const { callback } = await throughConsent(h, operator);
      expect(callback.location).toBe("/oauth/instagram/connect");
      const ask = await operator.get("/oauth/instagram/connect");
      expect(ask.body).toContain("@flatbrand");
    } finally {
      h.login.shape = "data";
      h.login.account = { igUserId: NEW, username: "newbrand", accountType: "BUSINESS" };
    }
  });

  it("refuses a tampered, missing, reused, expired or other session's state, before any exchange", async () => {
    const exchanges = () => calls("POST", /^\/oauth\/access_token$/).length;
    const refusedBefore = (await audit("refused")).length;

    // Tampered.
    const start = await operator.get("/oauth/instagram/start");
    const state = new URL(start.location as string).searchParams.get("state") as string;
    const before = exchanges();
    const tampered = await operator.get(
      `/oauth/instagram/callback?code=AQBforged&state=${state.slice(0, -2)}xx`,
    );
    expect(tampered.status).toBe(400);
    expect(tampered.body).toContain("This sign-in was not started from your console session");
    // Missing.
    const missing = await operator.get("/oauth/instagram/callback?code=AQBforged");
    expect(missing.status).toBe(400);
    expect(missing.body).toContain("came back without the state");
    expect(exchanges()).toBe(before);

    // Another session: the state belongs to `operator`, not to `other`; it stays usable by its owner.
    const other = await signedInClient();
    const { consent } = await (async () => {
      const s = await operator.get("/oauth/instagram/start");
      return { consent: s.location as string };
    })();
    const back = new URL((await fetch(consent, { redirect: "manual" })).headers.get("location") as string);
    const foreign = await other.get(`${back.pathname}${back.search}`);
    expect(foreign.status).toBe(400);
    expect(foreign.body).toContain("started in another browser session");
    expect(exchanges()).toBe(before);
    const owner = await operator.get(`${back.pathname}${back.search}`);
    expect(owner.status).toBe(303);

    // Reused: the same callback again.
    const replayed = await operator.get(`${back.pathname}${back.search}`);
    expect(replayed.status).toBe(400);
    expect(replayed.body).toContain("This sign-in was already used");
    expect(exchanges()).toBe(before + 1);

    // Expired: more than ten minutes between start and callback.
    const slow = await operator.get("/oauth/instagram/start");
    const slowBack = new URL(
      (await fetch(slow.location as string, { redirect: "manual" })).headers.get("location") as string,
    );
    await h.service.db.query(
      "UPDATE oauth_logins SET expires_at = now() - interval '1 minute' WHERE consumed_at IS NULL",
    );
    const late = await operator.get(`${slowBack.pathname}${slowBack.search}`);
    expect(late.status).toBe(400);
    expect(late.body).toContain("took longer than 10 minutes");
    expect(exchanges()).toBe(before + 1);

    // Signed out, the callback goes nowhere but the sign-in page.
    const stranger = h.client();
    expect((await stranger.get(`${slowBack.pathname}${slowBack.search}`)).location).toBe("/login");

    const refusals = (await audit("refused")).slice(refusedBefore);
    expect(refusals.map((r) => [r.target, r.details.reason])).toEqual([
      ["oauth_state", "unknown"],
      ["oauth_state", "missing"],
      ["oauth_state", "other_session"],
      ["oauth_state", "reused"],
      ["oauth_state", "expired"],
    ]);
    expect(
      h.logs.some((l) => l.includes('"what":"oauth_state"') && l.includes('"reason":"other_session"')),
    ).toBe(true);
  });

  it("says plainly when consent is declined, the code has expired or a permission is missing", async () => {
    h.login.consent = "deny";
    const denied = (await throughConsent(h, operator)).callback;
    expect(denied.status).toBe(400);
    expect(denied.body).toContain(
      "Instagram says the connection was declined: “The user denied your request.”. Nothing was connected.",
    );
    h.login.denyEchoesState = false;
    const deniedBare = (await throughConsent(h, operator)).callback;
    expect(deniedBare.status).toBe(400);
    expect(deniedBare.body).toContain("Instagram says the connection was declined. Nothing was connected.");
    h.login.consent = "allow";
    h.login.denyEchoesState = true;

    const start = await operator.get("/oauth/instagram/start");
    const back = new URL(
      (await fetch(start.location as string, { redirect: "manual" })).headers.get("location") as string,
    );
    h.login.expireCodes();
    const expired = await operator.get(`${back.pathname}${back.search}`);
    expect(expired.status).toBe(502);
    expect(expired.body).toContain(
      "Instagram did not accept the authorization code: This authorization code has expired",
    );

    h.login.grant = SCOPES.slice(0, 2);
    try {
      const partial = (await throughConsent(h, operator)).callback;
      expect(partial.status).toBe(400);
      expect(partial.body).toContain("missing: instagram_business_manage_comments");
    } finally {
      h.login.grant = [...SCOPES];
    }
  });

  it("disconnects an account: Instagram unsubscribed, token deleted, audited; reconnecting keeps its channel", async () => {
    const confirm = await operator.get(`/accounts/${NEW}/disconnect`);
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain("Disconnect @newbrand?");

    const forged = await operator.post(`/accounts/${NEW}/disconnect`, { _csrf: "not-the-token" });
    expect(forged.status).toBe(403);
    expect((await accountRow(NEW))?.status).toBe("active");

    const longToken = TokenCipher.fromConfig(TEST_KEY).open(
      (await accountRow(NEW))?.token_ciphertext as string,
      (await accountRow(NEW))?.token_key_id as string,
    );
    const done = await operator.submit(confirm, `/accounts/${NEW}/disconnect`);
    expect(done).toMatchObject({ status: 303, location: "/" });
    expect((await operator.get("/")).body).toContain("Disconnected @newbrand.");
    const [unsubscribe] = calls("DELETE", new RegExp(`/${NEW}/subscribed_apps$`));
    expect(unsubscribe?.headers.authorization).toBe(`Bearer ${longToken}`);
    expect(h.login.subscriptions.has(NEW)).toBe(false);
    expect(await accountRow(NEW)).toMatchObject({ status: "removed", token_ciphertext: null });
    expect((await audit("account_removed")).at(-1)).toEqual({
      actor_id: "console:admin",
      account_id: NEW,
      target: null,
      details: { via: "console", unsubscribed: true },
    });

    await throughConsent(h, operator);
    const ask = await operator.get("/oauth/instagram/connect");
    expect(ask.body).toContain('value="C0NEWBRAND"');
    expect(ask.body).toContain('value="C0DIGEST1"');
    expect(csrfOf(ask)).toBeTruthy();
  });

  it("never puts a code, a token or the app secret in a response or a log line", () => {
    expect(h.login.issued.length).toBeGreaterThan(10);
    const secrets = [...h.login.issued, APP_SECRET];
    const responses = clients.flatMap((c) => c.seen).join("\n");
    const logs = h.logs.join("");
    expect(logs).toContain("business login: account authorized");
    for (const secret of secrets) {
      expect(responses.includes(secret), `a response holds ${secret.slice(0, 8)}…`).toBe(false);
      expect(logs.includes(secret), `a log line holds ${secret.slice(0, 8)}…`).toBe(false);
    }
  });
});
