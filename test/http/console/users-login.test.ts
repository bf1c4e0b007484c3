// Named console users over HTTP: the sign-in form asks for a name once one exists, a user signs in
// with their own password, an unknown name gets the very answer a wrong password gets, a disabled,
// removed or re-passworded user's session ends at its next request, and the shared password keeps
// working as `admin` (an empty name, or the name admin). Without the shared password, a user alone
// opens the console.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../../src/http/console/password.ts";
import {
  addUser,
  type ConsoleRole,
  removeUser,
  setDisabled,
  setPassword,
} from "../../../src/http/console/users.ts";
import type { Service } from "../../../src/service.ts";
import {
  type ConsoleClient,
  type ConsoleHarness,
  csrfOf,
  PASSWORD,
  startConsoleHarness,
} from "../../helpers/console.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv } from "../../helpers/service.ts";

const ANA_PASSWORD = "ana's own long password";
const BY = { kind: "operator" as const, id: "cli:test" };
// The test cost keeps the sign-ins quick; the cost is read from the hash, so the path is the same.
const cheap = (password: string) => hashPassword(password, { ln: 12, r: 8, p: 1 });

async function add(db: Service["db"], name: string, role: ConsoleRole = "agent", displayName = name) {
  await addUser(db, { name, displayName, role, passwordHash: await cheap(ANA_PASSWORD) }, BY);
}

async function signInAs(c: ConsoleClient, name: string, password: string) {
  const page = await c.get("/login");
  return c.submit(page, "/login", { name, password });
}

describe("named console users beside the shared password", () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await startConsoleHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  const audit = (action: string) => h.audit(action);

  it("asks for a name once a user exists, and signs the user in with their own password", async () => {
    const before = await h.client({}, "127.0.0.11").get("/login");
    expect(before.body).not.toContain('name="name"');
    await add(h.service.db, "ana", "admin", "Ana Bell");

    const c = h.client({}, "127.0.0.11");
    const page = await c.get("/login");
    expect(page.body).toMatch(/<label for="name">Name<\/label>/);
    expect(page.body).toContain("Leave it empty for the shared administrator password.");
    expect(page.body).toMatch(/<label for="password">Password<\/label>/);
    // Names are lower case: typed in capitals, it still signs in.
    const right = await c.submit(page, "/login", { name: " Ana ", password: ANA_PASSWORD });
    expect(right).toMatchObject({ status: 303, location: "/" });
    const home = await c.get("/");
    expect(home.status).toBe(200);
    expect(home.body).toContain("(ana)");
    expect((await audit("console_login")).at(-1)).toMatchObject({
      actor_id: "console:ana",
      details: { via: "user" },
    });
    expect(await c.get("/login")).toMatchObject({ status: 303, location: "/" });
    expect(h.logs.join("")).not.toContain(ANA_PASSWORD);
  });

  it("answers an unknown name exactly as a wrong password, and counts both against the address", async () => {
    const c = h.client({}, "127.0.0.12");
    const page = await c.get("/login");
    const csrf = csrfOf(page);
    const wrong = await c.post("/login", { _csrf: csrf, name: "ana", password: "not her password" });
    const unknown = await c.post("/login", { _csrf: csrf, name: "nobody", password: "not her password" });
    const malformed = await c.post("/login", { _csrf: csrf, name: "No Body!", password: "whatever" });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain("Wrong name or password.");
    expect(wrong.body).toMatch(
      /id="name"[^>]* aria-describedby="name-hint login-error" aria-invalid="true">/,
    );
    for (const other of [unknown, malformed]) {
      expect(other.status).toBe(wrong.status);
      expect(other.body).toBe(wrong.body);
      expect([...other.headers.keys()].sort()).toEqual([...wrong.headers.keys()].sort());
    }
    // The trail (for operators only) names the user tried when the name is one.
    expect((await audit("refused")).slice(-3).map((r) => r.details.name)).toEqual([
      "ana",
      undefined,
      undefined,
    ]);
    // Guesses count per address, whichever name: two more, then this address waits; the user
    // herself, from elsewhere, is not locked out.
    for (let i = 0; i < 2; i++)
      expect((await c.post("/login", { _csrf: csrf, name: "ana", password: "guess" })).status).toBe(401);
    expect((await c.post("/login", { _csrf: csrf, name: "ana", password: ANA_PASSWORD })).status).toBe(429);
    expect((await signInAs(h.client({}, "127.0.0.13"), "ana", ANA_PASSWORD)).status).toBe(303);
  });

  it("keeps the shared password working as admin: with no name, or the name admin", async () => {
    for (const [from, name] of [
      ["127.0.0.14", ""],
      ["127.0.0.15", "admin"],
    ] as const) {
      const c = h.client({}, from);
      expect(await signInAs(c, name, PASSWORD)).toMatchObject({ status: 303, location: "/" });
      expect((await c.get("/")).body).toContain("(admin)");
    }
    // A user's password is not the shared one's, nor the reverse.
    const c = h.client({}, "127.0.0.16");
    expect((await signInAs(c, "", ANA_PASSWORD)).status).toBe(401);
    expect((await signInAs(c, "ana", PASSWORD)).status).toBe(401);
  });

  it("ends a user's sessions at their next request once disabled, re-passworded or removed", async () => {
    await add(h.service.db, "bo");
    const signedIn = async (from: string) => {
      const c = h.client({}, from);
      expect((await signInAs(c, "bo", ANA_PASSWORD)).status).toBe(303);
      expect((await c.get("/")).status).toBe(200);
      return c;
    };

    const c = await signedIn("127.0.0.17");
    const page = await c.get("/");
    await setDisabled(h.service.db, "bo", true, BY);
    expect(await c.get("/")).toMatchObject({ status: 303, location: "/login" });
    // A form posted with the old session is refused, and /login offers a fresh form, not a loop.
    expect((await c.post("/logout", { _csrf: csrfOf(page) })).status).toBe(401);
    expect((await c.get("/login")).status).toBe(200);
    // The right password of a disabled user gets the same answer as a wrong one.
    const refused = await signInAs(c, "bo", ANA_PASSWORD);
    expect(refused.status).toBe(401);
    expect(refused.body).toContain("Wrong name or password.");

    await setDisabled(h.service.db, "bo", false, BY);
    const d = await signedIn("127.0.0.18");
    await setPassword(h.service.db, "bo", await cheap("bo's brand new password"), BY);
    expect(await d.get("/")).toMatchObject({ status: 303, location: "/login" });
    expect((await signInAs(d, "bo", "bo's brand new password")).status).toBe(303);
    expect((await d.get("/")).status).toBe(200);

    await removeUser(h.service.db, "bo", BY);
    expect(await d.get("/")).toMatchObject({ status: 303, location: "/login" });
  });
});

describe("named console users without a shared password", () => {
  let t: TestEnv;
  let service: Service;

  beforeAll(async () => {
    t = await testEnv(TEST_BACKEND, { CONSOLE_SESSION_SECRET: "console-users-session-secret-0123456789" });
    service = await startTestService(t);
  });

  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
  });

  it("stays closed until a user exists, then asks for the name and signs them in", async () => {
    const base = service.url as string;
    expect((await fetch(`${base}/`, { redirect: "manual" })).status).toBe(503);
    await add(service.db, "cy");
    const { ConsoleClient } = await import("../../helpers/console.ts");
    const c = new ConsoleClient(base.replace("localhost", "127.0.0.1"));
    expect(await c.get("/")).toMatchObject({ status: 303, location: "/login" });
    const page = await c.get("/login");
    expect(page.body).toMatch(/<input type="text" id="name" name="name"[^>]* required/);
    expect(page.body).not.toContain("shared administrator password");
    // No shared password: `admin` and an empty name are refused like any wrong name.
    expect((await c.submit(page, "/login", { name: "", password: PASSWORD })).status).toBe(401);
    expect(await c.submit(page, "/login", { name: "cy", password: ANA_PASSWORD })).toMatchObject({
      status: 303,
      location: "/",
    });
    expect((await c.get("/")).status).toBe(200);
  });
});
