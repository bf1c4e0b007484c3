// The production install (issue 23): what `npm ci --omit=dev` of this checkout's package.json and
// package-lock.json puts on disk, as the image's dependency stage runs it (Dockerfile), beside the
// development install this checkout runs from. test/ops/image.test.ts checks that no
// development-only package is in it and that the service starts from it; this measures it.
// `node bench/install.ts` runs it alone; `npm run bench` includes it.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { BenchRow } from "./bench-row.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface InstallSize {
  packages: number;
  /** Disk usage (du), MiB. */
  mib: number;
}

/** Packages in an install (its hidden lock file) and its disk usage. */
async function measure(nodeModules: string): Promise<InstallSize> {
  const lock = JSON.parse(readFileSync(path.join(nodeModules, ".package-lock.json"), "utf8")) as {
    packages: Record<string, unknown>;
  };
  const { stdout } = await run("du", ["-sk", nodeModules]);
  return { packages: Object.keys(lock.packages).length, mib: Number(stdout.split("\t")[0]) / 1024 };
}

/** The `count` largest top-level packages of an install (scopes opened), MiB each. */
async function largest(nodeModules: string, count: number): Promise<Array<[string, number]>> {
  const names = readdirSync(nodeModules)
    .filter((n) => !n.startsWith("."))
    .flatMap((n) =>
      n.startsWith("@") ? readdirSync(path.join(nodeModules, n)).map((m) => `${n}/${m}`) : [n],
    );
  const { stdout } = await run("du", ["-sk", ...names], { cwd: nodeModules, maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .trim()
    .split("\n")
    .map((line) => {
      const [kib, name] = line.split("\t");
      return [name as string, Number(kib) / 1024] as [string, number];
    })
    .sort((a, b) => b[1] - a[1])
    .slice(0, count);
}

export async function installBench(): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), "threadbridge-install-"));
  try {
    for (const file of ["package.json", "package-lock.json"])
      cpSync(path.join(ROOT, file), path.join(dir, file));
    const started = performance.now();
    // The image's command; from npm's cache when it has the packages (as a build cache would).
    await run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], {
      cwd: dir,
      env: {
        ...process.env,
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
        npm_config_prefer_offline: "true",
      },
      timeout: 300_000,
    });
    const seconds = (performance.now() - started) / 1000;
    const production = await measure(path.join(dir, "node_modules"));
    const development = await measure(path.join(ROOT, "node_modules"));
    const top = await largest(path.join(dir, "node_modules"), 5);
    return {
      rows: [
        {
          scenario:
            "production install (`npm ci --omit=dev`), disk usage (MiB) vs. this checkout's development install",
          target: "reported",
          threadbridge: production.mib.toFixed(0),
          baseline: development.mib.toFixed(0),
          ratio: (production.mib / development.mib).toFixed(2),
        },
        {
          scenario: "production install, packages vs. the development install",
          target: "reported",
          threadbridge: String(production.packages),
          baseline: String(development.packages),
          ratio: (production.packages / development.packages).toFixed(2),
        },
      ],
      notes: [
        `The largest production packages (MiB on disk): ${top.map(([n, m]) => `${n} ${m.toFixed(1)}`).join(", ")}.`,
        `The install took ${seconds.toFixed(1)} s from npm's cache. No development-only package is in it: test/ops/image.test.ts checks that against the lock file and starts the service from it.`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, notes } = await installBench();
  for (const r of rows)
    process.stdout.write(`${r.scenario}: ${r.threadbridge} (baseline ${r.baseline}, ${r.ratio})\n`);
  for (const n of notes) process.stdout.write(`${n}\n`);
}
