import { readFileSync, statSync } from "node:fs";

// NAME_FILE for every secret NAME (CONTRACT.md): the secret is read from that file, the way Docker
// and Kubernetes mount secrets, so it need not sit in the environment (which `ps e`, crash reports
// and child processes see).

/** A secret is a line or a key, not a document: a larger file is the wrong file. */
const MAX_BYTES = 64 * 1024;

const present = (value: string | undefined): value is string => value !== undefined && value.trim() !== "";

/** "ENOENT: no such file or directory" from Node's "ENOENT: no such file or directory, open '…'". */
function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code && e.message.startsWith(e.code)
    ? (e.message.split(", ")[0] ?? e.code)
    : (e.code ?? e.message);
}

/** The content of `file` without its trailing newline, or what is wrong with it. */
function readSecret(file: string): { value: string } | { problem: string } {
  try {
    const stat = statSync(file);
    // A device (/dev/zero) would be read forever; a pipe (`<(pass show …)`) ends.
    if (!stat.isFile() && !stat.isFIFO()) return { problem: `${file} is not a file` };
    if (stat.size > MAX_BYTES) return { problem: `${file} is larger than ${MAX_BYTES / 1024} KiB` };
    const value = readFileSync(file, "utf8").replace(/[\r\n]+$/, "");
    return value.trim() === "" ? { problem: `${file} is empty` } : { value };
  } catch (err) {
    return { problem: `cannot read ${file} (${reason(err)})` };
  }
}

/**
 * `env` with each of `secrets` whose `NAME_FILE` is set read from that file (its trailing newline
 * dropped), the names read so, and one line per NAME_FILE that could not be used: both NAME and
 * NAME_FILE set, or a file that cannot be read, named with the reason and never the content.
 */
export function readSecretFiles(
  env: Readonly<Record<string, string | undefined>>,
  secrets: readonly string[],
): { env: Record<string, string | undefined>; fromFile: Set<string>; problems: string[] } {
  const out = { ...env };
  const fromFile = new Set<string>();
  const problems: string[] = [];
  for (const name of secrets) {
    const fileVariable = `${name}_FILE`;
    const file = env[fileVariable];
    if (!present(file)) continue;
    if (present(env[name])) {
      problems.push(`${fileVariable}: ${name} is set too; set only one of them`);
      continue;
    }
    const read = readSecret(file.trim());
    if ("problem" in read) problems.push(`${fileVariable}: ${read.problem}`);
    else {
      out[name] = read.value;
      fromFile.add(name);
    }
  }
  return { env: out, fromFile, problems };
}
