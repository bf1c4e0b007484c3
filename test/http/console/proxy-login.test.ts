// The console behind an authenticating reverse proxy (oauth2-proxy and the like): the header names
// the user, only from trusted peers, only users on the allow-list, and only while the proxy keeps
// vouching; there is no password sign-in then.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trustedPeer } from "../../../src/config/console-config.ts";
import { type ConsoleHarness, startConsoleHarness } from "../../helpers/console.ts";

describe("trusted proxy addresses", () => {
  it("match addresses and ranges, IPv4-mapped IPv6 included", () => {
    expect(trustedPeer("127.0.0.1", ["127.0.0.1", "::1"])).toBe(true);
    expect(trustedPeer("::ffff:127.0.0.1", ["127.0.0.1"])).toBe(true);
    expect(trustedPeer("::1", ["127.0.0.1", "::1"])).toBe(true);
    expect(trustedPeer("10.20.30.40", ["10.0.0.0/8"])).toBe(true);
    expect(trustedPeer("fd00::5", ["fd00::/8"])).toBe(true);
    expect(trustedPeer("192.168.1.1", ["127.0.0.1", "::1", "10.0.0.0/8"])).toBe(false);
    expect(trustedPeer(undefined, ["127.0.0.1"])).toBe(false);
  });
});

describe("the console behind a sign-on proxy", () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await startConsoleHarness({
      CONSOLE_PASSWORD_HASH: "",
      CONSOLE_AUTH_HEADER: "X-Forwarded-Email",
      CONSOLE_TRUSTED_PROXIES: "127.0.0.1",
      CONSOLE_ALLOWED_USERS: "ops@example.com, lead@example.com",
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it("signs in the user the proxy names, case aside, and audits it", async () => {
    const c = h.client({ "x-forwarded-email": "Ops@Example.com" });
    const home = await c.get("/");
    expect(home.status).toBe(200);
    expect(home.body).toContain('Sign out <span class="visually-hidden">(Ops@Example.com)</span>');
    const { rows } = await h.service.db.query<{ actor_id: string; details: { via: string } }>(
      "SELECT actor_id, details FROM audit_log WHERE action = 'console_login'",
    );
    expect(rows).toEqual([
      { actor_id: "console:Ops@Example.com", details: expect.objectContaining({ via: "proxy" }) },
    ]);
    // The same session serves the next page: no second sign-in.
    expect((await c.get("/queue")).status).toBe(200);
    expect(
      (await h.service.db.query("SELECT 1 FROM audit_log WHERE action = 'console_login'")).rows,
    ).toHaveLength(1);
  });

  it("refuses users off the list, requests the proxy did not vouch for, and password sign-in", async () => {
    const stranger = await h.client({ "x-forwarded-email": "mallory@example.com" }).get("/");
    expect(stranger.status).toBe(403);
    expect(stranger.body).toContain(
      "mallory@example.com is signed in but is not among CONSOLE_ALLOWED_USERS.",
    );
    const { rows } = await h.service.db.query<{ target: string }>(
      "SELECT target FROM audit_log WHERE action = 'refused' AND actor_id = 'console:mallory@example.com'",
    );
    expect(rows).toEqual([{ target: "console_user_not_allowed" }]);

    const direct = await h.client().get("/");
    expect(direct.status).toBe(401);
    expect(direct.body).toContain("this request did not come through it");

    // A session lasts only while the proxy keeps naming its user.
    const c = h.client({ "x-forwarded-email": "lead@example.com" });
    expect((await c.get("/")).status).toBe(200);
    const withoutProxy = h.client();
    for (const [k, v] of c.cookies) withoutProxy.cookies.set(k, v);
    expect((await withoutProxy.get("/")).status).toBe(401);

    expect((await h.client().get("/login")).status).toBe(404);
  });
});
