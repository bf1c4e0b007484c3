// The embedded database's lock while its owner is busy: proper-lockfile takes a lock whose file has
// not been touched for 15 s as abandoned, but the owner's timer that touches it cannot run while
// PGlite.create blocks the event loop (a first initdb took 25 s on a busy machine). A command
// started then (`npm start`, then `threadbridge accounts list` in another shell) took the lock and
// opened the same files. The owner's pid now stands beside the lock.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { DatabaseLockedError, openDatabase } from "../../src/db/database.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A DATA_DIR whose lock was last touched a minute ago by the process `pid`. */
function lockedLongAgo(pid: number): string {
  const dataDir = mkdtempSync(path.join(tmpdir(), "tb-lock-"));
  dirs.push(dataDir);
  const pgdata = path.join(dataDir, "pgdata");
  mkdirSync(pgdata);
  mkdirSync(`${pgdata}.lock`);
  writeFileSync(`${pgdata}.owner`, String(pid));
  const minuteAgo = new Date(Date.now() - 60_000);
  utimesSync(`${pgdata}.lock`, minuteAgo, minuteAgo);
  return dataDir;
}

it("is not taken from an owner that still runs, however long ago it touched the lock", async () => {
  const owner = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
  try {
    const dataDir = lockedLongAgo(owner.pid as number);
    await expect(openDatabase({ kind: "embedded", dataDir }, "service")).rejects.toThrow(DatabaseLockedError);
    // A command looks for the running service instead, and finds none answering.
    await expect(openDatabase({ kind: "embedded", dataDir })).rejects.toThrow(
      /in use by another threadbridge process, and no running service answers at .*\.s\.PGSQL\.5432/,
    );
  } finally {
    owner.kill("SIGKILL");
  }
});

it("is taken over from an owner that died (proper-lockfile's stale lock)", async () => {
  const dead = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => dead.once("exit", resolve));
  const db = await openDatabase({ kind: "embedded", dataDir: lockedLongAgo(dead.pid as number) }, "service");
  try {
    expect((await db.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
  } finally {
    await db.close();
  }
});
