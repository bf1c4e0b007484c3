// Issue 16, finding 4: the sign-in throttle took its point only after the scrypt check (30
// concurrent guesses from one client were all checked), keyed on X-Forwarded-For (rotating it
// reset the limit), and refused everyone after 50 failures from anywhere (the owner got 429 for
// 15 minutes). Now a guess is counted before it is checked, per real client address; strangers'
// guesses only wait for one of a few check slots, or are told "busy" at once when the line is full.

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { throttleKey } from "../../src/http/console/auth.ts";
import type { Answer, ConsoleClient, ConsoleHarness } from "../helpers/console.ts";
import { waitFor } from "../helpers/service.ts";

// The real verifyPassword, counted: how many scrypt checks ran, and how many at once. `gate`, when
// set, holds every check until it resolves.
const checks = vi.hoisted(() => ({
  calls: 0,
  running: 0,
  most: 0,
  gate: undefined as Promise<void> | undefined,
}));
vi.mock("../../src/http/console/password.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/http/console/password.ts")>();
  return {
    ...real,
    async verifyPassword(password: string, encoded: string): Promise<boolean> {
      checks.calls++;
      checks.running++;
      checks.most = Math.max(checks.most, checks.running);
      try {
        await checks.gate;
        return await real.verifyPassword(password, encoded);
      } finally {
        checks.running--;
      }
    },
  };
});

/** How many answers had each status. */
function statuses(answers: Answer[]): Record<number, number> {
  const n: Record<number, number> = {};
  for (const a of answers) n[a.status] = (n[a.status] ?? 0) + 1;
  return n;
}

describe("the console's sign-in throttle", () => {
  let h: ConsoleHarness;

  let PASSWORD: string;

  beforeAll(async () => {
    // The console's modules loaded afresh, so they take the mock above even where an earlier file
    // in the same vitest worker loaded them with the real module.
    vi.resetModules();
    const harness = await import("../helpers/console.ts");
    PASSWORD = harness.PASSWORD;
    h = await harness.startConsoleHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  it("checks at most 5 of 30 concurrent wrong guesses from one client; the rest get 429", async () => {
    const c = h.client({}, "127.0.0.10");
    const page = await c.get("/login");
    const before = checks.calls;
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => c.submit(page, "/login", { password: "wrong password" })),
    );
    expect(checks.calls - before).toBe(5);
    expect(statuses(answers)).toEqual({ 401: 5, 429: 25 });
    const refused = answers.find((a) => a.status === 429) as Answer;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(800);
    // Still refused with the right password, and still not checked.
    expect((await c.signIn(PASSWORD)).status).toBe(429);
    expect(checks.calls - before).toBe(5);
  });

  it("counts a client by its address, whatever X-Forwarded-For it sends (TRUST_PROXY off)", async () => {
    const before = checks.calls;
    const answers: Answer[] = [];
    for (let i = 1; i <= 8; i++) {
      const c = h.client({ "x-forwarded-for": `198.51.100.${i}` }, "127.0.0.11");
      answers.push(await c.signIn("wrong password"));
    }
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expect(checks.calls - before).toBe(5);
  });

  it("lets the owner in from a fresh address after 60 strangers' failures from elsewhere", async () => {
    const strangers = Array.from({ length: 12 }, (_, i) => h.client({}, `127.0.1.${i + 1}`));
    const answers: Answer[] = [];
    // Six at a time: fewer than the check slots and the line hold, so none is told "busy".
    for (const wave of [strangers.slice(0, 6), strangers.slice(6)])
      await Promise.all(
        wave.map(async (c) => {
          for (let i = 0; i < 5; i++) answers.push(await c.signIn("wrong password"));
        }),
      );
    expect(statuses(answers)).toEqual({ 401: 60 });
    const owner = h.client({}, "127.0.0.12");
    expect(await owner.signIn(PASSWORD)).toMatchObject({ status: 303, location: "/" });
    expect((await owner.get("/")).status).toBe(200);
  });

  it("runs 2 checks at a time with 8 waiting; more are told busy at once, not queued", async () => {
    const clients = Array.from({ length: 14 }, (_, i) => h.client({}, `127.0.2.${i + 1}`));
    const pages = await Promise.all(clients.map((c) => c.get("/login")));
    let open = () => {};
    checks.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    checks.most = 0;
    const before = checks.calls;
    const answered: Answer[] = [];
    const all = clients.map((c, i) =>
      c.submit(pages[i] as Answer, "/login", { password: "wrong password" }).then((a) => {
        answered.push(a);
        return a;
      }),
    );
    try {
      // While the two checks are held, the 4 that found the line full are answered.
      await waitFor(async () => (answered.length >= 4 ? true : undefined), 10_000, "the busy answers");
      await new Promise((r) => setTimeout(r, 200));
      expect(answered.map((a) => a.status)).toEqual([429, 429, 429, 429]);
      expect(answered[0]?.headers.get("retry-after")).toBe("2");
      expect(answered[0]?.body).toContain("Sign-in is busy checking other passwords.");
      expect(checks.calls - before).toBe(2);
    } finally {
      checks.gate = undefined;
      open();
    }
    const answers = await Promise.all(all);
    expect(statuses(answers)).toEqual({ 401: 10, 429: 4 });
    expect(checks.calls - before).toBe(10);
    expect(checks.most).toBe(2);
    // A guess that was not checked was not counted: a client told "busy" has all five left.
    const busy = clients[answers.findIndex((a) => a.status === 429)] as ConsoleClient;
    for (let i = 0; i < 5; i++) expect((await busy.signIn("wrong password")).status).toBe(401);
  });

  it("groups an IPv6 client by its /64, which it can rotate through at will", () => {
    expect(throttleKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(throttleKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(throttleKey("2001:0db8:0001:0002::")).toBe("2001:db8:1:2::/64");
    expect(throttleKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(throttleKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(throttleKey("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0::/64");
    expect(throttleKey("::1")).toBe("0:0:0:0::/64");
    expect(throttleKey("2001:db8:1:3::1")).not.toBe(throttleKey("2001:db8:1:2::1"));
    expect(throttleKey("203.0.113.7")).toBe("203.0.113.7");
  });
});
