// The digest's figures on a seeded history, checked against a hand count: one Berlin account with
// opening hours, a day of DMs, auto-replies, moderation, consent, data requests, failures and
// deferrals around it; and an account where nothing happened.

import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { computeDigest, type Digest, percentile } from "../../src/digest/digest.ts";
import { previousPeriod, rollingPeriod } from "../../src/digest/period.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const A = "17841400000000081";
const B = "17841400000000082";
const NOW = new Date("2026-11-25T10:00:00Z"); // Wednesday 11:00 in Berlin
const HOURS = {
  timezone: "Europe/Berlin",
  hours: {
    mon: ["09:00-17:00"],
    tue: ["09:00-17:00"],
    wed: ["09:00-17:00"],
    thu: ["09:00-17:00"],
    fri: ["09:00-17:00"],
  },
  holidays: [],
};
const MIN = 60_000;

const store = useBackendDatabase();
let db: Database;
let digest: Digest;

async function conversation(customer: string, username?: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO conversations (account_id, customer_id, profile, last_customer_message_at, chat_platform, chat_channel, chat_thread)
     VALUES ($1, $2, $3, '2026-11-24T16:30:00Z', 'slack', 'C1', $4) RETURNING id`,
    [A, customer, JSON.stringify(username ? { username } : {}), `17000000.${customer}`],
  );
  return Number(rows[0]?.id);
}

let seq = 0;
async function message(
  conversationId: number,
  at: string,
  kind: "customer" | "agent" | "rule" | "business",
  state?: "sent" | "failed",
  authorId?: string,
): Promise<void> {
  seq++;
  await db.query(
    `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id, text, details,
                           delivery_state, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'x', $7, $8, $9)`,
    [
      A,
      conversationId,
      kind === "customer" ? "inbound" : "outbound",
      kind,
      authorId ?? null,
      `mid_${seq}`,
      JSON.stringify(kind === "agent" ? { agentName: "Ana" } : {}),
      kind === "agent" || kind === "rule" ? (state ?? "sent") : null,
      at,
    ],
  );
}

async function audit(at: string, actor: string, action: string, target: string, details: object = {}) {
  await db.query(
    `INSERT INTO audit_log (at, actor_kind, actor_id, account_id, action, target, details) VALUES ($1, 'agent', $2, $3, $4, $5, $6)`,
    [at, actor, A, action, target, JSON.stringify(details)],
  );
}

beforeAll(async () => {
  ({ db } = store);
  await db.query(
    `INSERT INTO instagram_accounts (id, username, status, token_ciphertext, token_key_id, token_expires_at)
     VALUES ($1, 'brand', 'active', 'sealed', 'k1', '2026-11-28T00:00:00Z'), ($2, 'quiet', 'active', 'sealed', 'k1', '2027-01-30T00:00:00Z')`,
    [A, B],
  );
  const c1 = await conversation("c1", "ana_c");
  await message(c1, "2026-11-24T09:00:00Z", "customer"); // asks (10:00 Berlin)
  await message(c1, "2026-11-24T09:10:00Z", "agent", "sent", "slack:U1"); // answered in 10 min
  await message(c1, "2026-11-24T09:20:00Z", "customer"); // asks again
  await message(c1, "2026-11-24T09:21:00Z", "rule"); // an auto-reply is no answer
  await message(c1, "2026-11-24T09:25:00Z", "customer"); // still the same wait
  await message(c1, "2026-11-24T09:50:00Z", "agent", "sent", "slack:U1"); // answered in 30 min
  const c2 = await conversation("c2");
  await message(c2, "2026-11-24T16:30:00Z", "customer"); // 17:30 Berlin, after hours
  await message(c2, "2026-11-25T08:05:00Z", "business"); // 09:05 next morning: 5 minutes of opening hours
  const c3 = await conversation("c3", "late_bob");
  await message(c3, "2026-11-24T12:00:00Z", "customer"); // 13:00 Berlin, never answered
  await message(c3, "2026-11-24T12:30:00Z", "agent", "failed", "slack:U1"); // a failed reply answers nothing
  const c4 = await conversation("c4");
  await message(c4, "2026-11-20T09:00:00Z", "customer"); // an older conversation
  await message(c4, "2026-11-20T09:05:00Z", "agent", "sent", "slack:U2");
  await db.query("UPDATE conversations SET last_customer_message_at = '2026-11-20T09:00:00Z' WHERE id = $1", [
    c4,
  ]);

  await audit("2026-11-24T10:00:00Z", "slack:U1", "conversation_closed", "customer:c1");
  await audit("2026-11-24T10:30:00Z", "slack:U1", "conversation_closed", "customer:c1");
  await audit("2026-11-23T10:00:00Z", "slack:U1", "conversation_closed", "customer:c4");
  await audit("2026-11-24T11:00:00Z", "slack:U2", "comment_hide", "comment:1");
  await audit("2026-11-24T11:01:00Z", "slack:U2", "comment_hide", "comment:2");
  await audit("2026-11-24T11:02:00Z", "slack:U1", "comment_delete", "comment:3");
  await audit("2026-11-24T11:03:00Z", "slack:U2", "media_comments_disabled", "media:9");
  await audit("2026-11-24T13:00:00Z", "slack:U1", "consent_changed", "customer:c3", { consent: "revoked" });
  await audit("2026-11-24T14:00:00Z", "slack:U9", "data_exported", "customer:c2");
  await audit("2026-11-24T14:05:00Z", "slack:U9", "data_erased", "erased:abc");
  for (const [at, timer] of [
    ["2026-11-24T10:05:00Z", "nudge_window"],
    ["2026-11-24T18:00:00Z", "nudge_window"],
    ["2026-11-24T19:00:00Z", "followup"],
    ["2026-11-22T19:00:00Z", "auto_close"], // another day
  ])
    await audit(at as string, "", "timer_fired", "customer:c3", { timer, key: `${timer}:${at}` });
  await audit("2026-11-24T12:30:00Z", "slack:U1", "delivery_failed", "customer:c3", {
    reason: "window closed",
  });

  await db.query(
    `INSERT INTO rules (id, account_id, name, position, definition) VALUES ('greet', $1, 'Greeting', 0, '{}')`,
    [A],
  );
  for (const at of ["2026-11-24T09:21:00Z", "2026-11-24T15:00:00Z", "2026-11-22T15:00:00Z"])
    await db.query(
      "INSERT INTO rule_firings (rule_id, account_id, customer_id, fired_at) VALUES ('greet', $1, 'c1', $2)",
      [A, at],
    );
  await db.query(
    `INSERT INTO comment_threads (account_id, media_id, root_comment_id, author_id, root_commented_at)
     VALUES ($1, 'm1', 'r1', 'c5', '2026-11-24T08:00:00Z'), ($1, 'm1', 'r2', 'c6', '2026-11-21T08:00:00Z')`,
    [A],
  );
  await db.query(
    `INSERT INTO outbound_deferrals (account_id, class, hour, count) VALUES
       ($1, 'send_text', '2026-11-24T10:00:00Z', 5), ($1, 'send_text', '2026-11-24T11:00:00Z', 2),
       ($1, 'private_reply', '2026-11-23T10:00:00Z', 9)`,
    [A],
  );
  digest = await computeDigest(db, A, previousPeriod("daily", "Europe/Berlin", NOW), {
    slaMinutes: 60,
    hours: HOURS,
    now: NOW,
  });
});

describe("the daily digest of a seeded day", () => {
  it("covers the account's yesterday in its own zone", () => {
    expect(digest.period.from.toISOString()).toBe("2026-11-23T23:00:00.000Z");
    expect(digest.period.to.toISOString()).toBe("2026-11-24T23:00:00.000Z");
    expect(digest.period.label).toBe("Tue 24 Nov 2026");
    expect(digest.volume).toHaveLength(24);
  });

  it("counts conversations opened, closed and waiting", () => {
    expect(digest.conversations).toEqual({ opened: 3, closed: 1, waiting: 1, commentThreads: 1 });
  });

  it("measures first responses within opening hours", () => {
    expect(digest.firstResponse).toEqual({
      answered: 3,
      unanswered: 1,
      p50Ms: 10 * MIN,
      p90Ms: 30 * MIN,
      businessHours: true,
    });
  });

  it("lists the conversations over the SLA, waited in opening hours", () => {
    expect(digest.sla.total).toBe(1);
    expect(digest.sla.overdue).toEqual([
      expect.objectContaining({ customerId: "c3", username: "late_bob", waitedMs: 6 * 60 * MIN }),
    ]);
    expect(digest.sla.overdue[0]?.thread).toEqual({
      platform: "slack",
      ref: { channel: "C1", thread: "17000000.c3" },
    });
  });

  it("counts replies per agent, auto-replies per rule and moderation per moderator", () => {
    expect(digest.repliesByAgent).toEqual([{ key: "slack:U1", label: "Ana", count: 2 }]);
    expect(digest.autoRepliesByRule).toEqual([{ key: "greet", label: "Greeting", count: 2 }]);
    expect(digest.moderationByModerator).toEqual([
      { key: "slack:U2", count: 3, actions: { hide: 2, comments_disabled: 1 } },
      { key: "slack:U1", count: 1, actions: { delete: 1 } },
    ]);
  });

  it("reports consent, data requests, failures, deferrals and the token", () => {
    expect(digest.consent).toEqual({ granted: 0, revoked: 1 });
    expect(digest.dataRequests).toEqual({
      exports: 1,
      erasures: 1,
      deletionRequested: 0,
      deletionCompleted: 0,
    });
    expect(digest.deliveryFailures).toEqual([{ key: "window closed", count: 1 }]);
    expect(digest.rateLimitDeferrals).toEqual([{ key: "send_text", count: 7 }]);
    expect(digest.tokenExpiresAt?.toISOString()).toBe("2026-11-28T00:00:00.000Z");
  });

  it("counts the conversation timers that fired, per kind", () => {
    expect(digest.timersFired).toEqual([
      { key: "nudge_window", count: 2 },
      { key: "followup", count: 1 },
    ]);
  });

  it("buckets the day's volume by local hour with the median response", () => {
    const at = (iso: string) => digest.volume.find((b) => b.start.toISOString() === iso);
    expect(digest.volume.reduce((n, b) => n + b.inbound, 0)).toBe(5);
    expect(digest.volume.reduce((n, b) => n + b.outbound, 0)).toBe(4);
    // 10:00–11:00 Berlin: three customer messages, three of ours; questions answered in 10 and 30 min.
    expect(at("2026-11-24T09:00:00.000Z")).toEqual({
      start: expect.any(Date),
      inbound: 3,
      outbound: 3,
      responseP50Ms: 10 * MIN,
    });
    expect(at("2026-11-24T16:00:00.000Z")).toMatchObject({ inbound: 1, outbound: 0, responseP50Ms: 5 * MIN });
    expect(digest.empty).toBe(false);
  });
});

describe("edges", () => {
  it("says so when nothing happened", async () => {
    const quiet = await computeDigest(db, B, rollingPeriod("7d", "UTC", NOW), { slaMinutes: 60, now: NOW });
    expect(quiet.empty).toBe(true);
    expect(quiet.tokenExpiresAt).toBeUndefined();
    expect(quiet.volume).toHaveLength(8); // 7 days back from mid-morning touch 8 calendar days
    expect(quiet.firstResponse).toEqual({ answered: 0, unanswered: 0, businessHours: false });
  });

  it("covers 23 hours on the day clocks spring forward, and a local week across the fall back", async () => {
    const spring = previousPeriod("daily", "Europe/Berlin", new Date("2026-03-30T10:00:00Z"));
    expect(spring).toMatchObject({
      from: new Date("2026-03-28T23:00:00Z"),
      to: new Date("2026-03-29T22:00:00Z"),
    });
    const day = await computeDigest(db, B, spring, { slaMinutes: 60, now: NOW });
    expect(day.volume).toHaveLength(23);
    expect(previousPeriod("weekly", "America/New_York", new Date("2026-11-04T15:00:00Z"))).toMatchObject({
      from: new Date("2026-10-26T04:00:00Z"),
      to: new Date("2026-11-02T05:00:00Z"),
      label: "26 Oct – 1 Nov 2026",
    });
  });

  it("takes nearest-rank percentiles of observed values", () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([7], 90)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
  });
});
