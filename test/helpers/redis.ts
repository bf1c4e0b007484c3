// A private redis-server for tests that kill and restart it (so the shared one is never touched):
// no persistence, so a restart loses every key, as a crashed Redis without AOF does.
import { type ChildProcess, spawn } from "node:child_process";
import { Redis } from "ioredis";
import { waitFor } from "./service.ts";

/** Starts redis-server on `port` and resolves once it answers PING. */
export async function startPrivateRedis(port: number): Promise<ChildProcess> {
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const probe = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, lazyConnect: true });
  probe.on("error", () => {});
  try {
    await waitFor(
      async () => ((await probe.ping().catch(() => undefined)) === "PONG" ? true : undefined),
      10_000,
      `redis-server on port ${port}`,
    );
  } finally {
    probe.disconnect();
  }
  return server;
}
