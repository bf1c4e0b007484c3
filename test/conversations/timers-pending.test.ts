// The customer timers are pending about once per conversation and stage, not once per message
// (issue 23, conversations/timers.ts): a customer message whose timers are already pending for an
// earlier time sets no job and sends no statement for them; the pending job, when it comes due,
// finds the newer message and sets itself again for it, so the nudge still comes at the time the
// last message calls for, once. Time is the Timers' own clock, moved by hand; the queue is played
// by `fireDue`, which hands each due timer job to `Timers.fire` in the order pg-boss would.

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ChatAdapter } from "../../src/chat/chat-port.ts";
import { Timers } from "../../src/conversations/timers.ts";
import type { Database, SqlClient } from "../../src/db/database.ts";
import type { DmMessage } from "../../src/instagram/events.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { Mirror } from "../../src/mirror/mirror.ts";
import { Bridge } from "../../src/mirror/pipeline.ts";
import { recordEvent } from "../../src/mirror/record.ts";
import { startBoss, TIMER_QUEUE, type TimerJob, timerKey } from "../../src/queue/boss.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const ACCOUNT = "17841400000000701";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Ahead of the real clock, as the timers' clock is what a firing job compares its mark with when it
// is later than the database's. Each test starts 30 days after the one before, past every timer
// the earlier ones left pending.
const START = Date.parse("2031-03-02T10:00:00Z");
let T0 = START;

const store = useBackendDatabase("service");
let db: Database;
let boss: Awaited<ReturnType<typeof startBoss>>;
let clock = T0;
const notices: { thread: string; text: string }[] = [];
/** Statements the recording transactions sent, per handled event. */
let statements: string[] = [];

const log = createLogger("silent");
const adapter = {
  notice: async (thread: { thread: string }, text: string) => {
    notices.push({ thread: thread.thread, text });
    return `notice-${notices.length}`;
  },
} as unknown as ChatAdapter;
// The auto-close refreshes the thread's header; nothing else of the mirror is used.
const mirror = { refreshDmHeader: async () => {} } as unknown as Mirror;

let timers: Timers;
let bridge: Bridge;

/** The database, except that what a transaction sends is written down. */
function counting(inner: Database): Database {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== "transaction") return Reflect.get(target, prop, receiver);
      return <T>(fn: (tx: SqlClient) => Promise<T>) =>
        target.transaction((tx) =>
          fn({
            query: (text: string, values?: unknown[]) => {
              statements.push(text);
              return tx.query(text, values);
            },
          } as SqlClient),
        );
    },
  });
}

beforeAll(async () => {
  ({ db } = store);
  boss = await startBoss(db, log, {
    retryLimit: 3,
    expireSeconds: 60,
    superviseSeconds: 60,
    supervise: false,
  });
  timers = new Timers({
    db,
    boss,
    mirror,
    adapters: new Map([["slack", adapter]]),
    humanAgent: true,
    onDuty: [],
    log,
    now: () => new Date(clock),
  });
  bridge = new Bridge({ db: counting(db), log, timers });
}, 60_000);
afterAll(async () => {
  await boss?.stop({ graceful: false, close: false });
});

let tests = 0;
beforeEach(() => {
  T0 = START + tests++ * 30 * DAY;
  clock = T0;
});

/** The notices posted in the customer's thread. */
const noticesIn = (customer: string) => notices.filter((n) => n.thread === customer).map((n) => n.text);

let seq = 0;
/** The customer's message written at `at`, taken through the inbound pipeline as the worker does;
 * the statements its recording sent. */
async function customerWrites(customer: string, at: number): Promise<string[]> {
  seq += 1;
  const event: DmMessage = {
    type: "dm.message",
    accountId: ACCOUNT,
    customerId: customer,
    occurredAt: at,
    mid: `mid.pending.${seq}`,
    text: `message ${seq}`,
    attachments: [],
  };
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO inbound_events (account_id, dedupe_key, kind, thread_key, event, raw, occurred_at, job_id)
     VALUES ($1, $2, $3, $4, $5, '{}', now(), gen_random_uuid()) RETURNING id`,
    [ACCOUNT, event.mid, event.type, `dm:${customer}`, JSON.stringify(event)],
  );
  statements = [];
  await bridge.handleStored((rows[0] as { id: number }).id);
  // The conversation's thread, as the mirror would have opened it.
  await db.query(
    `UPDATE conversations SET chat_platform = 'slack', chat_channel = 'C0PENDING', chat_thread = customer_id
      WHERE account_id = $1 AND customer_id = $2`,
    [ACCOUNT, customer],
  );
  return statements;
}

async function conversationOf(customer: string): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    "SELECT id FROM conversations WHERE account_id = $1 AND customer_id = $2",
    [ACCOUNT, customer],
  );
  return (rows[0] as { id: number }).id;
}

/** The conversation's timer jobs ever created, by key. */
async function jobsOf(customer: string): Promise<{ key: string; state: string; at: number }[]> {
  const { rows } = await db.query<{ singleton_key: string; state: string; start_after: Date }>(
    `SELECT singleton_key, state, start_after FROM pgboss.job
      WHERE name = $1 AND (data->>'conversationId')::bigint = $2 ORDER BY created_on, singleton_key`,
    [TIMER_QUEUE, await conversationOf(customer)],
  );
  return rows.map((r) => ({ key: r.singleton_key, state: r.state, at: new Date(r.start_after).getTime() }));
}

/** Plays the queue up to `until`: each timer job due by then, earliest first, fired at its time. */
async function fireDue(until: number): Promise<void> {
  for (;;) {
    const { rows } = await db.query<{ id: string; data: TimerJob; start_after: Date }>(
      `SELECT id, data, start_after FROM pgboss.job WHERE name = $1 AND state = 'created' AND start_after <= $2
        ORDER BY start_after, created_on LIMIT 1`,
      [TIMER_QUEUE, new Date(until).toISOString()],
    );
    const job = rows[0];
    if (!job) break;
    clock = Math.max(clock, new Date(job.start_after).getTime());
    await db.query("UPDATE pgboss.job SET state = 'active', started_on = now() WHERE id = $1", [job.id]);
    await timers.fire(job.data);
    await db.query("UPDATE pgboss.job SET state = 'completed', completed_on = now() WHERE id = $1", [job.id]);
  }
  clock = Math.max(clock, until);
}

async function firedKeys(customer: string): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>(
    `SELECT details->>'key' AS key FROM audit_log WHERE account_id = $1 AND action = 'timer_fired' AND target = $2
      ORDER BY id`,
    [ACCOUNT, `customer:${customer}`],
  );
  return rows.map((r) => r.key);
}

const timerStatements = (sent: string[]) =>
  sent.filter((s) => /pgboss|pending_timers\s*=|FROM conversations c JOIN instagram_accounts/.test(s));

describe("customer timers pending once per conversation and stage", () => {
  it("sets one job per stage for a run of messages, and no statement for the later ones", async () => {
    const customer = "1000000000007001";
    const first = await customerWrites(customer, T0);
    // The account row is created by the first event: the auto-close is turned on after it.
    await db.query(
      `UPDATE instagram_accounts SET settings = settings || '{"timers": {"autoCloseAfterSeconds": 3600}}'::jsonb
        WHERE id = $1`,
      [ACCOUNT],
    );
    expect(timerStatements(first).length).toBeGreaterThan(0);
    expect((await jobsOf(customer)).map((j) => j.key.split(":").slice(0, 2).join(":"))).toEqual([
      "nudge:human_agent",
      "nudge:window",
    ]);

    // The next message still finds no auto-close pending: it sets that one alone.
    clock = T0 + MINUTE;
    await customerWrites(customer, clock);
    expect((await jobsOf(customer)).filter((j) => j.key.startsWith("auto_close:"))).toHaveLength(1);
    const jobs = (await jobsOf(customer)).length;
    expect(jobs).toBe(3);

    for (let i = 2; i <= 10; i++) {
      clock = T0 + i * MINUTE;
      const sent = await customerWrites(customer, clock);
      expect(timerStatements(sent)).toEqual([]);
    }
    expect(await jobsOf(customer)).toHaveLength(jobs);
  });

  it("nudges at the time the last of several messages calls for, once, and a later message sets its own", async () => {
    await db.query(
      `UPDATE instagram_accounts SET settings = settings || '{"timers": {"autoCloseAfterSeconds": 0}}'::jsonb
        WHERE id = $1`,
      [ACCOUNT],
    );
    const customer = "1000000000007002";
    await customerWrites(customer, T0);
    clock = T0 + 10 * MINUTE;
    await customerWrites(customer, clock);
    clock = T0 + 3 * HOUR;
    await customerWrites(customer, clock);
    const windowJobs = async () => (await jobsOf(customer)).filter((j) => j.key.startsWith("nudge:window:"));
    expect(await windowJobs()).toHaveLength(1);
    const last = new Date(T0 + 3 * HOUR).toISOString();
    const id = await conversationOf(customer);

    // The first message's nudge time (24 h - 2 h after it): nothing to say yet, the window closes
    // 24 h after the last message. It sets itself again for that one.
    await fireDue(T0 + 22 * HOUR);
    expect(noticesIn(customer)).toEqual([]);
    const again = (await windowJobs()).find((j) => j.state === "created");
    expect(again).toMatchObject({
      key: timerKey({ kind: "nudge", conversationId: id, stage: "window", anchor: last }),
      at: T0 + 3 * HOUR + 22 * HOUR,
    });

    await fireDue(T0 + 25 * HOUR - 1000);
    expect(noticesIn(customer)).toEqual([]);
    await fireDue(T0 + 25 * HOUR);
    expect(noticesIn(customer)).toEqual([
      expect.stringMatching(/waited 22h 0m unanswered: the 24-hour window closes in 2h 0m/),
    ]);
    expect(await firedKeys(customer)).toEqual([`nudge:window:${id}:${last}`]);
    expect(await windowJobs()).toHaveLength(2);

    // Written just after that nudge (its mark is gone with it): its own, 22 h later.
    const later = T0 + 25 * HOUR + 10_000;
    clock = later;
    await customerWrites(customer, later);
    expect(await windowJobs()).toHaveLength(3);
    await fireDue(later + 22 * HOUR);
    expect(noticesIn(customer)).toHaveLength(2);
    expect(await firedKeys(customer)).toEqual([
      `nudge:window:${id}:${last}`,
      `nudge:window:${id}:${new Date(later).toISOString()}`,
    ]);
  });

  it("sees a message recorded while it reads the conversation", async () => {
    const customer = "1000000000007006";
    await customerWrites(customer, T0);
    const [pending] = await db
      .query<{ id: string; data: TimerJob }>(
        `SELECT id, data FROM pgboss.job WHERE name = $1 AND data->>'stage' = 'window'
          AND (data->>'conversationId')::bigint = $2`,
        [TIMER_QUEUE, await conversationOf(customer)],
      )
      .then((r) => r.rows);
    if (!pending) throw new Error("no window nudge pending");
    const second = T0 + 22 * HOUR - 5_000;
    clock = T0 + 22 * HOUR;
    // The pending nudge comes due while the customer's next message is being recorded: its read
    // waits for the recording, and finds the message.
    let firing: Promise<void> | undefined;
    await db.transaction(async (tx) => {
      const { conversation, accountSettings } = await recordEvent(tx, {
        type: "dm.message",
        accountId: ACCOUNT,
        customerId: customer,
        occurredAt: second,
        mid: "mid.pending.during",
        text: "still there?",
        attachments: [],
      });
      if (!conversation) throw new Error("not recorded");
      await timers.customerWrote(tx, conversation, accountSettings ?? null);
      firing = timers.fire(pending.data);
      await sleep(300);
    });
    await firing;
    expect(noticesIn(customer)).toEqual([]);
    await fireDue(second + 22 * HOUR);
    expect(noticesIn(customer)).toEqual([expect.stringMatching(/waited 22h 0m unanswered/)]);
  });

  it("auto-closes after the silence since the last of several messages, once answered", async () => {
    await db.query(
      `UPDATE instagram_accounts SET settings = settings || '{"timers": {"autoCloseAfterSeconds": 3600}}'::jsonb
        WHERE id = $1`,
      [ACCOUNT],
    );
    const customer = "1000000000007007";
    await customerWrites(customer, T0);
    clock = T0 + 30 * MINUTE;
    await customerWrites(customer, clock);
    const id = await conversationOf(customer);
    await db.query("UPDATE conversations SET last_business_message_at = $2 WHERE id = $1", [
      id,
      new Date(T0 + 40 * MINUTE).toISOString(),
    ]);
    const status = async () =>
      (await db.query<{ status: string }>("SELECT status FROM conversations WHERE id = $1", [id])).rows[0]
        ?.status;
    const autoCloses = async () => (await jobsOf(customer)).filter((j) => j.key.startsWith("auto_close:"));
    expect(await autoCloses()).toHaveLength(1);

    // An hour after the first message the customer has been silent only 30 minutes.
    await fireDue(T0 + 90 * MINUTE - 1000);
    expect(await status()).toBe("open");
    await fireDue(T0 + 90 * MINUTE);
    expect(await status()).toBe("closed");
    expect(noticesIn(customer)).toEqual([expect.stringContaining("without a word from the customer")]);
    expect(await firedKeys(customer)).toEqual([
      `auto_close:${id}:${new Date(T0 + 30 * MINUTE).toISOString()}:`,
    ]);
    expect(await autoCloses()).toHaveLength(2);
    await db.query(
      `UPDATE instagram_accounts SET settings = settings || '{"timers": {"autoCloseAfterSeconds": 0}}'::jsonb
        WHERE id = $1`,
      [ACCOUNT],
    );
  });

  it("sends no nudge when the message it was set again for has been answered", async () => {
    const customer = "1000000000007003";
    await customerWrites(customer, T0);
    clock = T0 + HOUR;
    await customerWrites(customer, clock);
    await db.query(
      "UPDATE conversations SET last_business_message_at = $3 WHERE account_id = $1 AND customer_id = $2",
      [ACCOUNT, customer, new Date(T0 + 2 * HOUR).toISOString()],
    );
    await fireDue(T0 + 48 * HOUR);
    expect(noticesIn(customer)).toEqual([]);
    expect(await firedKeys(customer)).toEqual([]);
  });

  it("sets its own timers when the pending one is past due and gone", async () => {
    const customer = "1000000000007004";
    await customerWrites(customer, T0);
    // The pending window nudge deleted by hand: its mark stays, and goes stale.
    await db.query(
      "DELETE FROM pgboss.job WHERE name = $1 AND singleton_key LIKE 'nudge:window:' || $2 || ':%'",
      [TIMER_QUEUE, await conversationOf(customer)],
    );
    clock = T0 + 22 * HOUR + 2 * MINUTE;
    await customerWrites(customer, clock);
    const window = (await jobsOf(customer)).filter((j) => j.key.startsWith("nudge:window:"));
    expect(window).toEqual([expect.objectContaining({ at: clock + 22 * HOUR })]);
  });

  it("still runs timers set one per message before the upgrade", async () => {
    const customer = "1000000000007005";
    await customerWrites(customer, T0);
    const id = await conversationOf(customer);
    // As an earlier version left them: a nudge per message, and nothing marked pending.
    await db.query("UPDATE conversations SET pending_timers = '{}' WHERE id = $1", [id]);
    const second = T0 + HOUR;
    await db.query("UPDATE conversations SET last_customer_message_at = $2 WHERE id = $1", [
      id,
      new Date(second).toISOString(),
    ]);
    const job: TimerJob = {
      kind: "nudge",
      conversationId: id,
      stage: "window",
      anchor: new Date(second).toISOString(),
    };
    await boss.send(TIMER_QUEUE, job, {
      singletonKey: timerKey(job),
      startAfter: new Date(second + 22 * HOUR),
    });

    await fireDue(T0 + 48 * HOUR);
    expect(noticesIn(customer)).toHaveLength(1);
    expect(await firedKeys(customer)).toEqual([timerKey(job)]);
  });
});
