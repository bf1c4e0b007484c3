// Start-up and memory of the processes an operator runs, each beside a bare `node` measured in the
// same run (called from bench/run.ts): the CLI's `--help` and read-only database commands on a
// migrated database against `node -e ''`, the embedded `npm start` until /healthz answers, and
// resident memory of an idle `node` for the memory table.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchRow } from "./bench-row.ts";
import { ROOT, rssMiB } from "./processes.ts";
import { scaled } from "./quick.ts";

const RUNS = scaled(7, 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Wall time (ms) of one process from spawn to exit; rejects on a non-zero exit. */
function timed(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: "ignore",
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(" ")} exited ${code}`)),
    );
  });
}

/** Median wall time of `args` and of `node -e ''`, run in turn (A B A B …) after one warm-up each. */
async function beside(args: string[], env: Record<string, string>): Promise<{ ms: number; bare: number }> {
  await timed(args, env);
  await timed(["-e", ""], {});
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(await timed(args, env));
    b.push(await timed(["-e", ""], {}));
  }
  return { ms: median(a), bare: median(b) };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

/** `npm start`'s command on the embedded database: ms until /healthz answers 200, and the RSS (MiB)
 * after `settleMs` more. */
async function embeddedStart(dataDir: string, settleMs: number): Promise<{ ms: number; rss: number }> {
  const port = await freePort();
  const env: Record<string, string> = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    NODE_ENV: "production",
  } as Record<string, string>;
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const t0 = performance.now();
  const child = spawn(process.execPath, ["--liftoff-only", "bin/threadbridge.js", "start"], {
    cwd: ROOT,
    env,
    stdio: "ignore",
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`embedded start exited ${child.exitCode}`);
      if (performance.now() - t0 > 180_000) throw new Error("embedded start: no /healthz within 180 s");
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await sleep(20);
    }
    const ms = performance.now() - t0;
    await sleep(settleMs);
    return { ms, rss: rssMiB(child.pid as number) };
  } finally {
    await stop(child);
  }
}

/** RSS (MiB) of an idle bare node process after `settleMs`. */
export async function bareNodeRss(settleMs: number): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e9)"], { stdio: "ignore" });
  await sleep(settleMs);
  const rss = rssMiB(child.pid as number);
  await stop(child);
  return rss;
}

export async function startupBench(
  dbUrl: string,
  env: Record<string, string>,
): Promise<{ rows: BenchRow[]; notes: string[]; embeddedRss: number }> {
  const withDb = { ...env, DATABASE_URL: dbUrl, LOG_LEVEL: "warn" };
  const commands: Array<{ label: string; args: string[]; target: string }> = [
    { label: "`threadbridge --help`", args: ["--help"], target: "≤ 400 ms" },
    {
      label: "`threadbridge accounts list` (migrated Postgres)",
      args: ["accounts", "list"],
      target: "≤ 1,000 ms",
    },
    { label: "`threadbridge dlq list` (migrated Postgres)", args: ["dlq", "list"], target: "≤ 1,000 ms" },
    { label: "`threadbridge audit` (migrated Postgres)", args: ["audit"], target: "≤ 1,000 ms" },
    { label: "`threadbridge status` (migrated Postgres)", args: ["status"], target: "≤ 1,000 ms" },
  ];
  const rows: BenchRow[] = [];
  for (const c of commands) {
    const r = await beside(["bin/threadbridge.js", ...c.args], withDb);
    rows.push({
      scenario: `${c.label}, wall time (ms), median of ${RUNS}`,
      target: c.target,
      threadbridge: r.ms.toFixed(0),
      baseline: r.bare.toFixed(0),
      ratio: (r.ms / r.bare).toFixed(1),
    });
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), "threadbridge-bench-embedded-"));
  try {
    // The first start creates and migrates the embedded database; the measured ones find it migrated.
    await embeddedStart(dataDir, 0);
    const starts: Array<{ ms: number; rss: number }> = [];
    const bare: number[] = [];
    for (let i = 0; i < scaled(3, 1); i++) {
      starts.push(await embeddedStart(dataDir, scaled(10_000, 3_000)));
      bare.push(await timed(["-e", ""], {}));
    }
    const ms = median(starts.map((s) => s.ms));
    const bareMs = median(bare);
    rows.push({
      scenario:
        "embedded `npm start` (node --liftoff-only bin/threadbridge.js start), migrated: until /healthz answers 200 (ms)",
      target: "≤ 3,000 ms",
      threadbridge: ms.toFixed(0),
      baseline: bareMs.toFixed(0),
      ratio: (ms / bareMs).toFixed(1),
    });
    return {
      rows,
      notes: [
        "Baseline = `node -e ''` run in turn with each command (A B A B …), medians; every command exits 0. The read-only commands check the schema version (one query) and never migrate.",
        `Embedded starts: ${starts.map((s) => `${s.ms.toFixed(0)} ms`).join(", ")} to /healthz on a migrated PGlite database.`,
      ],
      embeddedRss: median(starts.map((s) => s.rss)),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
