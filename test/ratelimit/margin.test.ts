// The limiter's learned margin (MARGIN in src/ratelimit/limiter.ts): calls whose grant-to-answer
// delays spread widen the in-memory pacer's spacing by that spread (no Redis, or its insurance).
// With Redis there is none to share: the departure log counts calls when they left
// (test/ratelimit/departures.test.ts and stalled-process.test.ts hold it to the limit).
import { afterAll, describe, expect, it } from "vitest";
import { OutboundLimiter } from "../../src/ratelimit/limiter.ts";

const LIMIT = 5;
const GUARD = 20;
const limits = { send_text: { points: LIMIT, durationSeconds: 1 } };
const limiters: OutboundLimiter[] = [];

afterAll(() => {
  for (const l of limiters) l.dispose();
});

/** Grant times of `n` calls taken one after another on `pick(i)`. */
async function grants(n: number, pick: (i: number) => OutboundLimiter): Promise<number[]> {
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    await pick(i).waitTurn("17841400003300001", "send_text");
    at.push(performance.now());
  }
  return at;
}

/** The shortest time spanned by any LIMIT + 1 consecutive grants. */
function tightest(at: number[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i + LIMIT < at.length; i++)
    min = Math.min(min, (at[i + LIMIT] as number) - (at[i] as number));
  return min;
}

describe("the margin learned from grant-to-answer delays", () => {
  it("is the spread of the delays, in steps of 5 ms, at most 500 ms", () => {
    const l = new OutboundLimiter({ limits, guardMs: GUARD });
    limiters.push(l);
    expect(l.margin("send_text")).toBe(0);
    // A process's first delays count whole: nothing yet says what is usual.
    l.observeDelay("a", "send_text", 3);
    expect(l.margin("send_text")).toBe(5);
    for (let i = 0; i < 200; i++) l.observeDelay("a", "send_text", 10);
    expect(l.margin("send_text")).toBe(0);
    for (let i = 0; i < 10; i++) l.observeDelay("a", "send_text", 10 + 231);
    expect(l.margin("send_text")).toBe(235);
    for (let i = 0; i < 10; i++) l.observeDelay("a", "send_text", 5_000);
    expect(l.margin("send_text")).toBe(500);
  });

  it("spaces the in-memory pacer's grants by it", { timeout: 30_000 }, async () => {
    const l = new OutboundLimiter({ limits, guardMs: GUARD });
    limiters.push(l);
    for (let i = 0; i < 10; i++) l.observeDelay("a", "send_text", 300);
    const at = await grants(LIMIT * 2 + 1, () => l);
    // Without the margin any 6 grants span ≥ 1,020 ms; with it ≥ 1,320 ms.
    expect(tightest(at)).toBeGreaterThanOrEqual(1_000 + GUARD + 300 - 5);
  });
});
