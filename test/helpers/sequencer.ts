import { BaseSequencer, type TestSpecification } from "vitest/node";

// The files that take longest start first. Two lanes run files side by side; without a cache of
// earlier durations (a fresh clone, CI) vitest starts the largest files first, and the chaos run (a
// small file that runs for two to three minutes) came last, with the other lane idle behind it:
// about a quarter of the suite's time. Durations from full runs (docs/testing.md; the CI runs of
// 2026-12 and a loaded run of 2026-12-05, where the files that run the CLI dozens of times came
// next); the rest keep vitest's own order.
const LONGEST_FIRST = [
  "test/chaos/chaos.test.ts",
  "test/contract/timers.test.ts",
  "test/contract/bridge.test.ts",
  "test/instagram/accounts.test.ts",
  "test/cli/beside-embedded.test.ts",
  "test/cli/profile-cli.test.ts",
  "test/cli/snippets-cli.test.ts",
  "test/cli/console-users-cli.test.ts",
  "test/ops/image.test.ts",
  "test/instagram/token-refresh-service.test.ts",
  "test/demo/demo.test.ts",
  "test/cli/cli.test.ts",
  "test/worker/crash.test.ts",
  "test/db/start-waits-for-database.test.ts",
  "test/outbound/multi-process.test.ts",
];

function rank(file: TestSpecification): number {
  const i = LONGEST_FIRST.findIndex((p) => file.moduleId.endsWith(p));
  return i < 0 ? LONGEST_FIRST.length : i;
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Array.prototype.sort is stable: the files not listed keep vitest's order.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
