import v8 from "node:v8";
import vm from "node:vm";

// Loading the service's modules allocates fast, so V8 grows the heap's young generation to its
// maximum (two 8 MiB halves and more) during start-up and keeps it, with the start-up garbage,
// for as long as nothing allocates enough to need it: about 30 MiB of an idle process's resident
// memory (bench/README.md, Memory). One memory-reducing collection once start-up is over gives it
// back; under load V8 grows the young generation again as it needs.

type GcFunction = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

/** V8's own `gc`, reached as Node documents for `v8.setFlagsFromString`; undefined where this V8
 * refuses it. */
function v8Gc(): GcFunction | undefined {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as GcFunction) : undefined;
  } catch {
    return undefined;
  }
}

/** Collects start-up's garbage and shrinks the heap once, `afterMs` from now (the timer does not keep
 * the process alive). Returns the timer for tests. */
export function settleHeapAfterStart(afterMs = 2_000): NodeJS.Timeout {
  return setTimeout(() => {
    v8Gc()?.({ type: "major", execution: "sync", flavor: "last-resort" });
  }, afterMs).unref();
}
