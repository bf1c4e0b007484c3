import { readFileSync } from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";
import { ConfigError } from "./env-schema.ts";

// `.env` in the working directory, read by every CLI command before the configuration (issue 19):
// Node's own parser (`util.parseEnv`, the syntax of `node --env-file`), so no dotenv. Only the CLI
// entry reads it; tests and the service harness pass their environment explicitly.

export interface EnvFile {
  /** Absolute path of the file read. */
  path: string;
  /** The variables it set. */
  loaded: string[];
  /** The variables it holds that the environment already had: the environment's own won. */
  kept: string[];
}

/**
 * Reads `file` into `env`, leaving every variable `env` already has alone (even an empty one: an
 * explicit `NAME=` in the environment is a decision). Undefined when there is no such file; a
 * ConfigError naming the file and the reason when it exists but cannot be read.
 */
export function loadEnvFile(file: string, env: NodeJS.ProcessEnv): EnvFile | undefined {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new ConfigError(`${absolute}: cannot be read (${code ?? (err as Error).message})`);
  }
  const loaded: string[] = [];
  const kept: string[] = [];
  // parseEnv's order is not the file's: sorted, the start-up line reads the same every time.
  for (const [name, value] of Object.entries(parseEnv(text)).sort(([a], [b]) => a.localeCompare(b))) {
    if (env[name] !== undefined) kept.push(name);
    else {
      env[name] = value;
      loaded.push(name);
    }
  }
  return { path: absolute, loaded, kept };
}

/** The start-up line saying what came from the file. */
export function describeEnvFile(file: EnvFile): string {
  const n = file.loaded.length;
  return `environment: ${n} variable${n === 1 ? "" : "s"} from ${file.path}${file.kept.length ? ` (${file.kept.join(", ")} already set, kept)` : ""}`;
}
