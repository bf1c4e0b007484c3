// Private PostgreSQL and Redis servers on free ports in a temporary directory, thrown away after:
// `npm test` starts a pair when nothing answers on TEST_POSTGRES_URL / TEST_REDIS_URL
// (test/helpers/global-setup.ts), and the chaos run restarts its own so that it cannot disturb the
// servers other test files use. Kept free of the service's modules: vitest's main process loads it.

import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { accessSync, chmodSync, constants, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const execFileAsync = promisify(execFile);

/** What to install when a server binary is missing (Debian's package names). */
export const INSTALL_HINT = "apt-get install postgresql redis-server";

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Where to look for the server binaries; the defaults are this process's PATH and Debian's layout. */
export interface BinarySearch {
  path?: string | undefined;
  /** Directories holding one `<version>/bin` per installed PostgreSQL. */
  postgresRoots?: string[];
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pathDirs(search: BinarySearch): string[] {
  return (search.path ?? process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
}

/** The directory holding initdb and pg_ctl of one installation: PATH first (Homebrew, Fedora, a
 * source build), then /usr/lib/postgresql/<version>/bin, newest first (Debian keeps them off PATH). */
export function postgresBinDir(search: BinarySearch = {}): string | undefined {
  const versioned = (search.postgresRoots ?? ["/usr/lib/postgresql"]).flatMap((root) =>
    existsSync(root)
      ? readdirSync(root)
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => path.join(root, v, "bin"))
      : [],
  );
  return [...pathDirs(search), ...versioned].find(
    (dir) => executable(path.join(dir, "initdb")) && executable(path.join(dir, "pg_ctl")),
  );
}

export function redisServerBinary(search: BinarySearch = {}): string | undefined {
  return pathDirs(search)
    .map((dir) => path.join(dir, "redis-server"))
    .find(executable);
}

/** PostgreSQL refuses to run as root: run its binaries as `postgres` (the Debian package's user) then. */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

/** Runs a server binary without blocking this process: the chaos driver hosts the fake Graph API,
 * and a blocked event loop would timestamp the calls that queued meanwhile all at once (a restart's
 * 300 ms of `pg_ctl` once read as 11 Send API calls in a second of 10). */
async function run(bin: string, args: string[]): Promise<void> {
  const [cmd, argv] = asServerUser(bin, args);
  try {
    await execFileAsync(cmd, argv);
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${path.basename(bin)} failed: ${err.stderr?.trim() || err.message}`);
  }
}

export interface Postgres {
  url: string;
  /** A clean restart: a fast shutdown, which writes out every commit first. */
  restart(): Promise<void>;
  /** A crash and its recovery: an immediate shutdown (the server's processes gone at once, what
   * WAL they had not written yet with them, as when Postgres is killed), then a start. */
  crash(): Promise<void>;
  stop(): Promise<void>;
  /** Synchronous, for an `exit` handler: stops the server at once and removes its directory. */
  stopNow(): void;
}

/** A fresh cluster (trust auth, user `postgres`, UTF-8 like the machine's) on `port` (default: a free one). */
export async function startPostgres(port?: number, search: BinarySearch = {}): Promise<Postgres> {
  const bin = postgresBinDir(search);
  if (!bin)
    throw new Error(`no initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin (${INSTALL_HINT})`);
  const dir = mkdtempSync(path.join(tmpdir(), "threadbridge-pg-"));
  // Readable by `postgres` when we are root; the socket lives here too, not in /var/run/postgresql.
  chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  const pgCtl = path.join(bin, "pg_ctl");
  try {
    port ??= await freePort();
    await run(path.join(bin, "initdb"), [
      "-D",
      data,
      "-A",
      "trust",
      "-U",
      "postgres",
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
      "--no-sync",
    ]);
    // fsync off: durability across a machine crash is not what a throwaway server is for.
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    const ctlArgs = ["-D", data, "-l", path.join(dir, "log"), "-o", options, "-w"];
    await run(pgCtl, [...ctlArgs, "start"]);
    let stopped = false;
    const stopNow = () => {
      if (stopped) return;
      stopped = true;
      try {
        const [cmd, argv] = asServerUser(pgCtl, ["-D", data, "-w", "stop", "-m", "immediate"]);
        execFileSync(cmd, argv, { stdio: "ignore" });
      } catch {
        // Not running (any more): nothing to stop.
      } finally {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      }
    };
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async restart() {
        await run(pgCtl, [...ctlArgs, "restart", "-m", "fast"]);
      },
      async crash() {
        await run(pgCtl, [...ctlArgs, "restart", "-m", "immediate"]);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await run(pgCtl, ["-D", data, "-w", "stop", "-m", "immediate"]);
        } finally {
          rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
        }
      },
      stopNow,
    };
  } catch (e) {
    // A cluster that never started still has its directory (and, after a failed start, maybe a server).
    try {
      const [cmd, argv] = asServerUser(pgCtl, ["-D", data, "-w", "stop", "-m", "immediate"]);
      execFileSync(cmd, argv, { stdio: "ignore" });
    } catch {}
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    throw e;
  }
}

/** Starts redis-server on `port` with no persistence (a restart loses every key, as a crashed Redis
 * without AOF does) and resolves once it answers PING. */
export async function startPrivateRedis(port: number, search: BinarySearch = {}): Promise<ChildProcess> {
  const bin = redisServerBinary(search);
  if (!bin) throw new Error(`no redis-server on PATH (${INSTALL_HINT})`);
  const server = spawn(
    bin,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const collect = (d: Buffer) => {
    output = (output + d.toString("utf8")).slice(-2000);
  };
  server.stdout.on("data", collect);
  server.stderr.on("data", collect);
  const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on("error", () => {});
  try {
    for (let i = 0; i < 200; i++) {
      if (server.exitCode !== null || server.signalCode !== null)
        throw new Error(`redis-server on port ${port} exited: ${output.trim().split("\n").at(-1)}`);
      if ((await probe.ping().catch(() => undefined)) === "PONG") return server;
      await sleep(50);
    }
    server.kill("SIGKILL");
    throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
  } finally {
    probe.disconnect();
  }
}

export interface RedisServer {
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Synchronous, for an `exit` handler. */
  stopNow(): void;
}

export async function startRedis(port?: number, search: BinarySearch = {}): Promise<RedisServer> {
  const p = port ?? (await freePort());
  let child = await startPrivateRedis(p, search);
  const stop = async () => {
    const c = child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${p}`,
    async restart() {
      await stop();
      await sleep(1000);
      child = await startPrivateRedis(p, search);
    },
    stop,
    stopNow() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
