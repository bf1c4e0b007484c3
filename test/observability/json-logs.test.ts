import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, routeProcessWarnings } from "../../src/log/logger.ts";
import { notJson, startCommand } from "../helpers/role-process.ts";
import { freePort } from "../helpers/servers.ts";
import { TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";
import { postWebhook } from "../helpers/webhook.ts";

// Issue 19: the service's output is JSON lines only, whatever a library would print (knex wrote
// connection failures with their stack on stdout, Node prints process warnings as text), and an
// expected condition is one line at its level (the console's setup page was an error with a
// stack, once per visit).

let t: TestEnv;

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND, { LOG_LEVEL: "info" });
});

afterAll(async () => {
  await t?.cleanup();
});

const lines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("a service role's output", () => {
  it("is JSON when the database cannot be reached, the failure included", { timeout: 60_000 }, async () => {
    const closed = await freePort();
    const p = startCommand(["migrate"], {
      ...t.env,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/nothing`,
    });
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(notJson(p.stdout())).toEqual([]);
    expect(notJson(p.stderr())).toEqual([]);
    const said = lines(p.stdout());
    // knex's own complaint, through the logger.
    expect(said).toContainEqual(
      expect.objectContaining({ level: 40, component: "knex", msg: expect.stringMatching(/ECONNREFUSED/) }),
    );
    // The end: one fatal line naming the condition (knex's own line may come before or after it).
    expect(said.filter((e) => e.level === 60)).toEqual([
      expect.objectContaining({ msg: "database not reachable; stopping" }),
    ]);
  });

  it("is JSON while it serves, with one info line per visit to an expected setup page", {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const p = startCommand(["start"], { ...t.env, PORT: String(port) });
    try {
      await p.line((e) => e.msg === "http listening", 45_000);
      const url = `http://127.0.0.1:${port}`;
      // The console has no sign-in configured, and Business Login is off: both answer 503 by design.
      expect((await fetch(`${url}/`)).status).toBe(503);
      expect((await fetch(`${url}/oauth/instagram/start`)).status).toBe(503);
      expect((await postWebhook(url, { object: "instagram", entry: [] }, { signature: null })).status).toBe(
        401,
      );
      await p.line((e) => e.msg === "webhook refused: bad signature");
    } finally {
      expect((await p.stop()).code).toBe(0);
    }
    expect(notJson(p.stdout())).toEqual([]);
    expect(notJson(p.stderr())).toEqual([]);
    const said = lines(p.stdout());
    const setup = said.filter((e) => (e.req as { path?: string } | undefined)?.path !== undefined);
    expect(setup).toEqual([
      expect.objectContaining({ level: 30, expected: "console not configured: setup page shown" }),
      expect.objectContaining({ level: 30, expected: "console not configured: setup page shown" }),
    ]);
    // No stack anywhere: nothing failed.
    expect(said.filter((e) => e.err !== undefined)).toEqual([]);
    // The refused webhook is one warning (the route's), not also the request log's.
    expect(said.filter((e) => e.level === 40)).toEqual([
      expect.objectContaining({ msg: "webhook refused: bad signature", reason: "missing" }),
    ]);
  });
});

describe("process warnings", () => {
  it("go to the logger as one JSON line instead of Node's text on stderr", async () => {
    const out = new PassThrough();
    let written = "";
    out.on("data", (chunk: Buffer) => {
      written += chunk.toString();
    });
    routeProcessWarnings(createLogger("info", { destination: out }));
    const seen = new Promise<void>((resolve) => process.once("warning", () => setImmediate(resolve)));
    process.emitWarning("Foo#bar() is deprecated. Use Foo#baz() instead.", "DeprecationWarning", "DEP_TB1");
    await seen;
    expect(lines(written)).toEqual([
      expect.objectContaining({
        level: 40,
        msg: "Foo#bar() is deprecated. Use Foo#baz() instead.",
        warning: { name: "DeprecationWarning", code: "DEP_TB1" },
      }),
    ]);
  });
});
