import { afterAll, beforeAll } from "vitest";
import { RUNS, SEED } from "./arbitraries.ts";

/** fast-check's parameters for a property: `runs` cases, replaying FUZZ_SEED (or npm test's fixed
 * seed) when there is one. */
export const fuzzParams = (runs = RUNS) => ({ numRuns: runs, ...(SEED === undefined ? {} : { seed: SEED }) });

/** What the process leaves unhandled (a rejection, an exception) while the calling file runs: its
 * last test expects the list empty. */
export function watchUnhandled(): unknown[] {
  const seen: unknown[] = [];
  const record = (reason: unknown) => seen.push(reason);
  beforeAll(() => {
    process.on("unhandledRejection", record);
    process.on("uncaughtException", record);
  });
  afterAll(() => {
    process.off("unhandledRejection", record);
    process.off("uncaughtException", record);
  });
  return seen;
}
