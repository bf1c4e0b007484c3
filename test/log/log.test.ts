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
