// The fake Graph API of the outbound bench in a thread of its own. Hosted on the bench driver's
// event loop, it stamped calls when that loop got round to them: a driver busy with its own work
// (polling Postgres, a GC pause) let calls that had arrived over a stretch be stamped at once,
// and a sliding second then counted calls that had not arrived in one. Its own thread reads the
// socket as the bytes come, and stamps each call with the monotonic clock at its first byte.
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import { type LoadCall, startGraphLoadServer } from "../test/fakes/graph-load-server.ts";

export type ThreadCall = Pick<LoadCall, "account" | "cls" | "at" | "outcome">;

export interface GraphLoadThread {
  url: string;
  /** Every call so far, stamped on the thread's clock (only differences between them mean anything). */
  calls(): Promise<ThreadCall[]>;
  close(): Promise<void>;
}

type Reply = { kind: "url"; url: string } | { kind: "calls"; calls: ThreadCall[] } | { kind: "closed" };

export async function startGraphLoadThread(): Promise<GraphLoadThread> {
  const worker = new Worker(new URL(import.meta.url));
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
  const { url } = (await next("url")) as { url: string };
  return {
    url,
    async calls() {
      const reply = next("calls");
      worker.postMessage("calls");
      return ((await reply) as { calls: ThreadCall[] }).calls;
    },
    async close() {
      const reply = next("closed");
      worker.postMessage("close");
      await reply;
      await worker.terminate();
    },
  };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const graph = await startGraphLoadServer();
  port.on("message", async (m: string) => {
    if (m === "calls")
      port.postMessage({
        kind: "calls",
        calls: graph.calls.map((c) => ({ account: c.account, cls: c.cls, at: c.at, outcome: c.outcome })),
      });
    if (m === "close") {
      await graph.close();
      port.postMessage({ kind: "closed" });
    }
  });
  port.postMessage({ kind: "url", url: graph.url });
}
