import { expect, it } from "vitest";
import { goalBudget, goalBudgetLine } from "../../bench/goal-budget.ts";

const drain = { workers: 1.16, web: 0.28, postgres: 1.6, driver: 0.29 };

it("sets what the goal's rate allows per event beside what the drain spent", () => {
  const b = goalBudget(800, 2, drain);
  expect(b.budgetMs).toBeCloseTo(2.5);
  expect(b.spentMs).toBeCloseTo(3.33);
  expect(b.besideMs).toBeCloseTo(0.57);
  expect(b.leftMs).toBeCloseTo(1.93);
  expect(b.workerAndPostgresMs).toBeCloseTo(2.76);
  expect(goalBudgetLine(b)).toBe(
    "at the goal (800 events/s) the 2 cores allow 2.50 ms of CPU per event across every process, with the cores full; the 1-worker drain spent 3.33 (1.3× that): the web process and the bench's own sender and fakes 0.57, leaving 1.93 for the worker and Postgres, which spent 2.76 (1.4×)",
  );
});

it("says so when the web process and the bench's own take the whole budget", () => {
  const line = goalBudgetLine(goalBudget(4000, 2, drain));
  expect(line).toContain("allow 0.50 ms");
  expect(line).toContain("more than the whole budget before the worker and Postgres, which spent 2.76");
  expect(line).not.toContain("leaving");
});
