// End-to-end Discord figures (issue 5), the counterpart of bench/slack.ts: the whole service in this
// process (web + worker, real Postgres, the gateway elected in it), the fake Discord (REST and
// gateway) and a fake Graph API on localhost. Latency runs from just before a signed webhook is
// POSTed to the moment the fake Discord stores the mirrored webhook message.

import { performance } from "node:perf_hooks";
import { platforms } from "../adapters/index.ts";
import { loadConfig } from "../src/config/config.ts";
import { addAccount } from "../src/instagram/accounts.ts";
import { sign } from "../src/instagram/signature.ts";
import { TokenCipher } from "../src/instagram/token-cipher.ts";
import { createLogger } from "../src/log/logger.ts";
import { startService } from "../src/service.ts";
import { startDiscordServer } from "../test/fakes/discord-server.ts";
import { instagramResponder, startGraphServer } from "../test/fakes/graph-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import type { BenchRow } from "./bench-row.ts";

const SECRET = "bench-app-secret-0123456789";
const KEY = Buffer.alloc(32, 9).toString("base64");
const CHANNEL = "100000000000000001";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export async function discordBench(): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const discord = await startDiscordServer({ channels: [{ id: CHANNEL, name: "instagram", type: "text" }] });
  const graph = await startGraphServer(instagramResponder());
  const db = await createTestDatabase();
  const service = await startService(
    loadConfig(
      {
        PORT: "0",
        DATABASE_URL: db.url,
        TOKEN_ENCRYPTION_KEY: KEY,
        IG_APP_SECRET: SECRET,
        IG_GRAPH_URL: graph.url,
        DISCORD_TOKEN: discord.token,
        DISCORD_APP_ID: discord.applicationId,
        DISCORD_API_URL: discord.apiUrl,
        LOG_LEVEL: "silent",
      },
      platforms,
    ),
    { web: true, worker: true, migrate: true },
    createLogger("silent"),
  );
  const account = "17841400000000201";
  await addAccount(service.db, TokenCipher.fromConfig(KEY), {
    igUserId: account,
    username: "bench_discord",
    token: "IGAA-bench",
    chat: { platform: "discord", channel: CHANNEL },
  });
  const post = async (customer: string, mid: string, text: string) => {
    const at = Date.now();
    const body = JSON.stringify({
      object: "instagram",
      entry: [
        {
          id: account,
          time: at,
          messaging: [
            { sender: { id: customer }, recipient: { id: account }, timestamp: at, message: { mid, text } },
          ],
        },
      ],
    });
    const r = await fetch(`${service.url}/webhooks/instagram`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, SECRET) },
      body,
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`webhook answered ${r.status}`);
  };
  const mirrored = () =>
    discord
      .threads(CHANNEL)
      .flatMap((t) => discord.messages(t.id))
      .filter((m) => m.webhookId !== undefined);
  const waitUntil = async (done: () => boolean, ms: number) => {
    const until = Date.now() + ms;
    while (!done()) {
      if (Date.now() > until) throw new Error(`bench: not drained within ${ms / 1000} s`);
      await sleep(100);
    }
  };
  try {
    // ——— Latency at 40 events/s across 50 conversations ———
    // Not 100/s as on Slack: Discord allows a bot 50 requests/s in all (discord.js's REST client
    // enforces it), and each mirrored message is one webhook execution.
    const RATE = 30;
    const N = 600;
    // The 50 threads are opened first (three requests each, against the same 50/s budget), so the
    // run measures mirroring into existing threads.
    await Promise.all(
      Array.from({ length: 50 }, (_, c) =>
        post(`5${String(c).padStart(15, "0")}`, `mid.dwarm.${c}`, `warm-${c}`),
      ),
    );
    await waitUntil(() => mirrored().filter((m) => m.content.startsWith("warm-")).length >= 50, 60_000);
    const sentAt = new Map<string, number>();
    const t0 = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const wait = t0 + (i * 1000) / RATE - performance.now();
      if (wait > 0) await sleep(wait);
      sentAt.set(`lat-${i}`, Date.now());
      inflight.push(post(`5${String(i % 50).padStart(15, "0")}`, `mid.dlat.${i}`, `lat-${i}`));
    }
    await Promise.all(inflight);
    await waitUntil(() => mirrored().filter((m) => m.content.startsWith("lat-")).length >= N, 60_000);
    const latencies = mirrored()
      .map((m) => {
        const at = sentAt.get(m.content);
        return at === undefined ? undefined : m.postedAt - at;
      })
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);

    // Baseline: one webhook execution straight against the fake Discord, the floor of any mirror.
    const hook = discord.webhooks(CHANNEL)[0];
    const thread = discord.threads(CHANNEL)[0];
    const direct: number[] = [];
    for (let i = 0; hook && thread && i < 200; i++) {
      const s = performance.now();
      const r = await fetch(
        `${discord.apiUrl}/v10/webhooks/${hook.id}/${hook.token}?wait=true&thread_id=${thread.id}`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ content: `direct ${i}`, username: "baseline" }),
        },
      );
      await r.arrayBuffer();
      direct.push(performance.now() - s);
    }
    direct.sort((a, b) => a - b);

    // ——— A burst: 1,000 messages over 200 conversations into one channel ———
    const BURST = 1000;
    const CONVERSATIONS = 200;
    const burstStart = Date.now();
    const queue = Array.from({ length: BURST }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift())
          await post(
            `6${String(i % CONVERSATIONS).padStart(15, "0")}`,
            `mid.dburst.${i}`,
            `burst c${i % CONVERSATIONS} #${Math.floor(i / CONVERSATIONS)}`,
          );
      }),
    );
    await waitUntil(() => mirrored().filter((m) => m.content.startsWith("burst ")).length >= BURST, 300_000);
    const burst = mirrored().filter((m) => m.content.startsWith("burst "));
    const drained = (Math.max(...burst.map((m) => m.postedAt)) - burstStart) / 1000;
    const order = new Map<string, number[]>();
    for (const m of burst) {
      const [, c, n] = /burst c(\d+) #(\d+)/.exec(m.content) ?? [];
      if (c === undefined) continue;
      order.set(c, [...(order.get(c) ?? []), Number(n)]);
    }
    let outOfOrder = 0;
    for (const list of order.values())
      for (let k = 1; k < list.length; k++) if ((list[k] as number) <= (list[k - 1] as number)) outOfOrder++;

    return {
      rows: [
        {
          scenario: `webhook → Discord post, p50 at ${RATE} events/s over 50 conversations (ms)`,
          target: "< 50",
          threadbridge: percentile(latencies, 50).toFixed(1),
          baseline: percentile(direct, 50).toFixed(1),
          ratio: (percentile(latencies, 50) / Math.max(percentile(direct, 50), 0.1)).toFixed(1),
        },
        {
          scenario: `webhook → Discord post, p99 at ${RATE} events/s (ms)`,
          target: "—",
          threadbridge: percentile(latencies, 99).toFixed(1),
          baseline: percentile(direct, 99).toFixed(1),
          ratio: (percentile(latencies, 99) / Math.max(percentile(direct, 99), 0.1)).toFixed(1),
        },
        {
          scenario: `burst: ${BURST} messages / ${CONVERSATIONS} conversations into one channel: drain time (s)`,
          target: "—",
          threadbridge: drained.toFixed(1),
          baseline: "",
          ratio: "",
        },
      ],
      notes: [
        `Latency run: ${latencies.length} of ${N} posts matched, into 50 threads opened beforehand (opening one costs three requests of the bot's 50/s). Baseline: one webhook execution POSTed straight to the same fake Discord.`,
        `Burst run: ${burst.length} of ${BURST} messages mirrored, ${outOfOrder} out of order within their conversation. The fake Discord sets no rate limit of its own; the bound is discord.js's global 50 requests/s per bot (Discord's), i.e. ${(BURST / 50).toFixed(0)} s for the posts alone plus one thread and header per conversation.`,
      ],
    };
  } finally {
    await service.stop();
    await graph.close();
    await discord.close();
    await db.drop().catch(() => {});
  }
}
