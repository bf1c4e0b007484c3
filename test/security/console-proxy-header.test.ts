// Issue 16, finding 2: with CONSOLE_AUTH_HEADER set and CONSOLE_TRUSTED_PROXIES unset the header was
// believed from loopback, so anyone behind a same-host TLS proxy that passes client headers on was
// signed in as any name they sent. Now the header needs the proxies named, start-up stops with one
// line without them, and the header is believed from the named proxy alone.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { loadConfig } from "../../src/config/config.ts";
import { type ConsoleHarness, startConsoleHarness } from "../helpers/console.ts";

const BIN = fileURLToPath(new URL("../../bin/threadbridge.js", import.meta.url));
const LINE =
  "CONSOLE_TRUSTED_PROXIES: required with CONSOLE_AUTH_HEADER (the sign-on proxy's address or range, such as 10.0.0.5: the header is believed from it alone)";

/** `threadbridge start`; a service that starts instead of refusing is stopped after `ms` (loading
 * the whole CLI takes seconds, tens of them on a busy machine). */
function start(env: Record<string, string>, ms = 75_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, "start"],
      { env: { ...process.env, ...env }, timeout: ms, killSignal: "SIGKILL" },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe("CONSOLE_AUTH_HEADER without CONSOLE_TRUSTED_PROXIES", () => {
  it("is refused by loadConfig with one line naming what to set", () => {
    let message = "";
    try {
      loadConfig(
        { CONSOLE_AUTH_HEADER: "X-Forwarded-Email", CONSOLE_ALLOWED_USERS: "ops@example.com" },
        platforms,
      );
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(LINE);
  });

  it("stops `threadbridge start` with exactly that one line (exit 78), before anything listens", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "threadbridge-proxy-"));
    try {
      const r = await start({
        DATA_DIR: dataDir,
        PORT: "0",
        LOG_LEVEL: "info",
        CONSOLE_AUTH_HEADER: "X-Forwarded-Email",
      });
      expect(r).toEqual({ code: 78, stdout: "", stderr: `threadbridge: configuration error\n  ${LINE}\n` });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("the sign-on header with a named proxy", () => {
  let h: ConsoleHarness;
  // The proxy is 127.0.0.2; 127.0.0.1 plays anything else on the same host (a TLS terminator
  // passing the client's headers on), which must not be believed.
  const PROXY = "127.0.0.2";

  beforeAll(async () => {
    h = await startConsoleHarness({
      CONSOLE_PASSWORD_HASH: "",
      CONSOLE_AUTH_HEADER: "X-Forwarded-Email",
      CONSOLE_TRUSTED_PROXIES: PROXY,
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it("is believed from that proxy alone", async () => {
    for (const from of ["127.0.0.1", "127.0.0.3"]) {
      const forged = await h.client({ "x-forwarded-email": "owner@example.com" }, from).get("/");
      expect(forged.status, from).toBe(401);
      expect(forged.body).toContain("this request did not come through it");
    }
    const { rows } = await h.service.db.query("SELECT 1 FROM audit_log WHERE action = 'console_login'");
    expect(rows).toEqual([]);

    const proxied = await h.client({ "x-forwarded-email": "owner@example.com" }, PROXY).get("/");
    expect(proxied.status).toBe(200);
    expect(proxied.body).toContain('Sign out <span class="visually-hidden">(owner@example.com)</span>');
  });
});
