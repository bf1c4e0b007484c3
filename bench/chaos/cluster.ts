// A private PostgreSQL cluster and a private redis-server for the chaos run, on free ports in a
// temp directory, so restarting them cannot disturb the machine's shared 5432/6379 (other test
// files run against those at the same time).

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../test/outbound/helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const execFileAsync = promisify(execFile);

function pgBin(name: string): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, "bin", name);
    if (existsSync(bin)) return bin;
  }
  throw new Error(`chaos: no ${name} under ${root}/*/bin (install Debian's postgresql package)`);
}

/** initdb refuses to run as root: run the server binaries as `postgres` when we are root. */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

/** Runs a server binary without blocking this process: the driver hosts the fake Graph API, and a
 * blocked event loop would timestamp the calls that queued meanwhile all at once (a restart's
 * 300 ms of `pg_ctl` once read as 11 Send API calls in a second of 10). */
async function run(bin: string, args: string[]): Promise<void> {
  const [cmd, argv] = asServerUser(bin, args);
  await execFileAsync(cmd, argv);
}

export interface Postgres {
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A fresh cluster on `port` (default: a free one). */
export async function startPostgres(port?: number): Promise<Postgres> {
  const dir = mkdtempSync(path.join(tmpdir(), "threadbridge-chaos-pg-"));
  chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  port ??= await freePort();
  await run(pgBin("initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  // fsync off: durability across a machine crash is not what this run tests, a server restart is.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const ctl = (...args: string[]) =>
    run(pgBin("pg_ctl"), ["-D", data, "-l", path.join(dir, "log"), "-o", options, "-w", ...args]);
  await ctl("start");
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    async restart() {
      await ctl("restart", "-m", "fast");
    },
    async stop() {
      try {
        await ctl("stop", "-m", "immediate");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface RedisServer {
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    // Ready when it answers; ioredis in the service reconnects by itself meanwhile.
    const { Redis } = await import("ioredis");
    const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
    probe.on("error", () => {});
    for (let i = 0; i < 100; i++) {
      if ((await probe.ping().catch(() => undefined)) === "PONG") break;
      await sleep(50);
    }
    probe.disconnect();
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await stop();
      await sleep(1000);
      await start();
    },
    stop,
  };
}
