// npm run bench: every figure beside a baseline measured in the same run, on this machine.
// Servers run as their own processes; autocannon drives them from this one.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { cpus, freemem, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pg from "pg";
import { sign } from "../src/instagram/signature.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { type BenchRow, benchTable } from "./bench-row.ts";
import { digestBench } from "./digest.ts";
import { discordBench } from "./discord.ts";
import { outboundBench } from "./outbound.ts";
import { rulesBench } from "./rules.ts";
import { slackBench } from "./slack.ts";

const SECRET = "bench-app-secret-0123456789";
const ACCOUNT = "17841400000000001";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

function startProcess(
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening (\d+)/.exec(out) ?? /"url":"http:\/\/localhost:(\d+)"/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once("exit", (code) =>
      reject(new Error(`${args.join(" ")} exited with ${code} before listening:\n${out}`)),
    );
  });
}

/** Signed single-event DM webhooks, each with a fresh mid so every one is a new row. */
function webhookRequest(): autocannon.Request {
  return {
    method: "POST",
    path: "/webhooks/instagram",
    setupRequest: (req) => {
      const now = Date.now();
      const customer = `7${String(Math.floor(Math.random() * 5000)).padStart(15, "0")}`;
      const body = JSON.stringify({
        object: "instagram",
        entry: [
          {
            id: ACCOUNT,
            time: now,
            messaging: [
              {
                sender: { id: customer },
                recipient: { id: ACCOUNT },
                timestamp: now,
                message: { mid: `mid.bench.${randomUUID()}`, text: "Hi, is this still available?" },
              },
            ],
          },
        ],
      });
      return {
        ...req,
        body,
        headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, SECRET) },
      };
    },
  };
}

async function load(
  port: number,
  options: { connections: number; rate?: number },
): Promise<autocannon.Result> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: options.connections,
    duration: SECONDS,
    ...(options.rate ? { overallRate: options.rate } : {}),
    requests: [webhookRequest()],
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0)
    throw new Error(
      `port ${port}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  return result;
}

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const env = {
    DATABASE_URL: db.url,
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64"),
    IG_APP_SECRET: SECRET,
    LOG_LEVEL: "info",
    PORT: "0",
    NODE_ENV: "production",
  };
  const children: ChildProcess[] = [];
  try {
    execFileSync(process.execPath, ["src/cli.ts", "migrate"], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: "ignore",
    });
    const service = await startProcess(["src/cli.ts", "web"], env);
    const bare = await startProcess(["bench/bare-server.ts"], { PORT: "0" });
    children.push(service.child, bare.child);
    service.child.stdout?.resume();

    // Warm both up (JIT, connection pools), then measure.
    await autocannon({
      url: `http://127.0.0.1:${service.port}`,
      connections: 10,
      amount: 2000,
      requests: [webhookRequest()],
    });
    await autocannon({
      url: `http://127.0.0.1:${bare.port}`,
      connections: 10,
      amount: 2000,
      requests: [webhookRequest()],
    });

    const fullService = await load(service.port, { connections: 50 });
    const fullBare = await load(bare.port, { connections: 50 });
    const paced = await load(service.port, { connections: 25, rate: 500 });
    const pacedBare = await load(bare.port, { connections: 25, rate: 500 });

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ events: number; jobs: number }>(
      "SELECT (SELECT count(*)::int FROM inbound_events) AS events, (SELECT count(*)::int FROM pgboss.job WHERE name = 'inbound') AS jobs",
    );
    await client.end();

    const rps = (r: autocannon.Result) => r.requests.average;
    const table: BenchRow[] = [
      {
        scenario: "ingest: signed 1-event webhooks, 50 connections (req/s)",
        target: "≥ 1,500",
        threadbridge: rps(fullService).toFixed(0),
        baseline: rps(fullBare).toFixed(0),
        ratio: (rps(fullService) / rps(fullBare)).toFixed(2),
      },
      {
        scenario: "ack latency p50 at 500 req/s (ms)",
        target: "—",
        threadbridge: paced.latency.p50.toFixed(1),
        baseline: pacedBare.latency.p50.toFixed(1),
        ratio: (paced.latency.p50 / Math.max(pacedBare.latency.p50, 0.1)).toFixed(1),
      },
      {
        scenario: "ack latency p99 at 500 req/s (ms)",
        target: "< 50",
        threadbridge: paced.latency.p99.toFixed(1),
        baseline: pacedBare.latency.p99.toFixed(1),
        ratio: (paced.latency.p99 / Math.max(pacedBare.latency.p99, 0.1)).toFixed(1),
      },
      {
        scenario: "achieved rate in the 500 req/s run (req/s)",
        target: "500",
        threadbridge: rps(paced).toFixed(0),
        baseline: rps(pacedBare).toFixed(0),
        ratio: "",
      },
    ];
    // The web service is done; stop it so the outbound run has the cores to itself.
    for (const c of children) c.kill("SIGTERM");
    const outbound = await outboundBench({ guardMs: 40, privateReplies: true });
    // The same Send API run with a narrower guard: what it costs when the guard is below the
    // machine's grant-to-arrival spread.
    const wideGuard = await outboundBench({ guardMs: 15, privateReplies: false });
    const slack = await slackBench();
    const discord = await discordBench();
    const rules = await rulesBench();
    const digest = await digestBench();
    const pgVersion = execFileSync("psql", ["--version"]).toString().trim();
    const md = [
      "# Benchmark results",
      "",
      `Run ${new Date().toISOString()} by \`npm run bench\` (${SECONDS} s per measurement).`,
      "",
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} GiB free), Node ${process.version}, ${pgVersion}, Postgres on the same machine.`,
      "",
      "threadbridge = `threadbridge web` (verify signature, parse, one transaction storing the event and its job in Postgres, then 200).",
      "Baseline = a bare express 5 handler reading the body and answering 200, measured in the same run.",
      "The load generator (autocannon, signing every request) runs in a third process on the same 2 cores.",
      "",
      "| scenario | target | threadbridge | baseline | ratio |",
      "|---|---|---|---|---|",
      ...table.map((r) => `| ${r.scenario} | ${r.target} | ${r.threadbridge} | ${r.baseline} | ${r.ratio} |`),
      "",
      `Every webhook answered 200 was stored: ${rows[0]?.events} events and ${rows[0]?.jobs} queued jobs in Postgres after the run.`,
      "",
      "## Outbound (bench/outbound.ts)",
      "",
      "Three `threadbridge worker` processes, one shared Redis, one Instagram account, a local fake Graph API timestamping every call on arrival (its sliding-window counts are what Instagram would see).",
      "",
      "| scenario | target | threadbridge |",
      "|---|---|---|",
      ...[...outbound.rows, ...wideGuard.rows].map((r) => `| ${r.scenario} | ${r.target} | ${r.value} |`),
      "",
      ...[...outbound.notes, ...wideGuard.notes].map((n) => `- ${n}`),
      "- The limiter grants at most 100 calls in any 1 s + guard on the Redis clock. What the fake counts also carries each call's delay between grant and arrival (three workers, Postgres, Redis and the fake sharing 2 cores); a delay spread above the guard shows as calls over the limit. `IG_RATE_LIMIT_GUARD_MS` (default 40 ms) trades throughput (at most 100 / (1 s + guard) per second) for that margin.",
      "",
      "## Slack (bench/slack.ts)",
      "",
      "The whole service in one process (web and worker roles, Postgres), a fake Slack Web API and a fake Graph API on localhost.",
      "",
      ...benchTable(slack.rows),
      "",
      ...slack.notes.map((n) => `- ${n}`),
      "",
      "## Discord (bench/discord.ts)",
      "",
      "The whole service in one process (web and worker roles, the gateway elected in it, Postgres), the fake Discord (REST and WebSocket gateway) and a fake Graph API on localhost.",
      "",
      ...benchTable(discord.rows),
      "",
      ...discord.notes.map((n) => `- ${n}`),
      "",
      "## Rules (bench/rules.ts)",
      "",
      ...benchTable(rules.rows),
      "",
      ...rules.notes.map((n) => `- ${n}`),
      "",
      "## Digest (bench/digest.ts)",
      "",
      "One account's digest computed from Postgres on this machine; the baseline is one indexed count of the same account's messages in the same period.",
      "",
      ...benchTable(digest.rows),
      "",
      ...digest.notes.map((n) => `- ${n}`),
      "",
    ].join("\n");
    writeFileSync(new URL("./results.md", import.meta.url), md);
    process.stdout.write(`${md}\n`);
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await db.drop().catch(() => {});
  }
}

await main();
