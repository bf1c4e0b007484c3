// Where a conversation stands in the queue, from its status and who spoke last.

import { describe, expect, it } from "vitest";
import { queueState } from "../../src/conversations/queue-state.ts";

const at = (minute: number) => new Date(Date.UTC(2026, 11, 4, 12, minute));

describe("queueState", () => {
  it("is new while only the customer has written", () => {
    expect(queueState({ status: "open", lastCustomerAt: at(0), lastBusinessAt: null })).toBe("new");
  });

  it("waits on us when the customer wrote after the business", () => {
    expect(queueState({ status: "open", lastCustomerAt: at(5), lastBusinessAt: at(1) })).toBe(
      "waiting_on_us",
    );
  });

  it("waits on the customer when the business spoke last, or at the same minute", () => {
    expect(queueState({ status: "open", lastCustomerAt: at(1), lastBusinessAt: at(5) })).toBe(
      "waiting_on_customer",
    );
    expect(queueState({ status: "open", lastCustomerAt: at(1), lastBusinessAt: at(1) })).toBe(
      "waiting_on_customer",
    );
  });

  it("waits on the customer when the business wrote first and the customer never did", () => {
    expect(queueState({ status: "open", lastCustomerAt: null, lastBusinessAt: at(1) })).toBe(
      "waiting_on_customer",
    );
    expect(queueState({ status: "open", lastCustomerAt: null, lastBusinessAt: null })).toBe(
      "waiting_on_customer",
    );
  });

  it("says snoozed and closed whoever spoke last: agents' actions come first", () => {
    for (const [lastCustomerAt, lastBusinessAt] of [
      [at(5), at(1)],
      [at(1), at(5)],
      [at(1), null],
    ] as const) {
      expect(queueState({ status: "snoozed", lastCustomerAt, lastBusinessAt })).toBe("snoozed");
      expect(queueState({ status: "closed", lastCustomerAt, lastBusinessAt })).toBe("closed");
    }
  });
});
