// Shared set-up for the outbound tests (and the outbound bench): accounts with sealed tokens,
// conversations whose 24-hour window is open, queued messages, and real `threadbridge worker`
// processes started under the pinned Node.

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { PgBoss } from "pg-boss";
import type { Database } from "../../src/db/database.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { GraphClient, type GraphClientOptions } from "../../src/instagram/graph-client.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { createLogger, type Logger } from "../../src/log/logger.ts";
import type { Metrics } from "../../src/observability/metrics.ts";
import { queueMessage } from "../../src/outbound/compose.ts";
import { InstagramGateway } from "../../src/outbound/instagram-gateway.ts";
import type { SenderDeps } from "../../src/outbound/send-worker.ts";
import type { ApiClass, ClassLimit } from "../../src/ratelimit/classes.ts";
import { OutboundLimiter } from "../../src/ratelimit/limiter.ts";
import type { Service } from "../../src/service.ts";
import { type GraphLoadServer, startGraphLoadServer } from "../fakes/graph-load-server.ts";
import { type GraphLoadThread, startGraphLoadThread } from "../fakes/graph-load-thread.ts";
import { CLI_CWD } from "../helpers/cli.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";

export { freePort } from "../helpers/servers.ts";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

export const TOKEN_PREFIX = "IGAAtest-token-";

/** Connects `id` (status active, sealed token `TOKEN_PREFIX + id`). */
export async function seedAccount(db: Database, keys: string, id: string): Promise<void> {
  await addAccount(db, TokenCipher.fromConfig(keys), {
    igUserId: id,
    username: `shop_${id.slice(-4)}`,
    token: `${TOKEN_PREFIX}${id}`,
    chat: { platform: "slack", channel: `C${id.slice(-6)}` },
  });
}

export interface GraphHarness {
  graph: GraphLoadServer;
  t: TestEnv;
  /** Started without web or worker roles: the test drives the outbound parts itself. */
  svc: Service;
  stop(): Promise<void>;
}

/** A Graph fake and a service on a database of its own, with `accounts` connected. */
export async function startGraphHarness(accounts: string[] = []): Promise<GraphHarness> {
  const graph = await startGraphLoadServer();
  const t = await testEnv(TEST_BACKEND);
  const svc = await startTestService(t, { web: false, worker: false });
  for (const id of accounts) await seedAccount(svc.db, t.env.TOKEN_ENCRYPTION_KEY as string, id);
  return {
    graph,
    t,
    svc,
    async stop() {
      await svc.stop();
      await graph.close();
      await t.cleanup();
    },
  };
}

/** A conversation whose customer last wrote `ageMs` ago (default: 1 h, so RESPONSE is allowed). */
export async function openConversation(
  db: Database,
  account: string,
  customer: string,
  ageMs = 3_600_000,
): Promise<void> {
  await db.query(
    `INSERT INTO conversations (account_id, customer_id, last_customer_message_at)
     VALUES ($1, $2, now() - make_interval(secs => $3::float8 / 1000))
     ON CONFLICT (account_id, customer_id) DO UPDATE SET last_customer_message_at = EXCLUDED.last_customer_message_at`,
    [account, customer, ageMs],
  );
}

/** The text of message `n` to `customer`: unique, and it says where it belongs and its place. */
export function loadText(account: string, customer: string, n: number): string {
  return `load a=${account} c=${customer} n=${n}`;
}

export function parseLoadText(
  text: string | undefined,
): { account: string; customer: string; n: number } | undefined {
  const m = /^load a=(\S+) c=(\S+) n=(\d+)$/.exec(text ?? "");
  return m ? { account: m[1] as string, customer: m[2] as string, n: Number(m[3]) } : undefined;
}

export interface LoadPlan {
  account: string;
  customers: string[];
  perCustomer: number;
}

/** Opens the plan's conversations and queues its messages, each conversation's in order
 * (conversations in parallel). Returns the message ids. */
export async function queueLoad(db: Database, boss: PgBoss, plans: LoadPlan[]): Promise<number[]> {
  const ids: number[] = [];
  const lanes = plans.flatMap((p) =>
    p.customers.map((customer) => ({ account: p.account, customer, count: p.perCustomer })),
  );
  for (const l of lanes) await openConversation(db, l.account, l.customer);
  const run = async (lane: (typeof lanes)[number]) => {
    for (let n = 0; n < lane.count; n++)
      ids.push(
        await queueMessage(db, boss, {
          accountId: lane.account,
          customerId: lane.customer,
          text: loadText(lane.account, lane.customer, n),
          author: { kind: "agent", id: "U0LOAD", name: "Load" },
        }),
      );
  };
  // At most 16 transactions at a time; the pool is not larger than that.
  for (let i = 0; i < lanes.length; i += 16) await Promise.all(lanes.slice(i, i + 16).map(run));
  return ids;
}

export async function countByState(db: Database): Promise<Record<string, number>> {
  const { rows } = await db.query<{ delivery_state: string; n: number }>(
    "SELECT delivery_state, count(*)::int AS n FROM messages WHERE direction = 'outbound' GROUP BY 1",
  );
  return Object.fromEntries(rows.map((r) => [r.delivery_state, r.n]));
}

export interface WorkerProcess {
  child: ChildProcess;
  /** stderr (and stdout) collected, for failure messages. */
  output: () => string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `threadbridge worker` in its own process under this Node (the pinned Node 24). */
export function startWorker(env: Record<string, string>): WorkerProcess {
  return startRole(env, "worker");
}

/** Starts `threadbridge <role>` (start, web, worker, migrate) in its own process under this Node. */
export function startRole(
  env: Record<string, string>,
  role: "start" | "web" | "worker" | "migrate",
): WorkerProcess {
  const child = spawn(process.execPath, [CLI, role], {
    cwd: CLI_CWD,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

export async function killWorker(w: WorkerProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill(signal);
  await w.exited;
}

/** An in-process sender's parts against a Graph fake, with short Graph backoff (1 s cap instead of
 * 30 s) so that a Meta-requested pause reaches the limiter in test time, no chat adapters, and a
 * 2 s echo grace. `database` is what the sender writes through; the gateway reads tokens from `db`. */
export function senderDeps(o: {
  db: Database;
  database?: Database;
  graphUrl: string;
  keys: string;
  log: Logger;
  metrics: Metrics;
  onTokenInvalid?: (account: string) => Promise<void>;
}): SenderDeps {
  const gateway = new InstagramGateway({
    db: o.db,
    graph: new GraphClient({ baseUrl: o.graphUrl, apiVersion: "v25.0", retryBaseMs: 20, retryCapMs: 1_000 }),
    limiter: new OutboundLimiter({ log: o.log }),
    cipher: TokenCipher.fromConfig(o.keys),
    log: o.log,
    metrics: o.metrics,
    onTokenInvalid: o.onTokenInvalid ?? (async () => {}),
  });
  return {
    db: o.database ?? o.db,
    gateway,
    adapters: new Map(),
    mirror: undefined,
    log: o.log,
    metrics: o.metrics,
    humanAgent: true,
    fileUrl: () => "https://files.example/x",
    echoGraceMs: 2_000,
  };
}

/** A service's database with `account` connected, and a Graph fake in a thread of its own that
 * counts calls on arrival (graph-load-thread.ts): on the test's event loop, a stall of the test's
 * own would stamp calls that arrived a moment apart as one. For tests of when calls arrive. */
export interface TimedGraph {
  h: GraphHarness;
  graph: GraphLoadThread;
  /** The guard of the gateways' limiters (the default's value, stated here so that a test's count
   * of a second at the fake can be narrowed by it: GraphLoadThread.maxInSecond). */
  guardMs: number;
  /** A gateway sending to the threaded fake under `limits`, with `graph`'s client options. */
  gateway(
    limits: Partial<Record<ApiClass, ClassLimit>>,
    client?: Partial<GraphClientOptions>,
  ): InstagramGateway;
  stop(): Promise<void>;
}

export async function startTimedGraph(account: string): Promise<TimedGraph> {
  const h = await startGraphHarness([account]);
  const graph = await startGraphLoadThread();
  const guardMs = 20;
  return {
    h,
    graph,
    guardMs,
    gateway(limits, client = {}) {
      const log = createLogger("silent", { pretty: false });
      return new InstagramGateway({
        db: h.svc.db,
        graph: new GraphClient({ baseUrl: graph.url, apiVersion: "v25.0", ...client }),
        limiter: new OutboundLimiter({ limits, log, guardMs }),
        cipher: TokenCipher.fromConfig(h.t.env.TOKEN_ENCRYPTION_KEY as string),
        log,
        metrics: h.svc.metrics,
      });
    },
    async stop() {
      await graph.close();
      await h.stop();
    },
  };
}
