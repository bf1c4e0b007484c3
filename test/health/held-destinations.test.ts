// Errors no retry can fix (issue 19): a chat destination that answers not_in_channel or
// missing_scope (Slack, the latter for the whole platform) or Missing Permissions (Discord) holds
// its mirror work instead of spending the jobs' retries toward the dead-letter queue; once the
// periodic recheck passes (the bot joins, the scope or permission is given) every held event is
// mirrored exactly once, in its conversation's order.

import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { createLogger } from "../../src/log/logger.ts";
import { PERMISSION } from "../fakes/discord-server.ts";
import { ACCOUNT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import {
  type DiscordHarness,
  FORUM_ACCOUNT,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../helpers/discord-bridge.ts";
import { METRICS_TOKEN, OPERATOR, TEST_BACKEND, waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const RETRY_LIMIT = 20;
const CHECK = { CHAT_CHECK_SECONDS: "1", METRICS_TOKEN, INBOUND_RETRY_LIMIT: String(RETRY_LIMIT) };

/** Posts one DM webhook per text, in order, from `customer`. */
async function send(url: string, account: string, customer: string, texts: string[]): Promise<void> {
  const t0 = Date.now();
  for (const [i, text] of texts.entries())
    expect(
      (await postWebhook(url, dmText(account, customer, `mid.${customer}.${text}`, text, t0 + i))).status,
    ).toBe(200);
}

interface EventState {
  status: string;
  attempts: number;
  held_by: string | null;
  retry_count: number | null;
  retry_limit: number | null;
}

/** Each stored event of `account` with its job: nothing dead, no attempt counted, no retry spent. */
async function events(db: Database, account: string): Promise<EventState[]> {
  const { rows } = await db.query<EventState>(
    `SELECT e.status, e.attempts, e.held_by, j.retry_count, j.retry_limit
       FROM inbound_events e LEFT JOIN pgboss.job j ON j.id = e.job_id
      WHERE e.account_id = $1 ORDER BY e.id`,
    [account],
  );
  return rows;
}

/** Waits until every stored event of `account` is processed and none is held any more. */
function allProcessed(db: Database, account: string): Promise<EventState[]> {
  return waitFor(
    async () => {
      const rows = await events(db, account);
      return rows.every((r) => r.status === "processed" && r.held_by === null) ? rows : undefined;
    },
    20_000,
    "every event processed",
  );
}

function expectNothingSpent(rows: EventState[]): void {
  for (const r of rows) {
    expect(r.status).toBe("queued");
    expect(r.attempts).toBe(0);
    // The attempt a held job makes is given back: it keeps all of its retries.
    if (r.retry_limit !== null && r.retry_count !== null)
      expect(r.retry_limit - r.retry_count).toBeGreaterThanOrEqual(RETRY_LIMIT);
  }
}

async function readyz(url: string) {
  return (await (await fetch(`${url}/readyz`, { headers: OPERATOR })).json()) as {
    status: string;
    checks: Record<string, { degraded?: boolean; detail?: string }>;
    chat: Record<string, { held: Array<{ channel: string; reason: string; fix: string }> }>;
  };
}

describe("Slack: the bot is not in the channel", () => {
  let h: BridgeHarness;

  beforeAll(async () => {
    h = await startBridgeHarness(CHECK);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it("holds the channel's events without spending retries, then mirrors each once, in order, when the bot joins", async () => {
    h.slack.setChannel(CHANNEL, { name: "instagram", member: false });
    await send(h.url(), ACCOUNT, "1790000000000101", ["a1", "a2", "a3", "a4", "a5"]);
    await send(h.url(), ACCOUNT, "1790000000000102", ["b1", "b2"]);

    // The first refusal records the hold; every conversation's next event then waits on it.
    const hold = await waitFor(
      async () => {
        const { rows } = await h.service.db.query<{ reason: string; fix: string }>(
          "SELECT reason, fix FROM chat_destination_holds WHERE platform = 'slack' AND channel = $1",
          [CHANNEL],
        );
        return rows[0];
      },
      20_000,
      "the hold",
    );
    expect(hold).toEqual({
      reason: "not_in_channel",
      fix: `Invite the bot to the channel: type /invite @threadbridge in <#${CHANNEL}>.`,
    });
    await waitFor(
      async () => {
        const held = (await events(h.service.db, ACCOUNT)).filter((e) => e.held_by === `slack:${CHANNEL}`);
        return held.length === 2 ? held : undefined;
      },
      20_000,
      "both conversations held",
    );

    // Several rechecks later: still held, no new call to Slack's channel, nothing dead or spent.
    const calls = () => h.slack.callsOf("chat.postMessage").filter((c) => c.args.channel === CHANNEL).length;
    const before = calls();
    expect(before).toBeLessThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 3_500));
    expect(calls()).toBe(before);
    expectNothingSpent(await events(h.service.db, ACCOUNT));

    const ready = await readyz(h.url());
    expect(ready.status).toBe("degraded");
    expect(ready.checks.slack?.detail).toMatch(
      new RegExp(`mirror work held for ${CHANNEL} \\(not_in_channel\\) since`),
    );
    expect(ready.chat.slack?.held).toMatchObject([{ channel: CHANNEL, reason: "not_in_channel" }]);
    const metrics = await (await fetch(`${h.url()}/metrics`, { headers: OPERATOR })).text();
    expect(metrics).toContain(`threadbridge_chat_destination_held{platform="slack",channel="${CHANNEL}"} 1`);

    // The bot joins: the next recheck lets the work go.
    h.slack.setChannel(CHANNEL, { member: true });
    const first = await h.rootOf("1790000000000101");
    const second = await h.rootOf("1790000000000102");
    const a = await h.replies(first, 5);
    const b = await h.replies(second, 2);
    const texts = (replies: typeof a) => replies.map((m) => m.text?.split(": ").pop());
    expect(texts(a)).toEqual(["a1", "a2", "a3", "a4", "a5"]);
    expect(texts(b)).toEqual(["b1", "b2"]);
    await allProcessed(h.service.db, ACCOUNT);
    // Exactly once: one root per conversation, no duplicate post.
    expect(h.slack.topLevel(CHANNEL)).toHaveLength(2);
    expect(h.slack.thread(CHANNEL, first)).toHaveLength(6);
    const { rows } = await h.service.db.query("SELECT 1 FROM chat_destination_holds");
    expect(rows).toEqual([]);
    expect((await readyz(h.url())).chat.slack?.held).toEqual([]);
  });
});

describe("Slack: a scope taken away holds the whole platform", () => {
  let h: BridgeHarness;
  const out = new PassThrough();
  let logged = "";
  out.on("data", (chunk: Buffer) => {
    logged += chunk.toString();
  });
  const lines = () =>
    logged
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    h = await startBridgeHarness(CHECK, {}, TEST_BACKEND, createLogger("info", { destination: out }));
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it("holds every event, logs the hold once as an error with the fix, then mirrors each once, in order, when the scope is back", async () => {
    h.slack.revokeScopes(["chat:write"]);
    await send(h.url(), ACCOUNT, "1790000000000301", ["p1", "p2", "p3"]);
    await send(h.url(), ACCOUNT, "1790000000000302", ["q1", "q2"]);

    const hold = await waitFor(
      async () => {
        const { rows } = await h.service.db.query<{ channel: string; reason: string }>(
          "SELECT channel, reason FROM chat_destination_holds WHERE platform = 'slack'",
        );
        return rows[0];
      },
      20_000,
      "the hold",
    );
    expect(hold).toEqual({ channel: "*", reason: "missing_scope" });
    await waitFor(
      async () => {
        const held = (await events(h.service.db, ACCOUNT)).filter((e) => e.held_by === "slack:*");
        return held.length === 2 ? held : undefined;
      },
      20_000,
      "both conversations held",
    );
    // Several rechecks: still held, nothing spent, and the hold was said once however many
    // events and rechecks met it.
    await new Promise((r) => setTimeout(r, 3_500));
    expectNothingSpent(await events(h.service.db, ACCOUNT));
    const said = lines().filter((e) => String(e.msg).startsWith("chat destination unusable"));
    expect(said).toEqual([
      expect.objectContaining({
        level: 50,
        platform: "slack",
        channel: "*",
        reason: "missing_scope",
        fix: expect.stringMatching(/^Add the chat:write scope under OAuth & Permissions/),
        msg: expect.stringMatching(
          /its mirror work is held until a recheck passes\. Add the chat:write scope/,
        ),
      }),
    ]);
    const ready = await readyz(h.url());
    expect(ready.checks.slack?.detail).toMatch(/mirror work held for every channel \(missing_scope\) since/);
    const metrics = await (await fetch(`${h.url()}/metrics`, { headers: OPERATOR })).text();
    expect(metrics).toContain('threadbridge_chat_destination_held{platform="slack",channel="*"} 1');

    h.slack.grantScopes(["chat:write"]);
    const first = await h.rootOf("1790000000000301");
    const second = await h.rootOf("1790000000000302");
    const texts = (replies: Awaited<ReturnType<typeof h.replies>>) =>
      replies.map((m) => m.text?.split(": ").pop());
    expect(texts(await h.replies(first, 3))).toEqual(["p1", "p2", "p3"]);
    expect(texts(await h.replies(second, 2))).toEqual(["q1", "q2"]);
    await allProcessed(h.service.db, ACCOUNT);
    expect(h.slack.topLevel(CHANNEL)).toHaveLength(2);
    expect(h.slack.thread(CHANNEL, first)).toHaveLength(4);
    expect(lines().filter((e) => String(e.msg).startsWith("chat destination usable again"))).toHaveLength(1);
  });
});

describe("Discord: Missing Permissions in the channel", () => {
  let h: DiscordHarness;

  beforeAll(async () => {
    h = await startDiscordHarness(CHECK);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it("holds that channel only, then mirrors each event once, in order, once the permission is given", async () => {
    h.discord.setOverwrite(
      TEXT_CHANNEL,
      "member",
      0n,
      PERMISSION.SendMessagesInThreads | PERMISSION.ManageWebhooks,
    );
    await send(h.url(), TEXT_ACCOUNT, "1790000000000201", ["c1", "c2", "c3", "c4"]);
    await send(h.url(), FORUM_ACCOUNT, "1790000000000202", ["f1", "f2"]);

    const hold = await waitFor(
      async () => {
        const { rows } = await h.service.db.query<{ reason: string; fix: string }>(
          "SELECT reason, fix FROM chat_destination_holds WHERE platform = 'discord' AND channel = $1",
          [TEXT_CHANNEL],
        );
        return rows[0];
      },
      20_000,
      "the hold",
    );
    expect(hold.reason).toBe("missing_permissions");
    expect(hold.fix).toMatch(/Give the bot's role/);
    // Another destination of the same platform goes on meanwhile.
    const forumThread = await h.threadOf(FORUM_ACCOUNT, "1790000000000202");
    expect((await h.posts(forumThread, 2)).map((m) => m.content)).toEqual([
      expect.stringContaining("f1"),
      expect.stringContaining("f2"),
    ]);
    await new Promise((r) => setTimeout(r, 3_000));
    expectNothingSpent(await events(h.service.db, TEXT_ACCOUNT));
    const ready = await readyz(h.url());
    expect(ready.checks.discord?.degraded).toBe(true);
    expect(ready.checks.discord?.detail).toMatch(/Send Messages In Threads .*Manage Webhooks/);
    expect(ready.chat.discord?.held.map((x) => x.channel)).toEqual([TEXT_CHANNEL]);

    h.discord.setOverwrite(TEXT_CHANNEL, "member", 0n, 0n);
    const thread = await h.threadOf(TEXT_ACCOUNT, "1790000000000201");
    const posts = await h.posts(thread, 4);
    expect(posts.map((m) => m.content)).toEqual(
      ["c1", "c2", "c3", "c4"].map((c) => expect.stringContaining(c)),
    );
    await allProcessed(h.service.db, TEXT_ACCOUNT);
    expect(h.discord.threads(TEXT_CHANNEL)).toHaveLength(1);
    expect(h.discord.messages(thread).filter((m) => !m.deleted)).toHaveLength(5);
  });
});
