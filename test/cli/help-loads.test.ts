import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CLI_CWD } from "../helpers/cli.ts";

// `threadbridge --help` (and a usage error) must not load what only an action needs: each command's
// modules are imported inside its action (src/cli.ts, src/cli/*). A value import of a heavy module
// at the top of src/cli.ts or a src/cli/*-command.ts took `--help` from 155 modules to 605 (the
// database driver, Redis, the metrics registry, the YAML parser…) and from 0.2 to 0.4 s.

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/threadbridge.js", import.meta.url));
const PROBE = new URL("./load-probe.mjs", import.meta.url).href;

/** The URLs of the modules `threadbridge ARGS` loaded, one per line on stderr after `MODULES:`. */
async function loaded(args: string[]): Promise<string[]> {
  const out = await run(process.execPath, ["--import", PROBE, BIN, ...args], { cwd: CLI_CWD }).catch(
    (err: { stderr: string }) => err,
  );
  const list = out.stderr.split("MODULES:\n")[1];
  if (list === undefined) throw new Error(`no module list in: ${out.stderr}`);
  return list.split("\n").filter(Boolean);
}

/** Packages only an action uses. */
const HEAVY = [
  "pg",
  "pg-boss",
  "knex",
  "ioredis",
  "yaml",
  "prom-client",
  "pino",
  "rate-limiter-flexible",
  "@opentelemetry/api",
  "uuid",
  "luxon",
  "re2js",
  "p-retry",
  "discord.js",
  "@slack/web-api",
  "@slack/bolt",
  "@electric-sql/pglite",
];

function packagesOf(urls: string[]): Set<string> {
  const names = new Set<string>();
  for (const url of urls) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m?.[1]) names.add(m[1]);
  }
  return names;
}

describe("what the CLI loads before an action runs", () => {
  it.each([[["--help"]], [["accounts", "--help"]], [["no-such-command"]]])(
    "threadbridge %j loads no driver, SDK or parser",
    async (args) => {
      const urls = await loaded(args);
      const packages = packagesOf(urls);
      expect(HEAVY.filter((name) => packages.has(name))).toEqual([]);
      // commander and the platforms' configuration schemas (zod) are all it needs from node_modules.
      expect([...packages].sort()).toEqual(["commander", "zod"]);
      expect(urls.filter((u) => u.includes("/src/health/") || u.includes("/src/db/database.ts"))).toEqual([]);
    },
  );
});
