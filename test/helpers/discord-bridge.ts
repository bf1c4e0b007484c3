// A whole service with Discord on, wired to the fake Discord (REST and gateway) and a fake Graph
// API, with one Instagram account routed to a text channel and one to a forum.

import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import type { Service } from "../../src/service.ts";
import {
  type DiscordServer,
  type DiscordServerOptions,
  type FakeMessage,
  startDiscordServer,
} from "../fakes/discord-server.ts";
import {
  type GraphServer,
  instagramResponder,
  type RecordedRequest,
  startGraphServer,
} from "../fakes/graph-server.ts";
import {
  type Backend,
  startTestService,
  TEST_BACKEND,
  TEST_KEY,
  type TestEnv,
  testEnv,
  waitFor,
} from "./service.ts";

export const TEXT_ACCOUNT = "17841400000000001";
export const FORUM_ACCOUNT = "17841400000000002";
export const TEXT_CHANNEL = "100000000000000001";
export const FORUM_CHANNEL = "100000000000000002";
export const ADMIN_ROLE = "400000000000000001";
export const AGENT = { id: "500000000000000001", username: "ana" };
export const ADMIN = { id: "500000000000000002", username: "root", roles: [ADMIN_ROLE] };

export interface DiscordHarness {
  discord: DiscordServer;
  graph: GraphServer;
  t: TestEnv;
  service: Service;
  url(): string;
  restart(): Promise<void>;
  sends(): RecordedRequest[];
  threadOf(account: string, customer: string): Promise<string>;
  commentThreadOf(rootCommentId: string): Promise<string>;
  /** Messages of a thread after its first (the header), once there are at least `n`. */
  posts(thread: string, n: number): Promise<FakeMessage[]>;
  agentSays(thread: string, content: string, authorId?: string): Promise<FakeMessage>;
  settled(
    chatRef: string,
    state: "sent" | "failed" | "held",
  ): Promise<{ delivery_state: string; delivery_error: string | null }>;
  close(): Promise<void>;
}

/** `server`: channels besides the two routed ones (no account goes there), and other servers. */
export async function startDiscordHarness(
  extraEnv: Record<string, string> = {},
  server: Pick<DiscordServerOptions, "channels" | "otherGuilds"> = {},
  backend: Backend = TEST_BACKEND,
): Promise<DiscordHarness> {
  const discord = await startDiscordServer({
    channels: [
      { id: TEXT_CHANNEL, name: "instagram", type: "text" },
      { id: FORUM_CHANNEL, name: "instagram-forum", type: "forum" },
      ...(server.channels ?? []),
    ],
    roles: [{ id: ADMIN_ROLE, name: "ig-admins" }],
    ...(server.otherGuilds ? { otherGuilds: server.otherGuilds } : {}),
  });
  discord.addUser(AGENT);
  discord.addUser(ADMIN);
  const graph = await startGraphServer(instagramResponder());
  const t = await testEnv(backend, {
    DISCORD_TOKEN: discord.token,
    DISCORD_APP_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    IG_GRAPH_URL: graph.url,
    ADMIN_USERS: `discord-role:${ADMIN_ROLE}`,
    LEADER_INTERVAL_SECONDS: "1",
    OUTBOUND_ECHO_GRACE_SECONDS: "2",
    ...extraEnv,
  });
  const service = await startTestService(t);
  const cipher = TokenCipher.fromConfig(TEST_KEY);
  for (const [id, channel] of [
    [TEXT_ACCOUNT, TEXT_CHANNEL],
    [FORUM_ACCOUNT, FORUM_CHANNEL],
  ] as const)
    await addAccount(service.db, cipher, {
      igUserId: id,
      username: id === TEXT_ACCOUNT ? "brand" : "brand_forum",
      token: "IGAA-e2e-token",
      chat: { platform: "discord", channel },
    });
  await waitFor(async () => (discord.sessions().connected > 0 ? true : undefined), 15_000, "the gateway");
  const threadOf = (sql: string, params: unknown[]) =>
    waitFor(
      async () => {
        const { rows } = await h.service.db.query<{ chat_thread: string | null }>(sql, params);
        return rows[0]?.chat_thread ?? undefined;
      },
      10_000,
      "a thread",
    );
  const h: DiscordHarness = {
    discord,
    graph,
    t,
    service,
    url: () => h.service.url as string,
    async restart() {
      await h.service.stop();
      h.service = await startTestService(t);
      await waitFor(async () => (discord.sessions().connected > 0 ? true : undefined), 15_000, "the gateway");
    },
    sends: () => graph.requests.filter((r) => r.method === "POST" && r.path.endsWith("/messages")),
    threadOf: (account, customer) =>
      threadOf("SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2", [
        account,
        customer,
      ]),
    commentThreadOf: (root) =>
      threadOf("SELECT chat_thread FROM comment_threads WHERE root_comment_id = $1", [root]),
    posts: (thread, n) =>
      waitFor(
        async () => {
          const all = discord.messages(thread).filter((m) => !m.deleted);
          const after = all.slice(1);
          return after.length >= n ? after : undefined;
        },
        10_000,
        `${n} posts in ${thread}`,
      ),
    agentSays: (thread, content, authorId = AGENT.id) => discord.userMessage(thread, { authorId, content }),
    settled: (chatRef, state) =>
      waitFor(
        async () => {
          const { rows } = await h.service.db.query<{
            delivery_state: string;
            delivery_error: string | null;
          }>("SELECT delivery_state, delivery_error FROM messages WHERE chat_ref = $1", [chatRef]);
          return rows[0]?.delivery_state === state ? rows[0] : undefined;
        },
        10_000,
        `message ${chatRef} ${state}`,
      ),
    async close() {
      await h.service.stop();
      await graph.close();
      await discord.close();
      await t.cleanup();
    },
  };
  return h;
}
