import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Service } from "../../src/service.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { CLI_CWD } from "../helpers/cli.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv, waitFor } from "../helpers/service.ts";
import { postWebhook } from "../helpers/webhook.ts";

needsDatabaseServer("worker processes share the database with the web process");

const ACCOUNT = "17841400000000001";
const CONVERSATIONS = 40;
const PER_CONVERSATION = 50;
const TOTAL = CONVERSATIONS * PER_CONVERSATION;
const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

let t: TestEnv;
let web: Service;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // A job whose worker vanished is handed out again after 2 s (+ a 1 s supervision pass).
  t = await testEnv(TEST_BACKEND, {
    INBOUND_EXPIRE_SECONDS: "2",
    QUEUE_SUPERVISE_SECONDS: "1",
    WORKER_CONCURRENCY: "4",
  });
  web = await startTestService(t, { worker: false });
});

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await web?.stop();
  await t?.cleanup();
});

function startWorker(): ChildProcess {
  const child = spawn(process.execPath, [CLI, "worker"], {
    cwd: CLI_CWD,
    env: { ...process.env, ...t.env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return child;
}

async function processed(): Promise<number> {
  const { rows } = await web.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM inbound_events WHERE status = 'processed'",
  );
  return (rows[0] as { n: number }).n;
}

it("loses and repeats nothing when a worker is killed mid-stream", { timeout: 120_000 }, async () => {
  const t0 = 1761287294000;
  // 200 deliveries of 10 events, each conversation's events in time order across deliveries.
  for (let round = 0; round < PER_CONVERSATION; round++) {
    for (let batch = 0; batch < CONVERSATIONS / 10; batch++) {
      const messaging = Array.from({ length: 10 }, (_, i) => {
        const c = batch * 10 + i;
        return {
          sender: { id: `6000000000000${String(c).padStart(3, "0")}` },
          recipient: { id: ACCOUNT },
          timestamp: t0 + round * 1000 + c,
          message: { mid: `mid.crash.${c}.${round}`, text: `message ${round}` },
        };
      });
      const res = await postWebhook(web.url as string, {
        object: "instagram",
        entry: [{ id: ACCOUNT, time: t0, messaging }],
      });
      expect(res.status).toBe(200);
    }
  }

  const first = startWorker();
  await waitFor(
    async () => ((await processed()) >= 50 ? true : undefined),
    60_000,
    "the first worker to get going",
  );
  first.kill("SIGKILL");
  await new Promise((resolve) => first.once("exit", resolve));
  const atKill = await processed();
  expect(atKill).toBeLessThan(TOTAL); // the kill really happened mid-stream

  startWorker();
  await waitFor(
    async () => ((await processed()) === TOTAL ? true : undefined),
    90_000,
    "every event to be processed",
  );

  // Exactly once: one message row per event, each event's handling committed once.
  const { rows: counts } = await web.db.query<{
    messages: number;
    distinct_mids: number;
    max_attempts: number;
  }>(
    `SELECT (SELECT count(*)::int FROM messages) AS messages,
            (SELECT count(DISTINCT ig_message_id)::int FROM messages) AS distinct_mids,
            (SELECT max(attempts)::int FROM inbound_events) AS max_attempts`,
  );
  expect(counts[0]).toEqual({ messages: TOTAL, distinct_mids: TOTAL, max_attempts: 1 });

  // In order per conversation, including across the crash.
  const { rows } = await web.db.query<{ thread_key: string; ids: number[] }>(
    `SELECT thread_key, array_agg(id ORDER BY processed_at, id) AS ids FROM inbound_events GROUP BY thread_key`,
  );
  expect(rows).toHaveLength(CONVERSATIONS);
  for (const r of rows) expect(r.ids).toEqual([...r.ids].sort((a, b) => a - b));
});
