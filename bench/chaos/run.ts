// `npm run chaos` (issue 10): the service as separate web and worker processes on a private
// Postgres and Redis, with the fake Graph, Slack and Discord servers, under a mixed load while
// workers are SIGKILLed, the web process, Redis and Postgres restart, Postgres crashes (an immediate
// shutdown, its unwritten WAL lost), and the fakes answer 429s,
// 500s and Graph rate-limit errors. Prints what was injected and checked; exits 1 on any loss,
// duplicate, reordering or call over the limit.
//
//   node bench/chaos/run.ts            the full run: 100 accounts, 5,000 conversations
//   node bench/chaos/run.ts --short    the short run of `npm test`: 4 accounts, 100 conversations

import { randomBytes } from "node:crypto";
import { createWriteStream, writeFileSync } from "node:fs";
import path from "node:path";
import { formatTable } from "../../src/cli/table.ts";
import { type Database, openPostgres } from "../../src/db/database.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { listDeadLetters } from "../../src/queue/dead-letters.ts";
import { startDiscordServer } from "../../test/fakes/discord-server.ts";
import { startGraphLoadServer } from "../../test/fakes/graph-load-server.ts";
import { startSlackServer } from "../../test/fakes/slack-server.ts";
import { startPostgres, startRedis } from "../../test/helpers/servers.ts";
import { freePort, killWorker, startRole, type WorkerProcess } from "../../test/outbound/helpers.ts";
import { describeMachine } from "../machine.ts";
import { type CheckResult, check, failed } from "./check.ts";
import { diagnose } from "./diagnose.ts";
import { drive } from "./drive.ts";
import { startEchoes } from "./echoes.ts";
import { FAULTS, runSchedule } from "./faults.ts";
import { type Conversation, planLoad, type Scale } from "./load.ts";

const SCALES: Record<"full" | "short", Scale & { faultEveryMs: number; rounds: number; drainMs: number }> = {
  full: {
    accounts: 100,
    conversations: 5000,
    messages: 3,
    discordEvery: 10,
    commentEvery: 10,
    replyEvery: 10,
    repliesPer: 2,
    faultEveryMs: 6000,
    rounds: 3,
    drainMs: 600_000,
  },
  short: {
    accounts: 4,
    conversations: 100,
    messages: 3,
    discordEvery: 4,
    commentEvery: 10,
    replyEvery: 4,
    repliesPer: 2,
    faultEveryMs: 1500,
    rounds: 1,
    // Passing runs end as soon as everything settles; a job in retry backoff after a fault may
    // need minutes (the delay doubles up to 300 s), and must not read as lost.
    drainMs: 240_000,
  },
};

const APP_SECRET = "chaos-app-secret-0123456789";
const SLACK_SECRET = "chaos-slack-signing-secret";
const KEY = Buffer.alloc(32, 11).toString("base64");
const AGENT = { id: "U0CHAOS1", name: "chaos", real_name: "Chaos Agent" };
/** Send API calls per second and account: the limit configured and checked at the fake. */
const LIMIT = 10;

/** When the latest job waiting for a retry (inbound or outbound) may next run, if any waits. */
async function nextScheduledRetry(db: Database): Promise<number | undefined> {
  const { rows } = await db.query<{ due: Date | null }>(
    "SELECT max(start_after) AS due FROM pgboss.job WHERE state = 'retry' AND start_after > now()",
  );
  return rows[0]?.due ? new Date(rows[0].due).getTime() : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

async function main(): Promise<number> {
  const scaleName = process.argv.includes("--short") ? "short" : "full";
  const scale = SCALES[scaleName];
  const { accounts, conversations } = planLoad(scale);
  const started = Date.now();

  const pg = await startPostgres();
  const redis = await startRedis();
  // Described before the load, so that its load average says how busy the machine was already.
  const machine = scaleName === "full" ? await describeMachine(pg.url, redis.url) : "";
  const slack = await startSlackServer({ users: [AGENT] });
  const graph = await startGraphLoadServer();
  const discord = await startDiscordServer({
    channels: accounts
      .filter((a) => a.platform === "discord")
      .map((a) => ({ id: a.channel, name: `ig-${a.id.slice(-4)}`, type: "text" as const })),
  });
  const dbName = `chaos_${randomBytes(4).toString("hex")}`;
  const admin = await openPostgres(pg.url, { poolSize: 1 });
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.close();
  const port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port),
    DATABASE_URL: pg.url.replace(/\/postgres$/, `/${dbName}`),
    DATABASE_POOL_SIZE: "8",
    REDIS_URL: redis.url,
    TOKEN_ENCRYPTION_KEY: KEY,
    IG_APP_SECRET: APP_SECRET,
    IG_GRAPH_URL: graph.url,
    IG_RATE_LIMITS: `send_text=${LIMIT}/1`,
    IG_RATE_LIMIT_GUARD_MS: "250",
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_POSTS_PER_SECOND: "200",
    DISCORD_TOKEN: discord.token,
    DISCORD_APP_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    LEADER_INTERVAL_SECONDS: "1",
    QUEUE_SUPERVISE_SECONDS: "1",
    // Two workers send: while Redis restarts each keeps to half of every limit.
    OUTBOUND_WORKERS: "2",
    OUTBOUND_ECHO_GRACE_SECONDS: "2",
    LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? "error",
    NODE_ENV: "production",
  };
  const url = () => `http://127.0.0.1:${port}`;
  const migrate = startRole(env, "migrate");
  const migrated = await migrate.exited;
  if (migrated.code !== 0) throw new Error(`chaos: migrate failed: ${migrate.output()}`);

  const db = await openPostgres(env.DATABASE_URL as string, { poolSize: 4 });
  const cipher = TokenCipher.fromConfig(KEY);
  for (const a of accounts)
    await addAccount(db, cipher, {
      igUserId: a.id,
      username: `shop_${a.id.slice(-4)}`,
      token: `IGAA-chaos-${a.id}`,
      chat: { platform: a.platform, channel: a.channel },
    });

  // A service process that exits by itself (not killed by a fault) is a finding: say why, count
  // it, and start it again as a process manager would, so that the run goes on to its checks.
  const expectedExits = new Set<WorkerProcess>();
  let exitedByItself = 0;
  let spawned = 0;
  const spawnRole = (role: "web" | "worker"): WorkerProcess => {
    const p = startRole(env, role);
    // CHAOS_LOG_DIR keeps every process's whole log (with CHAOS_LOG_LEVEL) for a post-mortem.
    if (process.env.CHAOS_LOG_DIR) {
      const file = createWriteStream(path.join(process.env.CHAOS_LOG_DIR, `${role}-${++spawned}.log`));
      p.child.stdout?.pipe(file);
      p.child.stderr?.pipe(file);
    }
    void p.exited.then(({ code, signal }) => {
      if (expectedExits.has(p)) return;
      exitedByItself += 1;
      // The cause is at the top of a crash's stack, which an uncaught error's dump pushes a few
      // thousand characters back: enough of the tail to reach it.
      log(`${role} exited by itself (${code ?? signal}): ${p.output().slice(-5000)}`);
      if (role === "web") web = spawnRole("web");
      else {
        const i = workers.indexOf(p);
        if (i >= 0) workers[i] = spawnRole("worker");
      }
    });
    return p;
  };
  let web = spawnRole("web");
  const workers: WorkerProcess[] = [spawnRole("worker"), spawnRole("worker")];
  const stopAll = async () => {
    for (const w of [web, ...workers]) {
      expectedExits.add(w);
      await killWorker(w, "SIGKILL");
    }
  };
  // Interrupted (Ctrl-C, a CI timeout): leave no private Postgres or Redis behind.
  const interrupted = () => {
    void Promise.allSettled([stopAll(), redis.stop(), pg.stop()]).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    // A hang guard only: on 2 cores shared with a test suite, loading the modules alone can take
    // tens of seconds.
    const startBy = Date.now() + 120_000;
    for (;;) {
      const up = await fetch(`${url()}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (Date.now() > startBy) throw new Error(`chaos: web did not start within 120 s: ${web.output()}`);
      await sleep(100);
    }
    const threadOf = async (c: Conversation): Promise<string | undefined> => {
      const { rows } =
        c.kind === "dm"
          ? await db.query<{ chat_thread: string | null }>(
              "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
              [c.account.id, c.customer],
            )
          : await db.query<{ chat_thread: string | null }>(
              "SELECT chat_thread FROM comment_threads WHERE account_id = $1 AND root_comment_id = $2",
              [c.account.id, c.rootComment],
            );
      return rows[0]?.chat_thread ?? undefined;
    };
    const deadline = Date.now() + scale.drainMs + 600_000;
    let loadDone = false;
    const schedule = runSchedule(
      {
        pg,
        redis,
        slack,
        graph,
        discord,
        async killWorker() {
          const victim = workers.shift();
          if (victim) {
            expectedExits.add(victim);
            await killWorker(victim, "SIGKILL");
          }
          workers.push(spawnRole("worker"));
        },
        async restartWeb() {
          expectedExits.add(web);
          await killWorker(web, "SIGTERM");
          web = spawnRole("web");
        },
      },
      { everyMs: scale.faultEveryMs, rounds: scale.rounds, done: () => false },
      log,
    );
    const echoes = startEchoes(graph, { url, appSecret: APP_SECRET, deadline });
    log(
      `load: ${accounts.length} accounts, ${conversations.length} conversations, ${conversations.reduce((n, c) => n + c.events.length, 0)} webhooks`,
    );
    const stats = await drive(conversations, {
      url,
      appSecret: APP_SECRET,
      slack,
      slackSecret: SLACK_SECRET,
      agent: AGENT.id,
      threadOf,
      lanes: 32,
      deadline,
    }).finally(() => {
      loadDone = true;
    });
    log(`load: all accepted after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const injected = await schedule;
    log(`faults: all injected (load done: ${loadDone})`);

    // Drain: until everything is mirrored and every reply settled, then once more a little later
    // so that a late duplicate is seen too.
    const threads = new Map<string, string>();
    const drainStart = Date.now();
    let drainUntil = drainStart + scale.drainMs;
    let result: CheckResult | undefined;
    let complete = 0;
    for (;;) {
      for (const c of conversations)
        if (!threads.has(c.key)) {
          const t = await threadOf(c).catch(() => undefined);
          if (t) threads.set(c.key, t);
        }
      result = await check(conversations, threads, { slack, discord, graph }, db, LIMIT);
      const settled = result.missing === 0 && result.actionsMissing === 0 && result.repliesLost === 0;
      complete = settled ? complete + 1 : 0;
      if (complete >= 3) break;
      if (Date.now() > drainUntil) {
        // A job in retry backoff is work delayed, not lost: the inbound delay doubles up to 300 s,
        // and an event that met several faults in a row (a Postgres restart, then its crash, then
        // the 500 burst, each taking an attempt) may be due after the drain's budget. The run waits
        // for the retries already scheduled, up to `drainMs` more, and then judges what is there.
        const due = settled ? undefined : await nextScheduledRetry(db);
        if (due === undefined) break;
        const extended = Math.min(due + 10_000, drainStart + 2 * scale.drainMs);
        if (extended <= drainUntil) break;
        log(`drain: waiting for a retry due at ${new Date(due).toISOString().slice(11, 19)}`);
        drainUntil = extended;
      }
      await sleep(2000);
    }
    await echoes.stop();
    const dead = await listDeadLetters(db);
    const elapsed = (Date.now() - started) / 1000;

    let report = `Chaos run (${scaleName}): ${elapsed.toFixed(0)} s\n\n`;
    report += `${formatTable([["fault injected", "count"], ...FAULTS.map((f) => [f, String(injected.get(f) ?? 0)])])}\n\n`;
    const statuses = [...stats.statuses].map(([s, n]) => `${s}×${n}`).join(", ") || "none";
    const rows: [string, string][] = [
      ["accounts / conversations", `${accounts.length} / ${conversations.length}`],
      ["webhooks sent / accepted", `${stats.webhooksSent} / ${stats.webhooksAccepted}`],
      ["echoes of sent replies delivered", String(echoes.stats.webhooksAccepted)],
      ["deliveries retried (answers)", `${stats.webhookRetries} (${statuses})`],
      ["inbound events checked", String(result.events)],
      ["mirrored exactly once (incl. reactions/edits/unsends applied)", String(result.mirrored)],
      ["missing", String(result.missing)],
      ["duplicates", String(result.duplicates)],
      ["out of order", String(result.outOfOrder)],
      ["threads opened twice", String(result.extraThreads)],
      ["reactions/edits/unsends applied / missing", `${result.actionsApplied} / ${result.actionsMissing}`],
      ["agent replies typed", String(stats.repliesTyped)],
      ["replies sent once / failed with reason", `${result.repliesSent} / ${result.repliesFailed}`],
      ["replies duplicated / lost", `${result.repliesDuplicated} / ${result.repliesLost}`],
      [`most Send API calls of one account in 1 s (limit ${LIMIT})`, String(result.maxPerWindow)],
      ["Graph calls answered 400 (rate limit faults)", String(graph.calls.filter((c) => c.fault).length)],
      ["dead letters", String(dead.length)],
      ["service processes that exited by themselves", String(exitedByItself)],
    ];
    report += `${formatTable([["checked", "value"], ...rows])}\n`;
    for (const d of dead) report += `dead letter: ${d.kind} ${d.threadKey} ${d.lastError ?? ""}\n`;
    for (const p of result.problems) report += `problem: ${p}\n`;
    for (const key of result.troubled) report += `${(await diagnose(db, key)).join("\n")}\n`;
    const bad = failed(result, LIMIT) || exitedByItself > 0;
    report += `\nchaos: ${bad ? "FAILED" : "OK"}\n`;
    process.stdout.write(`\n${report}`);
    if (scaleName === "full") {
      writeFileSync(
        new URL("../chaos.md", import.meta.url),
        `# Chaos results\n\nRun ${new Date().toISOString()} by \`npm run chaos\`. Machine: ${machine}\n\n` +
          `One \`threadbridge web\` and two \`threadbridge worker\` processes on a private Postgres and Redis, the fake Graph, Slack and Discord servers in the driver; a fault every ${scale.faultEveryMs / 1000} s, ${scale.rounds} rounds.\n\n\`\`\`\n${report}\`\`\`\n`,
      );
    }
    return bad ? 1 : 0;
  } finally {
    await stopAll();
    await db.close().catch(() => {});
    await slack.close();
    await graph.close();
    await discord.close();
    await redis.stop();
    await pg.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
