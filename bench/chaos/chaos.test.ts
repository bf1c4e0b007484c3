import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

// The short chaos run (issue 10): `bench/chaos/run.ts --short` starts its own Postgres cluster
// and redis-server (restarting the shared ones would disturb the other test files), a web and two
// worker processes, and injects each fault once while 100 conversations are driven. Its exit
// status is the verdict: 0 only when every event was mirrored exactly once and in order, every
// reply sent once or failed with a reason, and no account went over its Send API limit.

const RUNNER = fileURLToPath(new URL("./run.ts", import.meta.url));

it("loses, doubles and reorders nothing while workers, web, Redis and Postgres are killed", {
  timeout: 170_000,
}, async () => {
  const child = spawn(process.execPath, [RUNNER, "--short"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    err = (err + c.toString()).slice(-4000);
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  console.log(out);
  expect(code, `${out}\n${err}`).toBe(0);
  expect(out).toContain("chaos: OK");
  // Every fault really happened once.
  for (const fault of ["SIGKILL a worker", "restart web", "restart Redis", "restart Postgres"])
    expect(out).toMatch(new RegExp(`${fault}\\s+1\\n`));
  expect(out).toMatch(/missing\s+0\n/);
  expect(out).toMatch(/duplicates\s+0\n/);
});
