// Issue 16, lower finding: the console's Origin check also accepted the origin the request's own
// Host header implied, which the client chooses. A form post now passes only with no Origin (not a
// browser, or an old one) or PUBLIC_URL's origin, besides the session's CSRF token.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleHarness, csrfOf, startConsoleHarness } from "../helpers/console.ts";

describe("the console's Origin check", () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await startConsoleHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  it("refuses a post with a valid CSRF token from an origin its own Host names, and audits it", async () => {
    const c = h.client();
    await c.signIn();
    const token = csrfOf(await c.get("/queue"));
    for (const [origin, host] of [
      ["http://evil.example", "evil.example"],
      [`http://evil.example:${new URL(h.url).port}`, `evil.example:${new URL(h.url).port}`],
    ] as const) {
      const forged = await c.post("/queue/replay", { all: "1", _csrf: token }, { origin, host });
      expect(forged.status, origin).toBe(403);
      expect(forged.body).toContain("The form had expired (or did not come from this console)");
    }
    const { rows } = await h.service.db.query<{ target: string }>(
      "SELECT target FROM audit_log WHERE action = 'refused' AND actor_id = 'console:admin'",
    );
    expect(rows).toEqual([{ target: "csrf" }, { target: "csrf" }]);
  });

  it("accepts PUBLIC_URL's origin, and a post without an Origin", async () => {
    const c = h.client();
    await c.signIn();
    const token = csrfOf(await c.get("/queue"));
    expect((await c.post("/queue/replay", { all: "1", _csrf: token }, { origin: h.url })).status).toBe(303);
    expect((await c.post("/queue/replay", { all: "1", _csrf: token })).status).toBe(303);
  });
});
