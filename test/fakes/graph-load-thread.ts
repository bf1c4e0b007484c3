// The fake Graph API (graph-load-server.ts) in a thread of its own, for whatever measures when
// calls arrive: the outbound bench, and tests of the rate limits. Hosted on the sender's event
// loop, it stamped calls when that loop got round to them: a process busy with its own work
// (polling Postgres, a GC pause, a loaded machine) let calls that had arrived over a stretch be
// stamped at once, and a sliding second then counted calls that had not arrived in one. Its own
// thread reads the socket as the bytes come, and stamps each call with the monotonic clock at its
// first byte.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import { type Fault, type LoadCall, maxInWindow, startGraphLoadServer } from "./graph-load-server.ts";

export type ThreadCall = Pick<
  LoadCall,
  "seq" | "account" | "cls" | "at" | "outcome" | "fault" | "recipient" | "text" | "messageId"
>;

export interface GraphLoadThread {
  url: string;
  /** Every call so far, stamped on the thread's clock (only differences between them mean anything). */
  calls(): Promise<ThreadCall[]>;
  /** Queues a fault, as graph-load-server.ts's `fault`. */
  fault(f: Fault): Promise<void>;
  /** How late the fake's own event loop ran (ms): what its stamps may be late by, beyond the
   * kernel's and the socket's time. Its longest stall, and the 99th percentile; `realtime` when
   * its thread runs at a real-time priority (REALTIME below). */
  stalls(): Promise<{ maxMs: number; p99Ms: number; realtime: boolean }>;
  /** Most calls of `account` in class `cls` inside any window of `windowMs`. */
  maxInWindow(account: string, cls: LoadCall["cls"], windowMs: number): Promise<number>;
  /** The most calls a sender limited to L per second with `guardMs` (its departure log: no L + 1
   * calls leave within 1 s + guard) can have sent in any second, as far as this fake can tell: its
   * stamps are late by at most its longest stall, so calls stamped within W left within W + stall,
   * and the count is taken over W = 1 s + guard − stall, at most 1 s. */
  maxInSecond(
    account: string,
    cls: LoadCall["cls"],
    guardMs: number,
  ): Promise<{ max: number; windowMs: number; stallMs: number }>;
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

/** The name of the fake's thread (its `comm` in /proc), by which it is given a real-time priority. */
const THREAD_NAME = "graph-fake";

/**
 * REALTIME: where allowed (root on Linux, with `chrt`), the fake's thread is scheduled SCHED_FIFO.
 * A nice value is weighed only among the processes of one session when the kernel groups them
 * (sched_autogroup, on by default): beside other sessions' work it bought nothing, and at a load
 * of 20 on 2 cores the fake stalled 160–760 ms and counted 111 calls in a sliding second where a
 * capture of the loopback with the kernel's own timestamps saw at most 93. A real-time thread
 * runs as soon as its socket is readable; the kernel keeps 5 % of each second for the others
 * whatever it does, and the fake does little. The benches ask for it; the tests do not: beside
 * sender threads in the same process (test/ratelimit/departures.test.ts) it slowed them at a load
 * of 20 (19–23 calls sent in 5 s where 31 are expected; passing without it).
 */
function makeRealtime(): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  try {
    const tids = readdirSync("/proc/self/task").filter(
      (t) => readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim() === THREAD_NAME,
    );
    for (const tid of tids) execFileSync("chrt", ["-f", "-p", "10", tid], { stdio: "ignore" });
    return tids.length > 0;
  } catch {
    return false;
  }
}

export async function startGraphLoadThread(options: { realtime?: boolean } = {}): Promise<GraphLoadThread> {
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
  const worker = new Worker(new URL(import.meta.url), { name: THREAD_NAME });
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
  const realtime = options.realtime === true && makeRealtime();
  const calls = async () => ((await ask({ kind: "calls" }, "calls")) as { calls: ThreadCall[] }).calls;
  const mostInWindow = async (account: string, cls: LoadCall["cls"], windowMs: number) => {
    const times = (await calls()).filter((c) => c.account === account && c.cls === cls).map((c) => c.at);
    return maxInWindow(times, windowMs);
  };
  return {
    url,
    calls,
    async fault(fault) {
      await ask({ kind: "fault", fault }, "fault");
    },
    async stalls() {
      const r = (await ask({ kind: "stalls" }, "stalls")) as { maxMs: number; p99Ms: number };
      return { maxMs: r.maxMs, p99Ms: r.p99Ms, realtime };
    },
    maxInWindow: mostInWindow,
    async maxInSecond(account, cls, guardMs) {
      const { maxMs } = (await ask({ kind: "stalls" }, "stalls")) as { maxMs: number };
      const windowMs = Math.min(1000, 1000 + guardMs - Math.ceil(maxMs));
      return { max: await mostInWindow(account, cls, windowMs), windowMs, stallMs: maxMs };
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
          seq: c.seq,
          account: c.account,
          cls: c.cls,
          at: c.at,
          outcome: c.outcome,
          fault: c.fault,
          recipient: c.recipient,
          text: c.text,
          messageId: c.messageId,
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
