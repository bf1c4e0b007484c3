// The capacity goal's CPU budget (issue 23; bench/README.md, "Mirror capacity, eighteenth pass"):
// what the goal's rate leaves each event on this machine's cores, beside what a run spent.

/** Issue 23's goal: one worker's capacity at least this share of the single-row inserts. */
export const GOAL_OF_INSERTS = 0.1;

/** CPU per event (ms) of a drain, as the capacity bench measures it (its `CpuPerEvent`): the
 * workers, the web process, the Postgres backends, and the bench's own sender and fakes. Stated
 * here so that the capacity bench imports this module and not the other way round. */
export interface DrainCpu {
  workers: number;
  web: number;
  postgres: number;
  driver: number;
}

export interface GoalBudget {
  /** The goal's rate (events/s). */
  goal: number;
  cores: number;
  /** CPU per event the cores allow at the goal's rate, with the cores full (ms). */
  budgetMs: number;
  /** What the drain spent per event across every process (ms). */
  spentMs: number;
  /** Of it, the web process's and the bench's own sender's and fakes' (ms). */
  besideMs: number;
  /** The budget less `besideMs`: what the worker and Postgres may spend (ms; ≤ 0 when nothing). */
  leftMs: number;
  /** What the worker and Postgres spent (ms). */
  workerAndPostgresMs: number;
}

/** What the capacity goal leaves each event, beside what a drain spent: at `goal` events/s the
 * machine's `cores` allow cores × 1,000 / goal ms of CPU per event across every process, and only
 * with the cores full (no room left for the latency bound). The drain is the cheapest regime the
 * bench measures (a backlog: each fetch, statement and wake-up shared among events), so a steady
 * rate at the goal costs at least its figures. The web process and the bench's own sender and
 * fakes are set apart: the worker and Postgres (both roles' statements) get what they leave. */
export function goalBudget(goal: number, cores: number, drain: DrainCpu): GoalBudget {
  const budgetMs = (cores * 1000) / goal;
  const spentMs = drain.workers + drain.web + drain.postgres + drain.driver;
  const besideMs = drain.web + drain.driver;
  return {
    goal,
    cores,
    budgetMs,
    spentMs,
    besideMs,
    leftMs: budgetMs - besideMs,
    workerAndPostgresMs: drain.workers + drain.postgres,
  };
}

/** goalBudget in a sentence. */
export function goalBudgetLine(b: GoalBudget): string {
  const ms = (x: number) => x.toFixed(2);
  const times = (x: number, of: number) => `${(x / of).toFixed(1)}×`;
  const left =
    b.leftMs > 0
      ? `leaving ${ms(b.leftMs)} for the worker and Postgres, which spent ${ms(b.workerAndPostgresMs)} (${times(b.workerAndPostgresMs, b.leftMs)})`
      : `more than the whole budget before the worker and Postgres, which spent ${ms(b.workerAndPostgresMs)}`;
  return `at the goal (${b.goal.toFixed(0)} events/s) the ${b.cores} cores allow ${ms(b.budgetMs)} ms of CPU per event across every process, with the cores full; the 1-worker drain spent ${ms(b.spentMs)} (${times(b.spentMs, b.budgetMs)} that): the web process and the bench's own sender and fakes ${ms(b.besideMs)}, ${left}`;
}
