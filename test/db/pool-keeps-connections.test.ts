// The Postgres pool keeps the connections it opened through a lull: a new connection costs tens
// of milliseconds before its first answer (a backend forked, its catalog caches filled, the named
// statements prepared again), which a burst after a quiet spell used to wait for
// (bench/README.md, "Mirror capacity, tenth pass").

import { expect, it } from "vitest";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { useMigratedDatabase } from "../helpers/migrated-database.ts";

needsDatabaseServer("the Postgres pool's connections, by their server process ids");

const store = useMigratedDatabase({ poolSize: 3 });

/** The server processes of three statements run at once, each holding its connection a moment. */
async function backends(): Promise<number[]> {
  const answers = await Promise.all(
    [1, 2, 3].map(() => store.db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid, pg_sleep(0.1)")),
  );
  return answers.map((a) => Number(a.rows[0]?.pid)).sort((x, y) => x - y);
}

it("keeps its connections open through a quiet spell longer than node-postgres's idle timeout", {
  timeout: 30_000,
}, async () => {
  const before = await backends();
  expect(new Set(before).size).toBe(3);
  // node-postgres closes a client idle for 10 s unless told otherwise.
  await new Promise((resolve) => setTimeout(resolve, 10_600));
  expect(await backends()).toEqual(before);
});
