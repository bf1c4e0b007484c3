import { validate, version } from "uuid";
import { expect, it } from "vitest";
import { jobId } from "../../src/ingest/job-ids.ts";

it("makes distinct UUIDv7s, each greater than the one before, across pool refills", () => {
  // More than one fill of the pool (256 ids), mostly within the same millisecond.
  const ids = Array.from({ length: 2000 }, () => jobId());
  for (const id of ids) {
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(7);
  }
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(ids);
});

it("carries the current time in its first 48 bits", () => {
  const before = Date.now();
  const id = jobId();
  const ms = Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
  // Equal to the clock, or a little ahead when a counter ran over.
  expect(ms).toBeGreaterThanOrEqual(before);
  expect(ms).toBeLessThan(Date.now() + 1000);
});
