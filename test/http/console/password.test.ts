// The console password: scrypt in the PHC string format, checked in constant time, and the
// `threadbridge console hash-password` command that prints it from standard input.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { platforms } from "../../../adapters/index.ts";
import { loadConfig } from "../../../src/config/config.ts";
import { hashPassword, parseHash, verifyPassword } from "../../../src/http/console/password.ts";

const BIN = fileURLToPath(new URL("../../../bin/threadbridge.js", import.meta.url));

function hashCommand(stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "console", "hash-password"], { stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe("console password hashes", () => {
  it("are scrypt at OWASP's cost by default, salted, and verify only the right password", async () => {
    const a = await hashPassword("a long enough password");
    const b = await hashPassword("a long enough password");
    expect(a).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("a long enough password", a)).toBe(true);
    expect(await verifyPassword("a long enough passworD", a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
    // What loadConfig accepts is what the command prints.
    expect(loadConfig({ CONSOLE_PASSWORD_HASH: a }, platforms).console.passwordHash).toBe(a);
  });

  it("verify hashes of other cost and length, and refuse malformed or unreasonable ones", async () => {
    const cheap = await hashPassword("pw", { ln: 10, r: 8, p: 1 });
    expect(await verifyPassword("pw", cheap)).toBe(true);
    expect(parseHash("$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRz$aGFzaGhhc2hoYXNoaGFzaA")).toBeUndefined();
    expect(parseHash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")).toBeUndefined();
    expect(await verifyPassword("pw", "not a hash")).toBe(false);
  });
});

describe("threadbridge console hash-password", () => {
  it("prints a hash of the password piped in, without its final newline", async () => {
    const out = await hashCommand("correct horse battery staple\n");
    expect(out.code).toBe(0);
    const hash = out.stdout.trim();
    expect(await verifyPassword("correct horse battery staple", hash)).toBe(true);
    expect(out.stdout).not.toContain("correct horse");
  });

  it("refuses a short or empty password with exit code 64", async () => {
    const short = await hashCommand("hunter2\n");
    expect(short).toMatchObject({ code: 64, stdout: "" });
    expect(short.stderr).toContain("the password must have at least 12 characters (got 7)");
    expect((await hashCommand("")).code).toBe(64);
  });
});
