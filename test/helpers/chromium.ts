// The Chromium the browser tests drive: CHROMIUM_PATH, else the system's /usr/bin/chromium, else the
// one that ships inside the @sparticuz/chromium npm package (a headless shell, installed by
// `npm ci` like any dev dependency, so no apt-get and no download at test time).

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export const SYSTEM_CHROMIUM = "/usr/bin/chromium";

/** The package's brotli'd binary (plus its SwiftShader libraries and fonts) unpacked once per
 * package version into a directory of its own, reused by later runs (about 5 s the first time). */
async function packagedChromium(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve("@sparticuz/chromium");
  const pkg = JSON.parse(readFileSync(path.join(path.dirname(entry), "..", "package.json"), "utf8")) as {
    version: string;
  };
  const dir = path.join(tmpdir(), `threadbridge-chromium-${pkg.version}`);
  const binary = path.join(dir, "chromium");
  if (existsSync(binary)) return binary;
  // The package unpacks into os.tmpdir() and takes an existing `chromium` there as done, so it
  // unpacks into a staging directory of its own (TMPDIR in a child process) that is renamed into
  // place whole: a concurrent run never sees a half-written binary.
  const staging = mkdtempSync(`${dir}.partial-`);
  try {
    await execFileAsync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { default: c } = await import(${JSON.stringify(pathToFileURL(entry).href)}); await c.executablePath();`,
      ],
      { env: { ...process.env, TMPDIR: staging } },
    );
    if (!existsSync(path.join(staging, "chromium")))
      throw new Error(`@sparticuz/chromium ${pkg.version} did not unpack a chromium binary into ${staging}`);
    try {
      renameSync(staging, dir);
    } catch (e) {
      // Another run unpacked it first: use theirs.
      if (!existsSync(binary)) throw e;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return binary;
}

/** The Chromium executable to launch; `CHROMIUM_PATH` must name an existing file when it is set. */
export async function chromiumExecutable(
  env: NodeJS.ProcessEnv = process.env,
  systemChromium: string = SYSTEM_CHROMIUM,
): Promise<string> {
  const configured = env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured))
      throw new Error(
        `CHROMIUM_PATH=${configured}: no such file (unset it to use the system's or the npm package's)`,
      );
    return configured;
  }
  if (existsSync(systemChromium)) return systemChromium;
  return packagedChromium();
}
