// `.env` in the working directory, read by the CLI before the configuration: it fills in what the
// environment lacks and never overrides what is set. Only the CLI entry reads it (the tests' own
// processes start in an empty directory, helpers/cli.ts).

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config.ts";
import { describeEnvFile, loadEnvFile } from "../../src/config/env-file.ts";
import { cli } from "../helpers/cli.ts";

const BIN = fileURLToPath(new URL("../../bin/threadbridge.js", import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory holding `.env` with `content`. */
function withEnvFile(content: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "threadbridge-dotenv-"));
  dirs.push(dir);
  writeFileSync(path.join(dir, ".env"), content);
  return dir;
}

describe("loadEnvFile", () => {
  it("fills in unset variables and keeps those already set, even empty ones", () => {
    const dir = withEnvFile(
      '# a comment\nPORT=8080\nPUBLIC_URL="https://b.example"\nREDIS_URL=redis://x\nLOG_LEVEL=debug\n',
    );
    const env: NodeJS.ProcessEnv = { REDIS_URL: "redis://mine", LOG_LEVEL: "" };
    const file = loadEnvFile(path.join(dir, ".env"), env);
    expect(env).toEqual({
      PORT: "8080",
      PUBLIC_URL: "https://b.example",
      REDIS_URL: "redis://mine",
      LOG_LEVEL: "",
    });
    expect(file).toEqual({
      path: path.join(dir, ".env"),
      loaded: ["PORT", "PUBLIC_URL"],
      kept: ["LOG_LEVEL", "REDIS_URL"],
    });
    expect(describeEnvFile(file as NonNullable<typeof file>)).toBe(
      `environment: 2 variables from ${path.join(dir, ".env")} (LOG_LEVEL, REDIS_URL already set, kept)`,
    );
  });

  it("is nothing without a file, and a configuration error when it cannot be read", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "threadbridge-dotenv-"));
    dirs.push(dir);
    const env = {};
    expect(loadEnvFile(path.join(dir, ".env"), env)).toBeUndefined();
    expect(env).toEqual({});
    mkdirSync(path.join(dir, ".env"));
    expect(() => loadEnvFile(path.join(dir, ".env"), env)).toThrow(
      new ConfigError(`${path.join(dir, ".env")}: cannot be read (EISDIR)`),
    );
  });
});

describe("the CLI reads .env from its working directory", () => {
  it("takes variables from it: a malformed one stops the command naming it", async () => {
    const cwd = withEnvFile("REDIS_URL=localhost:6379\n");
    const r = await cli(["migrate"], {}, undefined, { cwd });
    expect(r.code).toBe(78);
    expect(r.stderr).toBe(
      "threadbridge: configuration error\n  REDIS_URL: expected redis://host:port[/db]\n",
    );
  });

  it("lets the environment win, even an empty variable", async () => {
    const cwd = withEnvFile("REDIS_URL=localhost:6379\nPORT=eighty\n");
    // `replay` reads the configuration, then the missing file: a usage error, not a configuration one.
    const r = await cli(["replay", "/nonexistent.json"], { REDIS_URL: "", PORT: "3000" }, undefined, { cwd });
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^threadbridge: \/nonexistent\.json: ENOENT/);
  });

  it("says at start-up that it read the file", async () => {
    const cwd = withEnvFile("LOG_LEVEL=info\nWORKER_CONCURRENCY=2\n");
    const child: ChildProcess = spawn(process.execPath, [BIN, "web"], {
      cwd,
      env: { ...process.env, PORT: "0", DATA_DIR: path.join(cwd, "data") },
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout?.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const found = out.split("\n").find((l) => l.includes('"environment: '));
          if (found) resolve(found);
        });
        child.on("exit", (code) => reject(new Error(`exited ${code} before the line: ${out}`)));
      });
      expect(JSON.parse(line).msg).toBe(`environment: 2 variables from ${path.join(cwd, ".env")}`);
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  });
});
