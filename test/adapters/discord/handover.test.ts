// Two `threadbridge worker` processes against one Postgres and the fake Discord: exactly one holds
// the gateway; when it is killed with -9 the other takes over, and a message an agent wrote while
// nobody listened is read back (catch-up) and sent to Instagram exactly once.

import { afterAll, beforeAll, expect, it } from "vitest";
import { addAccount } from "../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import type { Service } from "../../../src/service.ts";
import { type DiscordServer, startDiscordServer } from "../../fakes/discord-server.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../../fakes/graph-server.ts";
import { needsDatabaseServer } from "../../helpers/backend.ts";
import {
  startTestService,
  TEST_BACKEND,
  TEST_KEY,
  type TestEnv,
  testEnv,
  waitFor,
} from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";
import { killWorker, startWorker, type WorkerProcess } from "../../outbound/helpers.ts";

needsDatabaseServer("two worker processes share the database");

const ACCOUNT = "17841400000000001";
const CHANNEL = "100000000000000001";
const AGENT = { id: "500000000000000001", username: "ana" };

let discord: DiscordServer;
let graph: GraphServer;
let t: TestEnv;
let web: Service;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  discord = await startDiscordServer({ channels: [{ id: CHANNEL, name: "instagram", type: "text" }] });
  discord.addUser(AGENT);
  graph = await startGraphServer(instagramResponder());
  t = await testEnv(TEST_BACKEND, {
    DISCORD_TOKEN: discord.token,
    DISCORD_APP_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    IG_GRAPH_URL: graph.url,
    LEADER_INTERVAL_SECONDS: "1",
  });
  // This process takes webhooks (web role); the two workers compete for the gateway.
  web = await startTestService(t, { worker: false });
  await addAccount(web.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: ACCOUNT,
    username: "brand",
    token: "IGAA-e2e-token",
    chat: { platform: "discord", channel: CHANNEL },
  });
  for (let i = 0; i < 2; i++) workers.push(startWorker({ ...t.env, PORT: "0", LOG_LEVEL: "info" }));
});

afterAll(async () => {
  for (const w of workers) await killWorker(w, "SIGTERM");
  await web?.stop();
  await graph?.close();
  await discord?.close();
  await t?.cleanup();
});

async function leaderPid(): Promise<number | undefined> {
  const { rows } = await web.db.query<{ pid: number }>(
    "SELECT (value->>'pid')::int AS pid FROM service_flags WHERE key = 'leader:discord-gateway'",
  );
  return rows[0]?.pid;
}

it("keeps one gateway among two workers, hands it over on kill -9, and catches up on the gap", async () => {
  await waitFor(async () => (discord.sessions().connected === 1 ? true : undefined), 20_000, "one gateway");
  // Both workers are up; still one session after a few election rounds.
  await new Promise((r) => setTimeout(r, 2_500));
  expect(discord.sessions()).toMatchObject({ connected: 1, identifies: 1 });

  const customer = "1000000000000001";
  await postWebhook(web.url as string, dmText(ACCOUNT, customer, "m_h_1", "hello", Date.now()));
  const thread = await waitFor(async () => {
    const { rows } = await web.db.query<{ chat_thread: string | null }>(
      "SELECT chat_thread FROM conversations WHERE customer_id = $1",
      [customer],
    );
    return rows[0]?.chat_thread ?? undefined;
  });
  await waitFor(async () => (discord.messages(thread).some((m) => m.content === "hello") ? true : undefined));

  const pid = await leaderPid();
  const leader = workers.find((w) => w.child.pid === pid);
  expect(leader, "the leader is one of the two workers").toBeDefined();
  await killWorker(leader as WorkerProcess);
  await waitFor(
    async () => (discord.sessions().connected === 0 ? true : undefined),
    5_000,
    "the socket to close",
  );

  // Written while no process listens to the gateway.
  const gap = await discord.userMessage(thread, {
    authorId: AGENT.id,
    content: "written during the hand-over",
  });

  await waitFor(
    async () => (discord.sessions().connected === 1 ? true : undefined),
    20_000,
    "the new leader",
  );
  expect(discord.sessions().identifies).toBe(2);
  const survivor = workers.find((w) => w !== leader);
  expect(await leaderPid()).toBe(survivor?.child.pid);

  const sent = await waitFor(
    async () => {
      const s = graph.requests.filter((r) =>
        (JSON.stringify(r.body) ?? "").includes("written during the hand-over"),
      );
      return s.length > 0 ? s : undefined;
    },
    20_000,
    "the caught-up reply to reach Instagram",
  );
  await new Promise((r) => setTimeout(r, 1_000));
  expect(sent).toHaveLength(1);
  const { rows } = await web.db.query<{ delivery_state: string }>(
    "SELECT delivery_state FROM messages WHERE chat_ref = $1",
    [gap.id],
  );
  expect(rows[0]?.delivery_state).toBe("sent");
});
