/** BENCH_QUICK=1: every measurement shortened, to check the whole bench end to end in minutes.
 * Its figures are noisier and not for results.md. */
export const QUICK = process.env.BENCH_QUICK === "1";

/** The full-run value, or the quick one under BENCH_QUICK=1. */
export function scaled<T>(full: T, quick: T): T {
  return QUICK ? quick : full;
}
