// The short chaos run (issue 10) as part of `npm test`: web and two workers as separate processes
// on a private Postgres and Redis, 4 accounts and 100 conversations under load while every fault
// is injected once (SIGKILL of a worker, web/Redis/Postgres restarts, a Postgres crash, Slack
// 429/500, Graph rate limits, Discord 500). It exits non-zero on any loss, duplicate, reordering, thread opened twice
// or call over the limit; its own table is printed when it fails. `npm run chaos` is the full run.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it, onTestFinished } from "vitest";
import { FAULTS } from "../../bench/chaos/faults.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";

needsDatabaseServer("web and two workers as separate processes on one Postgres, restarted under load");

const RUN = fileURLToPath(new URL("../../bench/chaos/run.ts", import.meta.url));

it("keeps every message exactly once, in order and within limits under every fault", {
  // A hang guard past the run's own limits: its load, a 240 s drain and as much again for retries
  // already scheduled (bench/chaos/run.ts), so a run that fails says why in its report.
  timeout: 720_000,
}, async () => {
  const child = spawn(process.execPath, [RUN, "--short"], { stdio: ["ignore", "pipe", "pipe"] });
  // A timed-out run gets SIGTERM, on which it stops its private Postgres and Redis.
  onTestFinished(() => {
    if (child.exitCode === null) child.kill("SIGTERM");
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString("utf8");
  });
  child.stderr.on("data", (d: Buffer) => {
    output += d.toString("utf8");
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) process.stderr.write(`chaos run output:\n${output}\n`);
  expect(output).toContain("chaos: OK");
  expect(code).toBe(0);
  // Every fault of the schedule was injected at least once (the faults table's rows; whether a
  // Graph fault met a call depends on timing, so the checked table's count of them is not asserted).
  for (const fault of FAULTS)
    expect(output).toMatch(new RegExp(`^${fault.replace(/[()]/g, "\\$&")}\\s+[1-9]`, "m"));
});
