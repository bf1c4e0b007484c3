// The fake Graph API (graph-load-server.ts) in a thread of its own, for whatever measures when
// calls arrive: the outbound bench, and tests of the rate limits. Hosted on the sender's event
// loop, it stamped calls when that loop got round to them: a process busy with its own work
// (polling Postgres, a GC pause, a loaded machine) let calls that had arrived over a stretch be
// stamped at once, and a sliding second then counted calls that had not arrived in one. Its own
// thread reads the socket as the bytes come, and stamps each call with the monotonic clock at its
// first byte.
import { getPriority, setPriority } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import { type Fault, type LoadCall, maxInWindow, startGraphLoadServer } from "./graph-load-server.ts";

export type ThreadCall = Pick<LoadCall, "account" | "cls" | "at" | "outcome" | "fault">;

export interface GraphLoadThread {
  url: string;
  /** Every call so far, stamped on the thread's clock (only differences between them mean anything). */
  calls(): Promise<ThreadCall[]>;
  /** Queues a fault, as graph-load-server.ts's `fault`. */
  fault(f: Fault): Promise<void>;
  /** How late the fake's own event loop ran (ms): what its stamps may be late by, beyond the
   * kernel's and the socket's time. Its longest stall, and the 99th percentile. */
  stalls(): Promise<{ maxMs: number; p99Ms: number }>;
  /** Most calls of `account` in class `cls` inside any window of `windowMs`. */
  maxInWindow(account: string, cls: LoadCall["cls"], windowMs: number): Promise<number>;
  close(): Promise<void>;
}

type Request = { kind: "calls" } | { kind: "fault"; fault: Fault } | { kind: "stalls" } | { kind: "close" };
type Reply =
  | { kind: "url"; url: string }
  | { kind: "calls"; calls: ThreadCall[] }
  | { kind: "stalls"; maxMs: number; p99Ms: number }
  | { kind: "fault" }
  | { kind: "closed" };

/** The nice value the fake's thread asks for: Instagram's clock does not slow down when this
 * machine is busy, and a thread scheduled late stamps the calls that came meanwhile together. */
const FAKE_NICE = -10;

export async function startGraphLoadThread(): Promise<GraphLoadThread> {
  // A new thread inherits its creator's nice value (Linux keeps one per thread): raised for the
  // moment the fake's thread is created, then this thread's own is put back. Where that is not
  // allowed (not root, another OS) the fake runs at the usual priority, and says its stalls.
  const own = getPriority();
  let raised = false;
  try {
    setPriority(FAKE_NICE);
    raised = true;
  } catch {
    // Not permitted: the usual priority.
  }
  const worker = new Worker(new URL(import.meta.url));
  if (raised) setPriority(own);
  const next = (kind: Reply["kind"]): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: Reply): void => {
        if (m.kind !== kind) return;
        worker.off("message", onMessage);
        worker.off("error", reject);
        resolve(m);
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
    });
  const ask = async (request: Request, answer: Reply["kind"]): Promise<Reply> => {
    const reply = next(answer);
    worker.postMessage(request);
    return reply;
  };
  const { url } = (await next("url")) as { url: string };
  const calls = async () => ((await ask({ kind: "calls" }, "calls")) as { calls: ThreadCall[] }).calls;
  return {
    url,
    calls,
    async fault(fault) {
      await ask({ kind: "fault", fault }, "fault");
    },
    async stalls() {
      const r = (await ask({ kind: "stalls" }, "stalls")) as { maxMs: number; p99Ms: number };
      return { maxMs: r.maxMs, p99Ms: r.p99Ms };
    },
    async maxInWindow(account, cls, windowMs) {
      const times = (await calls()).filter((c) => c.account === account && c.cls === cls).map((c) => c.at);
      return maxInWindow(times, windowMs);
    },
    async close() {
      await ask({ kind: "close" }, "closed");
      await worker.terminate();
    },
  };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const graph = await startGraphLoadServer();
  // Timer lateness at 1 ms resolution: a stall of the thread shows as a late timer.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  port.on("message", async (m: Request) => {
    if (m.kind === "stalls")
      port.postMessage({
        kind: "stalls",
        maxMs: delay.max / 1e6,
        p99Ms: delay.percentile(99) / 1e6,
      } satisfies Reply);
    if (m.kind === "calls")
      port.postMessage({
        kind: "calls",
        calls: graph.calls.map((c) => ({
          account: c.account,
          cls: c.cls,
          at: c.at,
          outcome: c.outcome,
          fault: c.fault,
        })),
      } satisfies Reply);
    if (m.kind === "fault") {
      graph.fault(m.fault);
      port.postMessage({ kind: "fault" } satisfies Reply);
    }
    if (m.kind === "close") {
      delay.disable();
      await graph.close();
      port.postMessage({ kind: "closed" } satisfies Reply);
    }
  });
  port.postMessage({ kind: "url", url: graph.url } satisfies Reply);
}
