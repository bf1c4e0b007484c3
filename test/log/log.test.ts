import { execFileSync } from "node:child_process";
import { PassThrough } from "node:stream";
import { expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { createLogger } from "../../src/log/logger.ts";

it("never writes tokens, secrets, signatures or message text", async () => {
  const out = new PassThrough();
  const lines: string[] = [];
  out.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
  const log = createLogger("info", { destination: out });
  log.info(
    {
      token: "IGQVJ-secret-token",
      account: { accessToken: "EAAB-secret", secret: "s3cr3t" },
      event: { text: "my phone number is 555-0100" },
      req: { headers: { "x-hub-signature-256": "sha256=abc", authorization: "Bearer xyz" } },
      eventId: 42,
    },
    "event handled",
  );
  await new Promise((r) => setImmediate(r));
  const written = lines.join("");
  for (const secret of [
    "IGQVJ-secret-token",
    "EAAB-secret",
    "s3cr3t",
    "555-0100",
    "sha256=abc",
    "Bearer xyz",
  ]) {
    expect(written).not.toContain(secret);
  }
  expect(JSON.parse(written)).toMatchObject({ eventId: 42, msg: "event handled", token: "[redacted]" });
});

it("redacts the request headers chat platforms name as secret", async () => {
  const out = new PassThrough();
  const lines: string[] = [];
  out.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
  const log = createLogger("info", {
    destination: out,
    redactHeaders: platforms.flatMap((p) => p.secretHeaders ?? []),
  });
  log.info({ req: { headers: { "x-slack-signature": "v0=abc123", host: "bridge" } } }, "request");
  await new Promise((r) => setImmediate(r));
  const written = lines.join("");
  expect(written).not.toContain("v0=abc123");
  expect(JSON.parse(written)).toMatchObject({ req: { headers: { host: "bridge" } } });
});

it("never writes a cookie, token or text value, in any letter case, at any depth, in fields, errors or bindings", async () => {
  const out = new PassThrough();
  const lines: string[] = [];
  out.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
  const log = createLogger("info", { destination: out });
  // An HTTP client's error carries its request's headers and the answer's.
  const failure = Object.assign(new Error("request failed with status 502"), {
    config: { headers: { Cookie: "threadbridge_session=from-config-0001" } },
    response: {
      status: 502,
      headers: { "Set-Cookie": ["a=from-answer-0002; HttpOnly", "b=from-answer-0003"] },
    },
  });
  log.error({ err: failure }, "call failed");
  log.info(
    { a: { b: { c: { d: { COOKIE: "deep-0004", Token: "deep-0007", text: "deep-0008" } } } } },
    "deep",
  );
  log.child({ req: { headers: { cookie: "bound-0005", host: "bridge" } } }).info("bound");
  log.info({ headers: { "set-cookie": "top-0006", accept: "*/*" }, cookies: 3 }, "answer");
  log.info({ note: 'a message about "cookie": values', eventId: 9 }, "unchanged");
  await new Promise((r) => setImmediate(r));
  const written = lines.join("");
  for (const secret of ["from-config", "from-answer", "deep-000", "bound-0005", "top-0006"])
    expect(written).not.toContain(secret);
  const parsed = written
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(parsed[0]).toMatchObject({
    msg: "call failed",
    err: {
      type: "Error",
      message: "request failed with status 502",
      stack: expect.stringContaining("Error: request failed"),
      config: { headers: { Cookie: "[redacted]" } },
      response: { status: 502, headers: { "Set-Cookie": "[redacted]" } },
    },
  });
  expect(parsed[1]).toMatchObject({
    a: { b: { c: { d: { COOKIE: "[redacted]", Token: "[redacted]", text: "[redacted]" } } } },
  });
  expect(parsed[2]).toMatchObject({
    req: { headers: { cookie: "[redacted]", host: "bridge" } },
    msg: "bound",
  });
  expect(parsed[3]).toMatchObject({ headers: { "set-cookie": "[redacted]", accept: "*/*" }, cookies: 3 });
  expect(parsed[4]).toMatchObject({ note: 'a message about "cookie": values', eventId: 9 });
});

/** What a logger asked for pretty output writes to standard output, from a process of its own. */
function prettyOutput(prettyModule: string): string {
  const logger = new URL("../../src/log/logger.ts", import.meta.url).href;
  const script = `
    const { createLogger } = await import(${JSON.stringify(logger)});
    const log = createLogger("info", { pretty: true, prettyModule: ${JSON.stringify(prettyModule)} });
    log.info({ eventId: 7 }, "hello");
    log.flush?.();
    setTimeout(() => {}, 300);`;
  return execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    env: { ...process.env, NODE_ENV: "development" },
  });
}

it("logs plain JSON when pretty output is asked for and pino-pretty is not installed", () => {
  const lines = prettyOutput("pino-pretty-not-installed").trim().split("\n");
  expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ eventId: 7, msg: "hello" })]);
});

it("pretty-prints when pino-pretty is installed", () => {
  const out = prettyOutput("pino-pretty");
  expect(out).toContain("hello");
  expect(() => JSON.parse(out.trim())).toThrow();
});
