// The embedded mode's generated secrets: a console session secret is generated with the others,
// and added to a file written before it existed without touching the secrets already in use.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { loadConfig } from "../../src/config/config.ts";
import { ensureLocalSecrets, localSecretsPath, withLocalSecrets } from "../../src/config/local-secrets.ts";

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), "threadbridge-secrets-"));
  dirs.push(d);
  return d;
};

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("local secrets", () => {
  it("give the embedded console a session secret, unless one is configured", () => {
    const dir = dataDir();
    const { config, defaulted } = withLocalSecrets(loadConfig({ DATA_DIR: dir }, platforms));
    expect(config.console.sessionSecret).toMatch(/^[\w-]{43}$/);
    expect(defaulted.consoleSessionSecret).toBe(true);
    const configured = withLocalSecrets(
      loadConfig({ DATA_DIR: dir, CONSOLE_SESSION_SECRET: "x".repeat(40) }, platforms),
    );
    expect(configured.config.console.sessionSecret).toBe("x".repeat(40));
    expect(configured.defaulted.consoleSessionSecret).toBe(false);
  });

  it("add the session secret to an older file, keeping its secrets and its owner-only mode", () => {
    const dir = dataDir();
    const old = {
      webhookSecret: "w".repeat(48),
      verifyToken: "v".repeat(24),
      tokenEncryptionKey: "k".repeat(44),
    };
    writeFileSync(localSecretsPath(dir), JSON.stringify(old), { mode: 0o600 });
    const upgraded = ensureLocalSecrets(dir);
    expect(upgraded).toEqual({ ...old, consoleSessionSecret: expect.stringMatching(/^[\w-]{43}$/) });
    expect(JSON.parse(readFileSync(localSecretsPath(dir), "utf8"))).toEqual(upgraded);
    expect(statSync(localSecretsPath(dir)).mode & 0o777).toBe(0o600);
    expect(ensureLocalSecrets(dir)).toEqual(upgraded);
  });
});
