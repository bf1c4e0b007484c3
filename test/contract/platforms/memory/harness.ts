// The contract harness on the memory platform: the service started with this build's platforms
// plus the memory descriptor (none of the others configured), one account routed to a room, and
// people acting through the Room, which hands their actions to the core's ChatInbox.

import { expect } from "vitest";
import { platforms } from "../../../../adapters/index.ts";
import { addAccount } from "../../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../../src/instagram/token-cipher.ts";
import type { Service } from "../../../../src/service.ts";
import { instagramResponder, startGraphServer } from "../../../fakes/graph-server.ts";
import { startTestService, TEST_BACKEND, TEST_KEY, testEnv, waitFor } from "../../../helpers/service.ts";
import type { ChatHarness, ChatPerson, ContractPlatform, Mark, Posted } from "../../harness.ts";
import { memoryPlatform } from "./index.ts";
import { PLATFORM, Room, type RoomMessage } from "./room.ts";

const ACCOUNT = "17841400000000001";
const CHANNEL = "room-instagram";
const AGENT: ChatPerson = { id: "ana", name: "Ana" };
const ADMIN: ChatPerson = { id: "root", name: "Root" };
/** The group the scenarios use as an assignment pool. */
const POOL = "team";
const MARKS: Record<Mark, string> = { pending: "⏳", held: "⏸️", sent: "✅", failed: "⚠️" };

function posted(m: RoomMessage): Posted {
  return {
    id: m.id,
    text: m.text,
    shows: `${m.text}\n${JSON.stringify(m.buttons)}`,
    ...(m.as ? { author: m.as } : {}),
    edited: m.edited,
    fromBridge: m.author === "bridge",
    actions: m.buttons.map((b) => b.id),
  };
}

export const memory: ContractPlatform = {
  name: PLATFORM,
  async start(options = {}) {
    const room = new Room([AGENT, ADMIN]);
    room.groups.set(POOL, [AGENT.id, ADMIN.id]);
    const graph = await startGraphServer(instagramResponder());
    const t = await testEnv(
      options.backend ?? TEST_BACKEND,
      {
        IG_GRAPH_URL: graph.url,
        ADMIN_USERS: `${PLATFORM}:${ADMIN.id}`,
        OUTBOUND_ECHO_GRACE_SECONDS: "2",
        ...options.env,
      },
      [...platforms, memoryPlatform(room)],
    );
    let service: Service = await startTestService(t);
    await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: ACCOUNT,
      username: "brand",
      token: "IGAA-e2e-token",
      chat: { platform: PLATFORM, channel: CHANNEL },
    });
    const threadOf = (sql: string, key: string) =>
      waitFor(
        async () => {
          const { rows } = await service.db.query<{ chat_thread: string | null }>(sql, [ACCOUNT, key]);
          return rows[0]?.chat_thread ?? undefined;
        },
        10_000,
        `thread of ${key}`,
      );
    const stateOf = async (ref: string) => {
      const { rows } = await service.db.query<{ delivery_state: string; delivery_error: string | null }>(
        "SELECT delivery_state, delivery_error FROM messages WHERE chat_ref = $1",
        [ref],
      );
      return rows[0];
    };
    const inThread = (thread: string) => room.thread(thread).map(posted);
    const h: ChatHarness = {
      platform: PLATFORM,
      account: ACCOUNT,
      channel: CHANNEL,
      otherChannel: "room-other-brand",
      agent: AGENT,
      admin: ADMIN,
      pool: POOL,
      erasesPeoplesMessages: true,
      cannotQuote: undefined,
      commandsInThreads: true,
      graph,
      t,
      get service() {
        return service;
      },
      url: () => service.url as string,
      async restart() {
        await service.stop();
        service = await startTestService(t);
      },
      async close() {
        await service.stop();
        await graph.close();
        await t.cleanup();
      },
      key: (p) => `${PLATFORM}:${p.id}`,
      sends: () => graph.requests.filter((r) => r.method === "POST" && r.path.endsWith("/messages")),
      threadOf: (customer) =>
        threadOf(
          "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
          customer,
        ),
      commentThreadOf: (root) =>
        threadOf(
          "SELECT chat_thread FROM comment_threads WHERE account_id = $1 AND root_comment_id = $2",
          root,
        ),
      root(thread) {
        const m = room.find(thread);
        return m ? posted(m) : undefined;
      },
      posts: (thread, n) =>
        waitFor(
          async () => {
            const after = inThread(thread).filter((m) => m.id !== thread);
            return after.length >= n ? after : undefined;
          },
          10_000,
          `${n} posts in ${thread}`,
        ),
      messages: inThread,
      message(thread, id) {
        const m = room.find(id);
        return m && m.thread === thread ? posted(m) : undefined;
      },
      threadCount: () => room.messages.filter((m) => m.channel === CHANNEL && m.thread === m.id).length,
      threadsOpened: (text) => room.opened.filter((o) => o.text.includes(text)).length,
      said: (text) => expect.stringMatching(new RegExp(`^${RegExp.escape(text)}$`)),
      reactions: (_thread, message) =>
        [...(room.find(message)?.reactions ?? [])].filter(([, who]) => who.size > 0).map(([emoji]) => emoji),
      marked: (_thread, message, mark) =>
        room.find(message)?.reactions.get(MARKS[mark])?.has("bridge") ?? false,

      agentSays: (thread, text, options = {}) =>
        room.say(thread, (options.as ?? AGENT).id, text, options.files, options.quoting),
      press: (_thread, message, actionId, options = {}) =>
        room.press(message, actionId, (options.as ?? AGENT).id, options.pick),
      react: (_thread, message, emoji, as = AGENT) =>
        room.react(message, emoji, as === "bridge" ? "bridge" : as.id),
      unreact: (_thread, message, emoji, as = AGENT) => room.unreact(message, emoji, as.id),
      async command(name, args = {}, options = {}) {
        const note = await room.command(name, args, (options.as ?? AGENT).id, options.in ?? CHANNEL);
        return {
          text: note.text,
          ...(note.file ? { file: { ...note.file, onlyFor: note.to } } : {}),
        };
      },
      toldPrivately: (person) =>
        room.notes.filter((n) => n.to === person.id && !n.answer && n.text).map((n) => n.text),
      stateOf,
      settled: (ref, state) =>
        waitFor(
          async () => {
            const s = await stateOf(ref);
            return s?.delivery_state === state ? s : undefined;
          },
          10_000,
          `message ${ref} ${state}`,
        ),
    };
    return h;
  },
};
