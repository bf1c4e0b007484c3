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
    // Each file gets its own Postgres database and Redis key prefix, so files can run in parallel;
    // two at a time matches the 2-core machines this runs on.
    maxWorkers: 2,
    pool: "forks",
    sequence: { sequencer: LongestFirst },
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
  },
});
