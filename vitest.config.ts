import { defineConfig } from "vitest/config";
import LongestFirst from "./test/helpers/sequencer.ts";

// TEST_BACKEND=embedded (npm run test:embedded): every file on PGlite, which runs on the test's own
// event loop and takes 1 to 3 s to open per process (a CLI run opens it again): the hang guards
// are wider, not the checks.
const embedded = process.env.TEST_BACKEND === "embedded";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The machine's Postgres and Redis when they answer, private throwaway ones otherwise.
    globalSetup: ["./test/helpers/global-setup.ts"],
    // A hang guard, not a speed check: CLI tests run the real command up to 26 times per file, and
    // each run costs seconds on 2 busy cores until the CLI gets fast (issue 23).
    testTimeout: embedded ? 240_000 : 90_000,
    hookTimeout: embedded ? 180_000 : 60_000,
    // Each file gets its own Postgres database and Redis key prefix, so files can run in parallel.
    // Three at a time on the 2-core machines this runs on: with two, the cores were busy 57 % of the
    // run (14 min of CPU in 12 min on 2 cores), the rest waiting on timers, child processes and
    // polls; a third file fills that wait.
    maxWorkers: 3,
    pool: "forks",
    // The three workers are kept from file to file rather than one process spawned per file: the
    // suite spent about a tenth of its time loading the same dependencies again (vitest's "import"
    // share, 11–12 % isolated against 1 %), on cores it keeps busy. Back to back on one machine, the
    // whole suite took 457 s this way and 611 s isolated (docs/testing.md). Modules, the project's
    // own included, are loaded once per worker: what one keeps at module level (a cache, a flag, a
    // patched prototype) carries over to the next file, and a `vi.mock` reaches only what is loaded
    // after it, so a test must not count on such state being fresh.
    isolate: false,
    sequence: { sequencer: LongestFirst },
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
  },
});
