import { describe, expect, it } from "vitest";
import { afterOutsideCall, transientDatabaseError } from "../../src/db/after-outside-call.ts";

const coded = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("afterOutsideCall", () => {
  it("tells connection trouble from real errors", () => {
    for (const e of [
      coded("57P01", "terminating connection due to administrator command"),
      coded("57P03"),
      coded("08006"),
      coded("ECONNREFUSED"),
      new Error("Connection terminated unexpectedly"),
    ])
      expect(transientDatabaseError(e), e.message).toBe(true);
    for (const e of [coded("23505", "duplicate key"), coded("42P01"), new Error("bug"), "text"])
      expect(transientDatabaseError(e)).toBe(false);
  });

  it("retries a write through a restart, and fails a real error at once", async () => {
    let calls = 0;
    await expect(
      afterOutsideCall(async () => {
        calls++;
        if (calls < 3) throw coded("57P01");
        return "stored";
      }),
    ).resolves.toBe("stored");
    expect(calls).toBe(3);
    let bad = 0;
    await expect(
      afterOutsideCall(async () => {
        bad++;
        throw coded("23505", "duplicate key");
      }),
    ).rejects.toThrow("duplicate key");
    expect(bad).toBe(1);
  });
});
