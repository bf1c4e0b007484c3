// Service processes for the benches: started as `node src/cli.ts <role>`, their memory read from
// /proc so a figure is the process's own, not the driver's.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Starts a process and resolves once it logs the port it listens on (web, or a worker given
 * METRICS_PORT=0); the rest of its stdout is drained so it never blocks on a full pipe. `cwd`: the
 * checkout whose files `args` name (another worktree, for a before/after pair). */
export function startProcess(
  args: string[],
  env: Record<string, string>,
  options: { cwd?: string } = {},
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening (\d+)/.exec(out) ?? /"url":"http:\/\/localhost:(\d+)"/.exec(out);
      if (!m) return;
      child.stdout?.off("data", onData);
      child.stdout?.resume();
      resolve({ child, port: Number(m[1]) });
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`${args.join(" ")} exited with ${code} before listening:\n${out}`)),
    );
  });
}

/**
 * The arguments to node for a role, as the checkout at `root` deploys it: the Procfile line's node
 * flags (`web: node --max-semi-space-size=8 bin/threadbridge.js web`), so a bench measures the
 * process a deployment runs, and a base checkout's as that checkout deployed it.
 */
export function roleArgs(role: "web" | "worker", root = ROOT): string[] {
  const procfile = readFileSync(`${root.replace(/\/$/, "")}/Procfile`, "utf8");
  const line = new RegExp(`^${role}: node ((?:--\\S+ )*)bin/threadbridge\\.js ${role}$`, "m").exec(procfile);
  if (!line)
    throw new Error(
      `no ${role} line of the form "node [flags] bin/threadbridge.js ${role}" in ${root}/Procfile`,
    );
  return [...(line[1] ?? "").split(" ").filter(Boolean), "bin/threadbridge.js", role];
}

/**
 * Fills Node's compile cache for the checkout at `root` as the Docker image does at build time
 * (`bin/warm-compile-cache.js`), so a service's first start measures what a deployed first start
 * does: without it, the first start after a change loads the type stripper and keeps the cache it
 * writes, about 20 MiB more idle (bench/README.md, Memory).
 */
export function warmCompileCache(root = ROOT): void {
  execFileSync(process.execPath, ["bin/warm-compile-cache.js"], { cwd: root, stdio: "ignore" });
}

/** Resident set size of a live process in MiB (VmRSS of /proc/<pid>/status). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for process ${pid} (has it exited?)`);
  return Number(kb[1]) / 1024;
}

/** Samples the RSS of `pids` every `everyMs` until stopped; stop() gives each one's peak. */
export function watchPeakRss(pids: number[], everyMs = 200): { stop(): number[] } {
  const peaks = pids.map(() => 0);
  const sample = () => {
    pids.forEach((pid, i) => {
      try {
        peaks[i] = Math.max(peaks[i] as number, rssMiB(pid));
      } catch {
        // The process exited between samples; its peak so far stands.
      }
    });
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}

/** CPU time (user + system, seconds) a live process has used so far, from /proc/<pid>/stat: a
 * figure per event or request that a loaded machine changes far less than a rate. */
export function cpuSeconds(pid: number): number {
  const { user, system } = statTimes(`/proc/${pid}/stat`);
  return user + system;
}

/** User and system CPU seconds from a /proc stat file (a process's or a thread's). */
function statTimes(path: string): { user: number; system: number } {
  const stat = readFileSync(path, "utf8");
  // Fields after the command name (which may hold spaces), from its closing parenthesis: utime
  // and stime are the 14th and 15th fields of the line.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** CPU time (seconds) of a live process's main thread, user and system apart, and of its other
 * threads together (V8's helpers, libuv's pool), from /proc/<pid>/task: whether a cost is the
 * event loop's own work, the kernel's, or the collector's and compiler's beside it. */
export function threadCpuSeconds(pid: number): { user: number; system: number; others: number } {
  const out = { user: 0, system: 0, others: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let user: number;
    let system: number;
    try {
      ({ user, system } = statTimes(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      continue; // the thread ended since the listing
    }
    if (tid === String(pid)) {
      out.user = user;
      out.system = system;
    } else out.others += user + system;
  }
  return out;
}

/** A clean start for a run: Redis emptied (the limiter's windows and margins of an earlier run
 * would count), and the database migrated by the CLI, as a deployment does. */
export async function freshStores(redisUrl: string, env: Record<string, string>): Promise<void> {
  const flush = new Redis(redisUrl);
  await flush.flushdb();
  await flush.quit();
  execFileSync(process.execPath, ["src/cli.ts", "migrate"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: "ignore",
  });
}

/**
 * CPU time (seconds) of the local Postgres server's backends connected to `database`, by process
 * id: what a service's statements cost Postgres (the server must run on this machine). Take two
 * readings and subtract with `cpuSpent`; a backend that exits in between takes its time with it.
 */
export function postgresCpu(database: string): Map<number, number> {
  const found = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // A backend's title: "postgres: <cluster>: <user> <database> <client> <state>".
      const title = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!title.startsWith("postgres: ") || !title.split(" ").includes(database)) continue;
      found.set(Number(entry), cpuSeconds(Number(entry)));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return found;
}

/** CPU seconds spent between two `postgresCpu` readings by the backends alive at both, plus all of
 * the time of those that started in between. */
export function cpuSpent(before: Map<number, number>, after: Map<number, number>): number {
  let spent = 0;
  for (const [pid, seconds] of after) spent += seconds - (before.get(pid) ?? 0);
  return spent;
}

/**
 * Lets Postgres settle before a timed section: a CHECKPOINT writes out what the sections before
 * left dirty, then the wait lasts while autovacuum works on their tables (at most `maxMs`), so
 * neither runs inside the section. The full run's Send API figure was 0.913 of the limit where the
 * same run alone gave 0.975–0.977 (grant to departure 8.9 ms against 1.6); it came right after the
 * capacity search, whose writes Postgres may still have been flushing and vacuuming (a short search
 * before it did not lower it: not shown to be the cause, but no section should pay for another's
 * writes). Returns a note of what it waited for.
 */
export async function quiesce(url: string, maxMs = 60_000): Promise<string> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("CHECKPOINT");
    const checkpointMs = performance.now() - started;
    let vacuums = 0;
    for (;;) {
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
      );
      vacuums = rows[0]?.n ?? 0;
      if (vacuums === 0 || performance.now() - started > maxMs) break;
      await sleep(500);
    }
    const total = (performance.now() - started) / 1000;
    return `settled in ${total.toFixed(1)} s (CHECKPOINT ${(checkpointMs / 1000).toFixed(1)} s, then autovacuum${vacuums > 0 ? ` still at work on ${vacuums} table(s) after the ${maxMs / 1000} s allowed` : " done"})`;
  } finally {
    await client.end();
  }
}
