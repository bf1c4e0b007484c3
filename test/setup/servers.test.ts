// `npm test` on a machine where nothing answers on TEST_POSTGRES_URL / TEST_REDIS_URL: the global
// set-up starts private throwaway servers, hands their URLs on, and leaves nothing running after,
// also when the run is interrupted; without the server binaries it fails in one line.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { startTestServers, type TestServers } from "../helpers/global-setup.ts";

// Ports nothing listens on: the set-up must start its own servers.
const NOBODY = {
  TEST_POSTGRES_URL: "postgres://postgres@127.0.0.1:1/postgres",
  TEST_REDIS_URL: "redis://127.0.0.1:1",
};
const SETUP = fileURLToPath(new URL("../helpers/global-setup.ts", import.meta.url));

async function dataDirectory(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ data_directory: string }>("SHOW data_directory")).rows[0]?.data_directory ?? "";
  } finally {
    await c.end();
  }
}

/** Whether nothing listens on the URL's port any more (a stopped server, not a slow one). */
async function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

async function redisPing(url: string): Promise<string> {
  const r = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on("error", () => {});
  try {
    await r.connect();
    return await r.ping();
  } finally {
    r.disconnect();
  }
}
let servers: TestServers | undefined;
afterAll(async () => {
  await servers?.stop();
});

describe("the test servers", () => {
  it("starts a private Postgres and Redis when nothing answers, and stops them", {
    timeout: 60_000,
  }, async () => {
    servers = await startTestServers({ ...NOBODY });
    const s = servers;
    expect(s.postgresUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(s.postgresUrl).not.toBe(NOBODY.TEST_POSTGRES_URL);
    expect(s.notes).toEqual([
      expect.stringMatching(
        /^test servers: nothing answers on postgres:\/\/postgres@127\.0\.0\.1:1\/postgres: a private PostgreSQL/,
      ),
      expect.stringMatching(/^test servers: nothing answers on redis:\/\/127\.0\.0\.1:1: a private Redis/),
    ]);
    const data = await dataDirectory(s.postgresUrl);
    expect(existsSync(data)).toBe(true);
    expect(await redisPing(s.redisUrl)).toBe("PONG");

    // Servers that answer are used as they are: no third server.
    const again = await startTestServers({ TEST_POSTGRES_URL: s.postgresUrl, TEST_REDIS_URL: s.redisUrl });
    expect([again.postgresUrl, again.redisUrl, again.notes]).toEqual([s.postgresUrl, s.redisUrl, []]);

    // One that answers but refuses is a misconfiguration to report (password hidden), not to replace.
    const wrong = s.postgresUrl.replace("postgres@", "postgres:secret@").replace(/\/postgres$/, "/nodb");
    await expect(startTestServers({ TEST_POSTGRES_URL: wrong, TEST_REDIS_URL: s.redisUrl })).rejects.toThrow(
      `TEST_POSTGRES_URL ${wrong.replace(":secret@", ":***@")}: database "nodb" does not exist`,
    );

    await s.stop();
    servers = undefined;
    expect(await refused(s.postgresUrl)).toBe(true);
    expect(await refused(s.redisUrl)).toBe(true);
    expect(existsSync(data)).toBe(false);
  });

  // vitest's main process ends on SIGINT/SIGTERM with process.exit and no teardown; on SIGHUP (a
  // closed terminal) it would end without even an `exit` event.
  it.for([
    ["SIGINT", 130],
    ["SIGHUP", 129],
  ] as const)("stops them when the run ends on %s", { timeout: 60_000 }, async ([signal, code]) => {
    const script = `
      const { default: setup } = await import(${JSON.stringify(SETUP)});
      await setup();
      process.once("SIGINT", () => setTimeout(() => process.exit(130), 1));
      console.log(JSON.stringify([process.env.TEST_POSTGRES_URL, process.env.TEST_REDIS_URL]));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, ...NOBODY },
      stdio: ["ignore", "pipe", "pipe"],
    });
    onTestFinished(() => {
      if (child.exitCode === null) child.kill("SIGINT");
    });
    let out = "";
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    const exited = new Promise((r) => child.once("exit", r));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString("utf8");
        const l = out.split("\n").find((x) => x.startsWith("["));
        if (l) resolve(l);
      });
      child.once("exit", () => reject(new Error(`set-up exited: ${out}`)));
    });
    const [postgresUrl, redisUrl] = JSON.parse(line) as [string, string];
    const data = await dataDirectory(postgresUrl);
    expect(await redisPing(redisUrl)).toBe("PONG");
    child.kill(signal);
    await exited;
    expect(child.exitCode).toBe(code);
    expect(await refused(postgresUrl)).toBe(true);
    expect(await refused(redisUrl)).toBe(true);
    expect(existsSync(data)).toBe(false);
  });

  it("says in one line what to install when it needs a server and has no binaries", async () => {
    const none = { path: "/nonexistent", postgresRoots: [] };
    await expect(startTestServers({ ...NOBODY }, none)).rejects.toThrow(
      "nothing answers on postgres://postgres@127.0.0.1:1/postgres or redis://127.0.0.1:1 and initdb/pg_ctl and " +
        "redis-server are not installed to start a private one: apt-get install postgresql redis-server " +
        "(or set TEST_POSTGRES_URL and TEST_REDIS_URL to a running server)",
    );
  });
});
