// A `threadbridge` command in its own process with its standard output and standard error kept
// apart, for tests that read what the service logs (every line JSON) or wait for a line.

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CLI_CWD } from "./cli.ts";

const BIN = fileURLToPath(new URL("../../bin/threadbridge.js", import.meta.url));

export interface RoleProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits for a JSON line on standard output that `match` accepts, and returns it. */
  line(match: (entry: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** SIGTERM (or `signal`), then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `threadbridge ARGS…` under this Node, in an empty working directory (no `.env`), or
 * another copy's `bin` (an installed image's) in `cwd`. */
export function startCommand(
  args: string[],
  env: Record<string, string>,
  options: { bin?: string; cwd?: string; nodeFlags?: string[] } = {},
): RoleProcess {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), options.bin ?? BIN, ...args], {
    cwd: options.cwd ?? CLI_CWD,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const p: RoleProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async line(match, ms = 30_000) {
      const until = Date.now() + ms;
      for (;;) {
        for (const text of out.split("\n")) {
          if (!text.startsWith("{")) continue;
          try {
            const entry = JSON.parse(text) as Record<string, unknown>;
            if (match(entry)) return entry;
          } catch {
            // a line still being written
          }
        }
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(
            `threadbridge ${args.join(" ")} exited; it said:\n${out.slice(-3000)}\n${err.slice(-3000)}`,
          );
        if (Date.now() > until)
          throw new Error(`no such line within ${ms} ms; it said:\n${out.slice(-3000)}\n${err.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return p;
}

/** The lines of `text` that are not one JSON object each (empty lines aside). */
export function notJson(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .filter((line) => {
      try {
        const v: unknown = JSON.parse(line);
        return typeof v !== "object" || v === null || Array.isArray(v);
      } catch {
        return true;
      }
    });
}
