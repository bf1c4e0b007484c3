// A worker that dies right after a chat call, before it stores the call's result, must not make
// the retry post again: the retry finds the post on the platform (Slack by the metadata key,
// Discord by identical content no other row has taken) and stores it. The "death" is a wrapper
// that lets the real adapter's call reach the fake, then throws instead of returning, so nothing
// after the call runs, as with SIGKILL.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatAdapter, ChatPlatform } from "../../src/chat/chat-port.ts";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Mirror } from "../../src/mirror/mirror.ts";
import { Bridge } from "../../src/mirror/pipeline.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import { type DiscordHarness, FORUM, startDiscordHarness, TEXT } from "../adapters/discord/harness.ts";
import { type BackendDatabase, createBackendDatabase } from "../helpers/backend.ts";
import { type SlackHarness, startSlackHarness } from "../helpers/slack.ts";
import { storeDmEvent } from "../helpers/stored-dm.ts";

const SLACK_CHANNEL = "C0RESUME";
const ACCOUNTS = { slack: "17841400000000101", text: "17841400000000102", forum: "17841400000000103" };

let tdb: BackendDatabase;
let db: Database;
let slack: SlackHarness;
let discord: DiscordHarness;

class WorkerDied extends Error {}

/** The adapter, except that the next `method` call dies after the platform has done it. */
function dyingAfter(adapter: ChatAdapter, method: "post" | "openThread"): ChatAdapter {
  let armed = true;
  return new Proxy(adapter, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        if (prop === method && armed) {
          armed = false;
          throw new WorkerDied(`worker died after ${method}`);
        }
        return result;
      };
    },
  });
}

function bridgeWith(platform: ChatPlatform, adapter: ChatAdapter): Bridge {
  const log = createLogger("silent");
  const mirror = new Mirror({
    db,
    adapters: new Map([[platform, adapter]]),
    gateway: undefined,
    log,
    metrics: new Metrics(),
    humanAgent: true,
    refreshMs: 3_600_000,
  });
  return new Bridge({ db, log, mirror });
}

const storeDm = (account: string, customer: string, text: string) =>
  storeDmEvent(db, account, customer, text);

/** Handles the event with a worker that dies at `method`, then with a healthy one. */
async function dieThenRetry(
  platform: ChatPlatform,
  adapter: ChatAdapter,
  method: "post" | "openThread",
  eventId: number,
): Promise<void> {
  await expect(bridgeWith(platform, dyingAfter(adapter, method)).handleStored(eventId)).rejects.toThrow(
    WorkerDied,
  );
  const retried = await bridgeWith(platform, adapter).handleStored(eventId);
  expect(retried.outcome).toBe("processed");
}

async function stored(account: string, customer: string) {
  const { rows } = await db.query<{ chat_thread: string; refs: string[] }>(
    `SELECT c.chat_thread, array_agg(m.chat_ref ORDER BY m.id) AS refs
       FROM conversations c JOIN messages m ON m.conversation_id = c.id
      WHERE c.account_id = $1 AND c.customer_id = $2 GROUP BY c.chat_thread`,
    [account, customer],
  );
  return rows[0] as { chat_thread: string; refs: string[] };
}

beforeAll(async () => {
  tdb = await createBackendDatabase();
  db = await openDatabase(tdb.target.kind === "postgres" ? { ...tdb.target, poolSize: 4 } : tdb.target);
  await migrate(db);
  slack = await startSlackHarness();
  discord = await startDiscordHarness();
  const cipher = TokenCipher.fromConfig(Buffer.alloc(32, 9).toString("base64"));
  for (const [id, platform, channel] of [
    [ACCOUNTS.slack, "slack", SLACK_CHANNEL],
    [ACCOUNTS.text, "discord", TEXT],
    [ACCOUNTS.forum, "discord", FORUM],
  ] as const)
    await addAccount(db, cipher, {
      igUserId: id,
      username: `brand_${id.slice(-3)}`,
      token: "IGAA-resume",
      chat: { platform, channel },
    });
});

afterAll(async () => {
  await slack?.close();
  await discord?.close();
  await db?.close();
  await tdb?.drop();
});

describe("Slack", () => {
  it("finds the post of a worker that died before storing it, instead of posting again", async () => {
    const adapter = slack.bridge.adapter;
    const first = await storeDm(ACCOUNTS.slack, "7001", "hello");
    await bridgeWith("slack", adapter).handleStored(first);
    const second = await storeDm(ACCOUNTS.slack, "7001", "are you there?");
    await dieThenRetry("slack", adapter, "post", second);

    const { chat_thread, refs } = await stored(ACCOUNTS.slack, "7001");
    const replies = slack.slack.thread(SLACK_CHANNEL, chat_thread).slice(1);
    expect(replies.map((m) => m.text)).toEqual([
      "Instagram user 7001: hello",
      "Instagram user 7001: are you there?",
    ]);
    expect(refs).toEqual(replies.map((m) => m.ts));
    // The retry read the thread (with metadata) once and posted nothing.
    const lookups = slack.slack.callsOf("conversations.replies");
    expect(lookups.at(-1)?.args).toMatchObject({ ts: chat_thread, include_all_metadata: "true" });
  });

  it("finds the thread root of a worker that died before storing it", async () => {
    const adapter = slack.bridge.adapter;
    const roots = () =>
      slack.slack
        .callsOf("chat.postMessage")
        .filter((c) => c.args.channel === SLACK_CHANNEL && c.args.thread_ts === undefined).length;
    const before = roots();
    const event = await storeDm(ACCOUNTS.slack, "7002", "first words");
    await dieThenRetry("slack", adapter, "openThread", event);
    expect(roots()).toBe(before + 1);
    const { chat_thread, refs } = await stored(ACCOUNTS.slack, "7002");
    expect(slack.slack.callsOf("conversations.history").at(-1)?.args).toMatchObject({
      channel: SLACK_CHANNEL,
      include_all_metadata: "true",
    });
    expect(
      slack.slack
        .thread(SLACK_CHANNEL, chat_thread)
        .slice(1)
        .map((m) => m.ts),
    ).toEqual(refs);
  });

  it("a first attempt never looks: one post, no reads", async () => {
    const before = slack.slack.callsOf("conversations.replies").length;
    const event = await storeDm(ACCOUNTS.slack, "7001", "third");
    await bridgeWith("slack", slack.bridge.adapter).handleStored(event);
    expect(slack.slack.callsOf("conversations.replies").length).toBe(before);
  });
});

describe.each([
  ["a text channel", ACCOUNTS.text],
  ["a forum", ACCOUNTS.forum],
])("Discord, %s", (_where, account) => {
  const customer = account === ACCOUNTS.text ? "8001" : "8002";

  it("finds the webhook post of a worker that died, and a same-text message is still posted", async () => {
    const adapter = discord.bridge.adapter;
    const first = await storeDm(account, customer, "same words");
    await bridgeWith("discord", adapter).handleStored(first);
    // The customer says the same again; the worker dies after posting it.
    const second = await storeDm(account, customer, "same words");
    await dieThenRetry("discord", adapter, "post", second);
    const { chat_thread, refs } = await stored(account, customer);
    const posts = discord.discord.messages(chat_thread).filter((m) => m.webhookId);
    expect(posts.map((m) => m.content)).toEqual(["same words", "same words"]);
    expect(refs).toEqual(posts.map((m) => m.id));
  });

  it("finds the thread a worker opened before it died", async () => {
    const adapter = discord.bridge.adapter;
    const event = await storeDm(account, `${customer}9`, "a new conversation");
    await dieThenRetry("discord", adapter, "openThread", event);
    const { chat_thread, refs } = await stored(account, `${customer}9`);
    const parent = account === ACCOUNTS.text ? TEXT : FORUM;
    const named = discord.discord
      .threads(parent)
      .filter((t) => t.name === discord.discord.channel(chat_thread)?.name);
    expect(named).toHaveLength(1);
    expect(
      discord.discord
        .messages(chat_thread)
        .filter((m) => m.webhookId)
        .map((m) => m.id),
    ).toEqual(refs);
  });
});
