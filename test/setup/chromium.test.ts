// Which Chromium the browser tests launch: on a machine without one (a fresh clone, no apt-get),
// the one inside the @sparticuz/chromium dev dependency, unpacked once and reused.

import { execFile } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { chromiumExecutable } from "../helpers/chromium.ts";

const dir = mkdtempSync(path.join(tmpdir(), "threadbridge-chromium-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("chromiumExecutable", () => {
  it("uses CHROMIUM_PATH when set, and names it when it is missing", async () => {
    const own = path.join(dir, "my-chromium");
    writeFileSync(own, "");
    expect(await chromiumExecutable({ CHROMIUM_PATH: own }, path.join(dir, "none"))).toBe(own);
    await expect(chromiumExecutable({ CHROMIUM_PATH: path.join(dir, "gone") })).rejects.toThrow(
      `CHROMIUM_PATH=${path.join(dir, "gone")}: no such file (unset it to use the system's or the npm package's)`,
    );
  });

  it("uses the system's Chromium when there is one", async () => {
    const system = path.join(dir, "chromium");
    writeFileSync(system, "");
    expect(await chromiumExecutable({}, system)).toBe(system);
  });

  it("unpacks the npm package's Chromium when the machine has none, once", { timeout: 60_000 }, async () => {
    const exe = await chromiumExecutable({}, path.join(dir, "no-system-chromium"));
    expect(path.basename(exe)).toBe("chromium");
    accessSync(exe, constants.X_OK);
    const { stdout } = await promisify(execFile)(exe, ["--version"]);
    expect(stdout).toMatch(/^Chromium \d+\./);
    // Reused: the same file, not unpacked again.
    const before = statSync(exe).mtimeMs;
    expect(await chromiumExecutable({}, path.join(dir, "no-system-chromium"))).toBe(exe);
    expect(statSync(exe).mtimeMs).toBe(before);
  });
});
