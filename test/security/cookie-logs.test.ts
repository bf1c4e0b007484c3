import { describe, expect, it } from "vitest";
import { startConsoleHarness } from "../helpers/console.ts";

// Issue 16, finding 8: answers were logged with their headers, Set-Cookie among them, and a
// session cookie copied from a debug log opened the console. No cookie value may reach the log,
// at any level.

describe.each(["trace", "debug"])("console sign-in at LOG_LEVEL=%s", (level) => {
  it("writes no cookie value to the log", { timeout: 60_000 }, async () => {
    const h = await startConsoleHarness({ LOG_LEVEL: level });
    try {
      const client = h.client();
      const signedIn = await client.signIn();
      expect(signedIn.status).toBe(303);
      const session = [...client.cookies.values()];
      expect(session).toHaveLength(1);
      const home = await client.get("/");
      expect(home.status).toBe(200);
      const cookies = [...session, ...client.cookies.values()];
      const out = await client.submit(home, "/logout");
      expect(out.status).toBe(303);

      const written = h.logs.join("");
      // The log was captured, at this level, with the answers in it.
      expect(written).toMatch(/"msg":"console sign-in"/);
      expect(written).toMatch(/"statusCode":303/);
      for (const cookie of cookies) {
        expect(cookie.length).toBeGreaterThan(20);
        // Any long piece of it: a log line may escape or cut the value.
        expect(written).not.toContain(cookie.slice(0, 24));
        expect(written).not.toContain(cookie.slice(-24));
      }
      expect(written).not.toMatch(/threadbridge_session=/);
    } finally {
      await h.close();
    }
  });
});
