// The console over HTTP: closed without a login, the password sign-in (wrong password, throttling,
// sign-out that really ends the session), CSRF refusals, the pages (escaped), the queue's dead
// letters replayed, and the deletion requests with their status pages.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../../adapters/index.ts";
import { loadConfig } from "../../../src/config/config.ts";
import { addAccount } from "../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import type { Service } from "../../../src/service.ts";
import { type ConsoleHarness, PASSWORD, startConsoleHarness } from "../../helpers/console.ts";
import {
  startTestService,
  TEST_BACKEND,
  TEST_KEY,
  type TestEnv,
  testEnv,
  waitFor,
} from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

const ACCOUNT = "17841400000000001";

describe("the console without a configured login", () => {
  let t: TestEnv;
  let service: Service;

  beforeAll(async () => {
    t = await testEnv(TEST_BACKEND);
    service = await startTestService(t);
  });

  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
  });

  it("says how to set one and serves nothing else", async () => {
    const base = service.url as string;
    for (const path of [
      "/",
      "/login",
      "/conversations",
      "/conversations/1",
      "/sending",
      "/rules",
      "/digest",
      "/audit",
      "/queue",
      "/privacy",
      "/accounts/1/disconnect",
      "/oauth/instagram/start",
    ]) {
      const res = await fetch(`${base}${path}`, { redirect: "manual" });
      expect(res.status, path).toBe(503);
      const html = await res.text();
      expect(html, path).toContain("threadbridge console hash-password");
      expect(html, path).toContain("CONSOLE_AUTH_HEADER");
      expect(html, path).not.toContain("<nav");
    }
    const post = await fetch(`${base}/queue/replay`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "all=1",
    });
    expect(post.status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("is configured only in ways that keep it closed or sound", () => {
    const hash = "$scrypt$ln=17,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g";
    expect(() =>
      loadConfig(
        {
          DATABASE_URL: "postgres://x@h/db",
          TOKEN_ENCRYPTION_KEY: TEST_KEY,
          CONSOLE_PASSWORD_HASH: hash,
        },
        platforms,
      ),
    ).toThrow(/^CONSOLE_SESSION_SECRET: required with DATABASE_URL/);
    expect(() => loadConfig({ CONSOLE_PASSWORD_HASH: "hunter2" }, platforms)).toThrow(
      /^CONSOLE_PASSWORD_HASH: expected a hash from `threadbridge console hash-password`/,
    );
    expect(() => loadConfig({ CONSOLE_SESSION_HOURS: "0" }, platforms)).toThrow(
      /^CONSOLE_SESSION_HOURS: expected hours, 1 to 720$/,
    );
    expect(() => loadConfig({ CONSOLE_AUTH_HEADER: "X-Email" }, platforms)).toThrow(
      /^CONSOLE_TRUSTED_PROXIES: required with CONSOLE_AUTH_HEADER/,
    );
    expect(() => loadConfig({ CONSOLE_TRUSTED_PROXIES: "10.0.0.0/8" }, platforms)).toThrow(
      /^CONSOLE_TRUSTED_PROXIES: only means something with CONSOLE_AUTH_HEADER/,
    );
    expect(() =>
      loadConfig({ CONSOLE_AUTH_HEADER: "X-Email", CONSOLE_TRUSTED_PROXIES: "10.0.0.0/33" }, platforms),
    ).toThrow(/^CONSOLE_TRUSTED_PROXIES: expected comma-separated IP addresses/);
  });
});

describe("the console with a password", () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    // The clients below play a reverse proxy on loopback naming its clients in X-Forwarded-For
    // (test/security/trust-proxy.test.ts: without TRUST_PROXY the header is not believed).
    h = await startConsoleHarness({ TRUST_PROXY: "loopback" });
  });

  afterAll(async () => {
    await h?.close();
  });

  const audit = (action: string) => h.audit(action);

  it("sends visitors to the sign-in page, refuses a wrong password and lets the right one in", async () => {
    const c = h.client({}, "127.0.0.3");
    expect(await c.get("/")).toMatchObject({ status: 303, location: "/login" });
    const page = await c.get("/login");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.body).toMatch(/<label for="password">Administrator password<\/label>/);
    const cookie = page.headers.getSetCookie()[0] as string;
    expect(cookie).toMatch(/^threadbridge_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);

    const wrong = await c.submit(page, "/login", { password: "not the password" });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain("Wrong password.");
    expect((await audit("refused")).at(-1)).toMatchObject({
      actor_id: "console",
      target: "console_login",
      details: { client: "127.0.0.3" },
    });

    const right = await c.submit(page, "/login", { password: PASSWORD });
    expect(right).toMatchObject({ status: 303, location: "/" });
    const home = await c.get("/");
    expect(home.status).toBe(200);
    expect(home.body).toContain("<h1>Instagram accounts</h1>");
    expect(home.body).toContain('aria-current="page">Accounts</a>');
    expect((await audit("console_login")).at(-1)).toMatchObject({
      actor_id: "console:admin",
      details: { via: "password" },
    });
  });

  it("treats a tampered session cookie as no session", async () => {
    const c = h.client();
    await c.signIn();
    const [name, value] = [...c.cookies][0] as [string, string];
    const bytes = Buffer.from(decodeURIComponent(value), "base64");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    c.cookies.set(name, encodeURIComponent(bytes.toString("base64")));
    expect(await c.get("/")).toMatchObject({ status: 303, location: "/login" });
  });

  it("refuses a form post without the session's CSRF token or from another origin, and audits it", async () => {
    const c = h.client();
    await c.signIn();
    const queue = await c.get("/queue");
    const before = (await audit("refused")).length;
    expect((await c.post("/queue/replay", { all: "1" })).status).toBe(403);
    expect((await c.post("/queue/replay", { all: "1", _csrf: "guess" })).status).toBe(403);
    const legit = await c.submit(queue, "/queue/replay", { all: "1" });
    expect(legit.status).toBe(303);
    const crossSite = await c.post(
      "/queue/replay",
      { all: "1", _csrf: /name="_csrf" value="([^"]+)"/.exec(queue.body)?.[1] as string },
      { origin: "https://evil.example" },
    );
    expect(crossSite.status).toBe(403);
    expect(crossSite.body).toContain("The form had expired (or did not come from this console)");
    const refusals = (await audit("refused")).slice(before);
    expect(refusals.map((r) => [r.actor_id, r.target, r.details.path])).toEqual([
      ["console:admin", "csrf", "/queue/replay"],
      ["console:admin", "csrf", "/queue/replay"],
      ["console:admin", "csrf", "/queue/replay"],
    ]);
  });

  it("throttles wrong passwords per client, even when the right one comes next", async () => {
    const c = h.client({}, "127.0.0.4");
    for (let i = 0; i < 5; i++) expect((await c.signIn("wrong password")).status).toBe(401);
    const blocked = await c.signIn(PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(800);
    expect(blocked.body).toContain("Too many wrong passwords.");
    const neighbour = h.client({}, "127.0.0.5");
    expect((await neighbour.signIn()).status).toBe(303);
  });

  it("signs out for good: the old cookie no longer opens anything", async () => {
    const c = h.client();
    await c.signIn();
    const saved = new Map(c.cookies);
    const home = await c.get("/");
    const out = await c.submit(home, "/logout");
    expect(out).toMatchObject({ status: 303, location: "/login" });
    expect(c.cookies.size).toBe(0);
    expect(await c.get("/")).toMatchObject({ status: 303, location: "/login" });
    const replay = h.client();
    for (const [k, v] of saved) replay.cookies.set(k, v);
    expect(await replay.get("/")).toMatchObject({ status: 303, location: "/login" });
  });

  it("lists accounts with status, destination, token expiry and last event, escaping what it shows", async () => {
    await addAccount(h.service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: ACCOUNT,
      username: "<b>brand</b>",
      token: "IGAA-listed-token",
      tokenExpiresAt: new Date(Date.now() + 3 * 86_400_000),
      chat: { platform: "slack", channel: "C0LISTED1" },
    });
    await h.service.db.query("UPDATE instagram_accounts SET last_event_at = $2 WHERE id = $1", [
      ACCOUNT,
      new Date("2026-11-20T10:15:00Z"),
    ]);
    const c = h.client();
    await c.signIn();
    const page = (await c.get("/")).body;
    expect(page).toContain("@&lt;b&gt;brand&lt;/b&gt;");
    expect(page).not.toContain("<b>brand</b>");
    expect(page).toContain('<span class="badge ok">active</span>');
    expect(page).toContain("Slack <code>C0LISTED1</code>");
    expect(page).toMatch(/in [23] days/);
    expect(page).toContain('<time datetime="2026-11-20T10:15:00.000Z">2026-11-20 10:15 UTC</time>');
    expect(page).toContain('href="/accounts/17841400000000001/disconnect"');
    expect(page).not.toContain("IGAA-listed-token");
  });

  it("shows the queue and replays a dead letter", async () => {
    const res = await postWebhook(
      h.service.url as string,
      dmText(ACCOUNT, "1000000000000901", "m_dead_1", "hi", Date.now()),
    );
    expect(res.status).toBe(200);
    const id = await waitFor(async () => {
      const { rows } = await h.service.db.query<{ id: number }>(
        "SELECT id FROM inbound_events WHERE status = 'processed' AND dedupe_key = 'msg:m_dead_1'",
      );
      return rows[0]?.id;
    });
    // As if it had failed past its retries.
    await h.service.db.query(
      "UPDATE inbound_events SET status = 'dead', attempts = 20, last_error = 'Slack was down' WHERE id = $1",
      [id],
    );
    const c = h.client();
    await c.signIn();
    const queue = await c.get("/queue");
    expect(queue.body).toMatch(/<dt>Dead letters<\/dt><dd>1<\/dd>/);
    expect(queue.body).toContain("Slack was down");
    expect(queue.body).toContain(`<span class="visually-hidden"> event ${id}</span>`);
    const replay = await c.submit(queue, "/queue/replay", { id: String(id) });
    expect(replay).toMatchObject({ status: 303, location: "/queue" });
    expect((await c.get("/queue")).body).toContain(`Replayed 1 event(s): ${id}.`);
    expect((await audit("dead_letters_replayed")).at(-1)).toMatchObject({
      actor_id: "console:admin",
      details: { events: [id] },
    });
    await waitFor(async () => {
      const { rows } = await h.service.db.query<{ status: string }>(
        "SELECT status FROM inbound_events WHERE id = $1",
        [id],
      );
      return rows[0]?.status === "processed" ? true : undefined;
    });
  });

  it("lists deletion requests and opens their status pages", async () => {
    await h.service.db.query(
      `INSERT INTO data_requests (code, kind, status, requested_at, completed_at)
       VALUES ('DELREQ2345AB', 'deletion', 'completed', now() - interval '1 hour', now())`,
    );
    const c = h.client();
    await c.signIn();
    const page = await c.get("/privacy");
    expect(page.body).toContain('<a href="/privacy/deletion/DELREQ2345AB">DELREQ2345AB</a>');
    expect(page.body).toContain("<td>completed</td>");
    expect(await c.get("/privacy/lookup?code=%20delreq2345ab%20")).toMatchObject({
      status: 303,
      location: "/privacy/deletion/DELREQ2345AB",
    });
    const status = await c.get("/privacy/deletion/DELREQ2345AB");
    expect(status.body).toContain("Completed");
    const bad = await c.get("/privacy/lookup?code=%3Cscript%3E");
    expect(bad.status).toBe(400);
    expect(bad.body).toContain("“&lt;SCRIPT&gt;” is not a confirmation code");
  });
});
