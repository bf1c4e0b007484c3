// Who a new conversation goes to: round robin or fewest open, skipping agents away or at the cap.

import { describe, expect, it } from "vitest";
import { ownershipSettings, pickAgent, windowLeft } from "../../src/conversations/ownership.ts";

const ana = { id: "U1", name: "Ana" };
const bea = { id: "U2", name: "Bea" };
const cai = { id: "U3", name: "Cai" };
const pool = [cai, ana, bea];
const none = { away: new Set<string>(), open: new Map<string, number>() };

describe("pickAgent", () => {
  it("takes turns in the order of ids, after the one assigned last, wrapping around", () => {
    const turns: string[] = [];
    let last: string | undefined;
    for (let i = 0; i < 4; i++) {
      const chosen = pickAgent(pool, { mode: "round-robin", ...none, ...(last ? { last } : {}) });
      turns.push(chosen?.name ?? "-");
      last = chosen?.id;
    }
    expect(turns).toEqual(["Ana", "Bea", "Cai", "Ana"]);
  });

  it("goes on after the last one even when they have left the pool", () => {
    expect(pickAgent([ana, cai], { mode: "round-robin", ...none, last: "U2" })?.name).toBe("Cai");
  });

  it("skips agents who are away and those at the cap", () => {
    const open = new Map([["U2", 3]]);
    expect(
      pickAgent(pool, { mode: "round-robin", away: new Set(["U3"]), open, cap: 3, last: "U1" })?.name,
    ).toBe("Ana");
    expect(
      pickAgent(pool, { mode: "round-robin", away: new Set(["U1", "U3"]), open, cap: 3 }),
    ).toBeUndefined();
  });

  it("gives fewest open to the least loaded, ties in turn", () => {
    const open = new Map([
      ["U1", 2],
      ["U2", 1],
      ["U3", 1],
    ]);
    expect(pickAgent(pool, { mode: "fewest-open", away: new Set(), open })?.name).toBe("Bea");
    expect(pickAgent(pool, { mode: "fewest-open", away: new Set(), open, last: "U2" })?.name).toBe("Cai");
    expect(
      pickAgent(pool, { mode: "fewest-open", away: new Set(["U2", "U3"]), open, cap: 2 }),
    ).toBeUndefined();
  });

  it("assigns nobody from an empty pool, and counts a member listed twice once", () => {
    expect(pickAgent([], { mode: "round-robin", ...none })).toBeUndefined();
    expect(pickAgent([ana, ana], { mode: "round-robin", ...none, last: "U1" })?.name).toBe("Ana");
  });
});

describe("ownershipSettings", () => {
  it("is off unless the account's settings say otherwise, and drops what is malformed", () => {
    expect(ownershipSettings({})).toEqual({ mode: "off" });
    expect(ownershipSettings({ ownership: { mode: "round-robin", pool: "S1", cap: 5 } })).toEqual({
      mode: "round-robin",
      pool: "S1",
      cap: 5,
    });
    expect(ownershipSettings({ ownership: { mode: "lottery", pool: "", cap: -1 } })).toEqual({ mode: "off" });
  });
});

describe("windowLeft", () => {
  const now = new Date(Date.UTC(2026, 11, 4, 12, 0));
  it("says how long is left to answer, in the largest two units", () => {
    expect(windowLeft({ kind: "open", until: new Date(now.getTime() + (5 * 60 + 20) * 60_000) }, now)).toBe(
      "5h 20m left",
    );
    expect(windowLeft({ kind: "human_agent", until: new Date(now.getTime() + 50 * 3_600_000) }, now)).toBe(
      "2d 2h left for a human reply",
    );
    expect(windowLeft({ kind: "closed" }, now)).toBe("window closed");
    expect(windowLeft({ kind: "none" }, now)).toBe("no message from the customer yet");
  });
});
