import type { Reporter, TestModule } from "vitest/node";

/** Ends the run with one plain line, `N passed, N failed[, N skipped]`, that any CI log reader understands. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const m of testModules) for (const t of m.children.allTests()) counts[t.result().state] += 1;
    const skipped = counts.skipped ? `, ${counts.skipped} skipped` : "";
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed${skipped}\n`);
  }
}
