// End-to-end Slack figures (issue 3): the whole service in this process (web + worker, real
// Postgres), a fake Slack Web API and a fake Graph API on localhost. Latency is measured from
// just before a signed webhook is POSTed to the moment the fake Slack stores the mirrored post.

import { performance } from "node:perf_hooks";
import { platforms } from "../adapters/index.ts";
import { loadConfig } from "../src/config/config.ts";
import { addAccount } from "../src/instagram/accounts.ts";
import { sign } from "../src/instagram/signature.ts";
import { TokenCipher } from "../src/instagram/token-cipher.ts";
import { createLogger } from "../src/log/logger.ts";
import { startService } from "../src/service.ts";
import { instagramResponder, startGraphServer } from "../test/fakes/graph-server.ts";
import { type FakeMessage, startSlackServer } from "../test/fakes/slack-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import type { BenchRow } from "./bench-row.ts";

const SECRET = "bench-app-secret-0123456789";
const KEY = Buffer.alloc(32, 9).toString("base64");

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dm(account: string, customer: string, mid: string, text: string) {
  const now = Date.now();
  return JSON.stringify({
    object: "instagram",
    entry: [
      {
        id: account,
        time: now,
        messaging: [
          { sender: { id: customer }, recipient: { id: account }, timestamp: now, message: { mid, text } },
        ],
      },
    ],
  });
}

export async function slackBench(): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const slack = await startSlackServer();
  const graph = await startGraphServer(instagramResponder());
  const db = await createTestDatabase();
  // The latency run measures the bridge, so its channel is not paced; the burst run paces to the
  // fake's per-channel limit, as production paces to Slack's.
  const start = (postsPerSecond: number) =>
    startService(
      loadConfig(
        {
          PORT: "0",
          DATABASE_URL: db.url,
          TOKEN_ENCRYPTION_KEY: KEY,
          IG_APP_SECRET: SECRET,
          IG_GRAPH_URL: graph.url,
          SLACK_BOT_TOKEN: slack.token,
          SLACK_SIGNING_SECRET: "bench-slack-signing-secret",
          SLACK_API_URL: slack.apiUrl,
          LOG_LEVEL: "silent",
          SLACK_POSTS_PER_SECOND: String(postsPerSecond),
        },
        platforms,
      ),
      { web: true, worker: true, migrate: true },
      createLogger("silent"),
    );
  let service = await start(10_000);
  let url = service.url as string;
  const cipher = TokenCipher.fromConfig(KEY);
  const post = (body: string) =>
    fetch(`${url}/webhooks/instagram`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, SECRET) },
      body,
    }).then(async (r) => {
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`webhook answered ${r.status}`);
    });
  const posted = (channel: string): FakeMessage[] => slackMessages(slack, channel);

  try {
    // ——— 1. Latency at 100 events/s across 50 conversations ———
    const A = "17841400000000101";
    await addAccount(service.db, cipher, {
      igUserId: A,
      username: "bench_latency",
      token: "IGAA-bench",
      chat: { platform: "slack", channel: "C0LATENCY" },
    });
    // Warm-up, into 50 conversations of their own: the service's first second (database and HTTP
    // connections opened, code compiled) is a start-up cost, not the latency of a running bridge.
    // What it costs is reported beside the measurement.
    const WARMUP = 200;
    const warmSentAt = new Map<string, number>();
    const warming: Promise<void>[] = [];
    for (let i = 0; i < WARMUP; i++) {
      await sleep(10);
      warmSentAt.set(`warm-${i}`, Date.now());
      warming.push(post(dm(A, `4${String(i % 50).padStart(15, "0")}`, `mid.warm.${i}`, `warm-${i}`)));
    }
    await Promise.all(warming);
    await waitUntil(() => countTexts(posted("C0LATENCY"), /warm-\d+$/) >= WARMUP, 60_000);
    const warmLatencies = posted("C0LATENCY")
      .map((m) => {
        const text = /warm-\d+$/.exec(m.text ?? "")?.[0];
        const at = text ? warmSentAt.get(text) : undefined;
        return at === undefined ? undefined : m.postedAt - at;
      })
      .filter((l): l is number => l !== undefined)
      .sort((x, y) => x - y);

    const N = 1000;
    const sentAt = new Map<string, number>();
    const t0 = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const due = t0 + i * 10;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const text = `lat-${i}`;
      sentAt.set(text, Date.now());
      inflight.push(post(dm(A, `5${String(i % 50).padStart(15, "0")}`, `mid.lat.${i}`, text)));
    }
    await Promise.all(inflight);
    const achievedRate = N / ((performance.now() - t0) / 1000);
    await waitUntil(() => countTexts(posted("C0LATENCY"), /^.*lat-\d+$/) >= N, 60_000);
    const latencies: number[] = [];
    for (const m of posted("C0LATENCY")) {
      const text = /lat-\d+$/.exec(m.text ?? "")?.[0];
      const at = text ? sentAt.get(text) : undefined;
      if (at !== undefined) latencies.push(m.postedAt - at);
    }
    latencies.sort((x, y) => x - y);
    // Baseline: one chat.postMessage straight to the fake Slack, the floor of any mirror.
    const direct: number[] = [];
    for (let i = 0; i < 200; i++) {
      const s = performance.now();
      const r = await fetch(`${slack.apiUrl}chat.postMessage`, {
        method: "POST",
        headers: { authorization: `Bearer ${slack.token}`, "content-type": "application/json" },
        body: JSON.stringify({ channel: "C0BASELINE", text: `direct ${i}` }),
      });
      await r.arrayBuffer();
      direct.push(performance.now() - s);
    }
    direct.sort((x, y) => x - y);

    // ——— 2. A burst into one rate-limited channel ———
    const B = "17841400000000102";
    await addAccount(service.db, cipher, {
      igUserId: B,
      username: "bench_burst",
      token: "IGAA-bench",
      chat: { platform: "slack", channel: "C0BURST" },
    });
    const RATE = 50;
    await service.stop();
    service = await start(RATE);
    url = service.url as string;
    slack.setPostRate({ perSecond: RATE, burst: 10 });
    const BURST = 1000;
    const CONVERSATIONS = 200;
    const burstStart = Date.now();
    const queue = Array.from({ length: BURST }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const c = i % CONVERSATIONS;
          const seq = Math.floor(i / CONVERSATIONS);
          await post(dm(B, `6${String(c).padStart(15, "0")}`, `mid.burst.${i}`, `burst c${c} #${seq}`));
        }
      }),
    );
    await waitUntil(() => countTexts(posted("C0BURST"), /burst c\d+ #\d+$/) >= BURST, 300_000);
    const drained = (Math.max(...posted("C0BURST").map((m) => m.postedAt)) - burstStart) / 1000;
    // Order and exactly-once, per conversation.
    const seen = new Map<string, number[]>();
    for (const m of posted("C0BURST")) {
      const match = /burst c(\d+) #(\d+)$/.exec(m.text ?? "");
      if (!match) continue;
      const list = seen.get(match[1] as string) ?? [];
      list.push(Number(match[2]));
      seen.set(match[1] as string, list);
    }
    let outOfOrder = 0;
    let total = 0;
    for (const list of seen.values()) {
      total += list.length;
      for (let k = 1; k < list.length; k++) if ((list[k] as number) <= (list[k - 1] as number)) outOfOrder++;
    }
    const roots = CONVERSATIONS;
    const bound = (BURST + roots) / RATE;
    const rejected =
      slack.calls.filter((c) => c.method === "chat.postMessage" && c.args.channel === "C0BURST").length -
      BURST -
      roots;

    const rows: BenchRow[] = [
      {
        scenario: "webhook → Slack post, p50 at 100 events/s over 50 conversations (ms)",
        target: "< 50",
        threadbridge: percentile(latencies, 50).toFixed(1),
        baseline: percentile(direct, 50).toFixed(1),
        ratio: (percentile(latencies, 50) / Math.max(percentile(direct, 50), 0.1)).toFixed(1),
      },
      {
        scenario: "webhook → Slack post, p99 at 100 events/s (ms)",
        target: "—",
        threadbridge: percentile(latencies, 99).toFixed(1),
        baseline: percentile(direct, 99).toFixed(1),
        ratio: (percentile(latencies, 99) / Math.max(percentile(direct, 99), 0.1)).toFixed(1),
      },
      {
        scenario: `burst: ${BURST} messages / ${CONVERSATIONS} conversations into one channel limited to ${RATE} posts/s: drain time (s)`,
        target: `bound ${bound.toFixed(0)} s`,
        threadbridge: drained.toFixed(1),
        baseline: bound.toFixed(1),
        ratio: (drained / bound).toFixed(2),
      },
    ];
    const notes = [
      `Latency run: ${N} webhooks sent at ${achievedRate.toFixed(0)}/s; ${latencies.length} posts matched (the first message of each conversation also opens its thread and looks up the profile). Baseline: one chat.postMessage POSTed straight to the same fake Slack.`,
      `Before it, a warm-up of ${WARMUP} webhooks at 100/s into 50 other conversations, the service's first two seconds: p50 ${percentile(warmLatencies, 50).toFixed(0)} ms, p99 ${percentile(warmLatencies, 99).toFixed(0)} ms, max ${(warmLatencies.at(-1) ?? 0).toFixed(0)} ms (connections opened and code compiled while the first messages queue).`,
      `Burst run: the fake Slack allowed ${RATE} posts/s per channel (bursts of 10) and answered 429 with Retry-After beyond that; ${total} of ${BURST} messages mirrored, ${outOfOrder} out of order within their conversation, ${rejected} posts refused with 429 and retried. The bound is (${BURST} posts + ${roots} thread roots) ÷ ${RATE}/s. Slack's real limit is about 1 post/s per channel, which would make the same burst take ${((BURST + roots) / 60).toFixed(0)} min; the figure scales with it.`,
    ];
    return { rows, notes };
  } finally {
    await service.stop();
    await graph.close();
    await slack.close();
    await db.drop().catch(() => {});
  }
}

function slackMessages(slack: Awaited<ReturnType<typeof startSlackServer>>, channel: string): FakeMessage[] {
  // Every thread of the channel, replies only (roots are headers, not mirrored messages).
  const roots = slack.calls
    .filter(
      (c) => c.method === "chat.postMessage" && c.args.channel === channel && c.args.thread_ts !== undefined,
    )
    .map((c) => String(c.args.thread_ts));
  return [...new Set(roots)].flatMap((root) => slack.thread(channel, root).slice(1));
}

function countTexts(messages: FakeMessage[], pattern: RegExp): number {
  return messages.filter((m) => pattern.test(m.text ?? "")).length;
}

async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error(`bench: not drained within ${ms / 1000} s`);
    await sleep(100);
  }
}
