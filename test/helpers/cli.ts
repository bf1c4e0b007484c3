import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/threadbridge.js", import.meta.url));
const WITH_PLATFORMS = fileURLToPath(new URL("./cli-entry.ts", import.meta.url));

/** The working directory of the CLI processes tests start: empty, because the CLI reads `.env` from
 * its working directory, and a developer's `.env` in the checkout must not reach the tests. */
export const CLI_CWD = mkdtempSync(path.join(process.env.TEST_SCRATCH_DIR ?? tmpdir(), "threadbridge-cwd-"));
// The run's set-up removes its scratch directory at the end too (global-setup.ts): a worker ended
// without this event leaves nothing behind.
process.on("exit", () => rmSync(CLI_CWD, { recursive: true, force: true }));

/** Runs the real `threadbridge` command in its own process and reports its exit code and output;
 * `input`, when given, is its standard input. `platforms`: the URL of a module exporting another
 * list of chat platforms (`platforms`) to run it with, e.g. this build's and a test-only one; `cwd`
 * its working directory, CLI_CWD unless given. */
export async function cli(
  args: string[],
  env: Record<string, string>,
  input?: string,
  options: { platforms?: URL; cwd?: string } = {},
) {
  const command = options.platforms ? [WITH_PLATFORMS, options.platforms.href, ...args] : [BIN, ...args];
  try {
    const running = run(process.execPath, command, {
      cwd: options.cwd ?? CLI_CWD,
      env: { ...process.env, ...env },
    });
    if (input !== undefined) running.child.stdin?.end(input);
    const { stdout, stderr } = await running;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
