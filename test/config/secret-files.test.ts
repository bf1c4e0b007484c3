// NAME_FILE for every secret NAME (CONTRACT.md): the value comes from the file, without its
// trailing newline; both set, or a file that cannot be used, stop start-up with one line naming
// NAME_FILE and the reason, never the content.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { cli } from "../helpers/cli.ts";

const dir = mkdtempSync(path.join(tmpdir(), "threadbridge-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file holding `content`, by its path. */
function secretFile(name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

/** The ConfigError's message of loading `env`. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env, platforms);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("loaded");
}

describe("NAME_FILE for secrets", () => {
  it("reads a secret from its file without the trailing newline", () => {
    const c = loadConfig(
      {
        IG_APP_SECRET_FILE: secretFile("ig", "instagram-secret\n"),
        IG_VERIFY_TOKEN_FILE: secretFile("verify", "verify token with spaces\r\n"),
        SLACK_BOT_TOKEN_FILE: secretFile("slack", "xoxb-1-2-3\n\n"),
        SLACK_SIGNING_SECRET: "signing-secret",
        DATABASE_URL_FILE: secretFile("db", "postgres://u:p%40ss@h/db\n"),
        TOKEN_ENCRYPTION_KEY_FILE: secretFile("key", `${Buffer.alloc(32, 1).toString("base64")}\n`),
      },
      platforms,
    );
    expect(c.instagram.appSecrets).toEqual(["instagram-secret"]);
    expect(c.instagram.verifyToken).toBe("verify token with spaces");
    expect(c.database).toMatchObject({ kind: "postgres", url: "postgres://u:p%40ss@h/db" });
    expect(c.platforms[0]?.settings).toMatchObject({ botToken: "xoxb-1-2-3" });
  });

  it("reads the OTLP exporters' headers (a vendor's key) from their files", () => {
    const c = loadConfig(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_HEADERS_FILE: secretFile("otlp", "x-honeycomb-team=key%2Fwith%20space, x-b=1\n"),
        OTEL_EXPORTER_OTLP_TRACES_HEADERS_FILE: secretFile("otlp-traces", "x-b=2\n"),
      },
      platforms,
    );
    expect(c.tracing?.headers).toEqual({ "x-honeycomb-team": "key/with space", "x-b": "2" });
    // Malformed: named, its value never repeated.
    const message = refusal({ OTEL_EXPORTER_OTLP_HEADERS_FILE: secretFile("bad", "just-a-secret-key\n") });
    expect(message).toBe(
      "OTEL_EXPORTER_OTLP_HEADERS (from OTEL_EXPORTER_OTLP_HEADERS_FILE): expected key=value pairs separated by commas, values URL-encoded",
    );
  });

  it("ignores NAME_FILE for a variable that is not a secret, and an empty one", () => {
    const c = loadConfig({ PORT_FILE: secretFile("port", "8080\n"), IG_APP_SECRET_FILE: " " }, platforms);
    expect(c.port).toBe(3000);
    expect(c.instagram.appSecrets).toEqual([]);
  });

  it("refuses NAME and NAME_FILE together, one line", () => {
    expect(refusal({ METRICS_TOKEN: "0123456789abcdef0", METRICS_TOKEN_FILE: secretFile("m", "x") })).toBe(
      "METRICS_TOKEN_FILE: METRICS_TOKEN is set too; set only one of them",
    );
  });

  it("names NAME_FILE and the reason when the file cannot be used, never its content", () => {
    const missing = path.join(dir, "missing");
    const folder = path.join(dir, "folder");
    mkdirSync(folder);
    const big = secretFile("big", "x".repeat(65 * 1024));
    const message = refusal({
      IG_APP_SECRET_FILE: missing,
      META_APP_SECRET_FILE: folder,
      REDIS_URL_FILE: secretFile("empty", "\n"),
      DISCORD_TOKEN_FILE: big,
      CONSOLE_SESSION_SECRET_FILE: "/dev/zero",
      // Reported with the others, not after they are fixed.
      PORT: "eighty",
    });
    expect(message.split("\n").sort()).toEqual(
      [
        `IG_APP_SECRET_FILE: cannot read ${missing} (ENOENT: no such file or directory)`,
        `META_APP_SECRET_FILE: ${folder} is not a file`,
        `REDIS_URL_FILE: ${path.join(dir, "empty")} is empty`,
        `DISCORD_TOKEN_FILE: ${big} is larger than 64 KiB`,
        "CONSOLE_SESSION_SECRET_FILE: /dev/zero is not a file",
        "PORT: expected a port number, 0 to 65535",
      ].sort(),
    );
  });

  it("says a malformed secret came from its file, without the value", () => {
    const message = refusal({ REDIS_URL_FILE: secretFile("redis", "localhost:6379-hunter2\n") });
    expect(message).toBe("REDIS_URL (from REDIS_URL_FILE): expected redis://host:port[/db]");
  });

  it("stops the CLI with one line and exit code 78", async () => {
    const missing = path.join(dir, "nope");
    const r = await cli(["migrate"], { DATA_DIR: dir, TOKEN_ENCRYPTION_KEY_FILE: missing });
    expect(r.code).toBe(78);
    expect(r.stderr).toBe(
      `threadbridge: configuration error\n  TOKEN_ENCRYPTION_KEY_FILE: cannot read ${missing} (ENOENT: no such file or directory)\n`,
    );
  });
});
