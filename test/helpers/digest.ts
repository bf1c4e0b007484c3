// Digests as computeDigest gives them, built by hand for rendering tests: a busy Tuesday of a
// Berlin account with opening hours, and the same account on a day where nothing happened.

import { DateTime } from "luxon";
import type { Digest } from "../../src/digest/digest.ts";
import { previousPeriod } from "../../src/digest/period.ts";

export const ACCOUNT = "17841400000000081";
const MIN = 60_000;
const ZONE = "Europe/Berlin";
/** Wednesday 25 Nov 2026, 08:00 in Berlin: the daily digest covers Tuesday. */
export const DIGEST_NOW = new Date("2026-11-25T07:00:00Z");

/** Customer messages, our messages and the median first response (minutes) per local hour (a
 * day) or per day counted from the first (a week). */
const DAY: Record<number, [number, number, number?]> = {
  8: [2, 1, 12],
  9: [6, 5, 9],
  10: [9, 8, 14],
  11: [7, 7, 6],
  12: [4, 3],
  13: [5, 6, 22],
  14: [8, 7, 11],
  15: [6, 6, 8],
  16: [3, 4, 35],
  17: [2, 1],
  19: [1, 0],
  21: [1, 1],
};

function volume(period: Digest["period"], perHour: Record<number, [number, number, number?]>) {
  const out: Digest["volume"] = [];
  // As computeDigest lays them out: whole local hours or days from the one the period starts in.
  let t = DateTime.fromJSDate(period.from, { zone: period.timezone }).startOf(period.bucket);
  while (t.toMillis() < period.to.getTime()) {
    const [inbound, outbound, p50] = perHour[period.bucket === "hour" ? t.hour : out.length] ?? [0, 0];
    out.push({
      start: t.toJSDate(),
      inbound,
      outbound,
      ...(p50 !== undefined ? { responseP50Ms: p50 * MIN } : {}),
    });
    t = t.plus({ [`${period.bucket}s`]: 1 });
  }
  return out;
}

/** Who is who on each platform: the agents of the Slack and Discord test harnesses. */
const PEOPLE = {
  slack: { ana: "U0AGENT1", bo: "U0AGENT2", channel: "C0MIRROR", thread: "1732400001.000100" },
  discord: {
    ana: "500000000000000001",
    bo: "500000000000000002",
    channel: "100000000000000001",
    thread: "300000000000000041",
  },
};

export type Platform = keyof typeof PEOPLE;

export function busyDigest(over: Partial<Digest> = {}, platform: Platform = "slack"): Digest {
  const period = previousPeriod("daily", ZONE, DIGEST_NOW);
  const p = PEOPLE[platform];
  return {
    account: { id: ACCOUNT, username: "brand" },
    period,
    generatedAt: DIGEST_NOW,
    conversations: { opened: 23, closed: 17, waiting: 4, commentThreads: 6 },
    firstResponse: { answered: 31, unanswered: 3, p50Ms: 11 * MIN, p90Ms: 48 * MIN, businessHours: true },
    sla: {
      minutes: 60,
      overdue: [
        {
          conversationId: 41,
          customerId: "c41",
          username: "late_bob",
          assignee: "Ana",
          assigneeRef: p.ana,
          since: new Date("2026-11-24T15:10:00Z"),
          thread: { platform, ref: { channel: p.channel, thread: p.thread } },
          waitedMs: 6 * 60 * MIN,
        },
        {
          conversationId: 42,
          customerId: "c42",
          since: new Date("2026-11-24T16:00:00Z"),
          waitedMs: 95 * MIN,
        },
      ],
      total: 3,
    },
    repliesByAgent: [
      { key: `${platform}:${p.ana}`, label: "Ana", count: 19 },
      { key: `${platform}:${p.bo}`, label: "Bo", count: 11 },
      { key: "business", label: "Instagram app", count: 2 },
    ],
    autoRepliesByRule: [
      { key: "greet", label: "Greeting", count: 12 },
      { key: "after-hours", label: "After hours <auto> *bold*", count: 4 },
    ],
    moderationByModerator: [
      { key: `${platform}:${p.bo}`, count: 4, actions: { hide: 3, comments_disabled: 1 } },
      { key: `${platform}:${p.ana}`, count: 1, actions: { delete: 1 } },
    ],
    consent: { granted: 1, revoked: 2 },
    dataRequests: { exports: 1, erasures: 1, deletionRequested: 1, deletionCompleted: 0 },
    deliveryFailures: [{ key: "the customer's messaging window is closed", count: 2 }],
    rateLimitDeferrals: [{ key: "send_text", count: 7 }],
    tokenExpiresAt: new Date("2026-11-28T00:00:00Z"),
    volume: volume(period, DAY),
    empty: false,
    ...over,
  };
}

export function emptyDigest(over: Partial<Digest> = {}): Digest {
  const period = previousPeriod("daily", ZONE, DIGEST_NOW);
  return {
    account: { id: ACCOUNT, username: "brand" },
    period,
    generatedAt: DIGEST_NOW,
    conversations: { opened: 0, closed: 0, waiting: 0, commentThreads: 0 },
    firstResponse: { answered: 0, unanswered: 0, businessHours: false },
    sla: { minutes: 60, overdue: [], total: 0 },
    repliesByAgent: [],
    autoRepliesByRule: [],
    moderationByModerator: [],
    consent: { granted: 0, revoked: 0 },
    dataRequests: { exports: 0, erasures: 0, deletionRequested: 0, deletionCompleted: 0 },
    deliveryFailures: [],
    rateLimitDeferrals: [],
    volume: volume(period, {}),
    empty: true,
    ...over,
  };
}

/** The busy day of a digest for another period (a DST day, a week): its volume rebuilt to fit. */
export function digestFor(period: Digest["period"], over: Partial<Digest> = {}): Digest {
  const perBucket =
    period.bucket === "day"
      ? {
          0: [40, 38, 15],
          1: [55, 51, 12],
          2: [61, 60, 9],
          3: [48, 47, 95],
          4: [52, 50, 20],
          5: [12, 9],
          6: [8, 6, 240],
        }
      : DAY;
  return busyDigest({ period, volume: volume(period, perBucket as typeof DAY), ...over });
}

/** A digest whose lists are far longer than any platform shows. */
export function crowdedDigest(platform: Platform): Digest {
  const id = (i: number) =>
    platform === "slack" ? `U0AG${String(i).padStart(5, "0")}` : `5${String(i).padStart(17, "0")}`;
  const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
  const overdue = Array.from({ length: 10 }, (_, i) => ({
    conversationId: 100 + i,
    customerId: `c${100 + i}`,
    username: `customer_with_a_rather_long_name_${i}`,
    assignee: `Agent ${i}`,
    assigneeRef: id(i),
    since: new Date("2026-11-24T08:00:00Z"),
    thread: {
      platform,
      ref: {
        channel: platform === "slack" ? "C0MIRROR" : "100000000000000001",
        thread:
          platform === "slack"
            ? `1732400${String(i).padStart(3, "0")}.000100`
            : `2${String(i).padStart(17, "0")}`,
      },
    },
    waitedMs: (20 - i) * 60 * MIN,
  }));
  return busyDigest(
    {
      sla: { minutes: 60, overdue, total: 57 },
      repliesByAgent: many(80, (i) => ({ key: `${platform}:${id(i)}`, label: `Agent ${i}`, count: 200 - i })),
      autoRepliesByRule: many(40, (i) => ({
        key: `rule-${i}`,
        label: `${"Rule with a long descriptive name ".repeat(3)}${i}`,
        count: 90 - i,
      })),
      moderationByModerator: many(30, (i) => ({
        key: `${platform}:${id(i)}`,
        label: `Mod ${i}`,
        count: 9,
        actions: { hide: 4, unhide: 1, delete: 2, reply_public: 1, comments_disabled: 1 },
      })),
      deliveryFailures: many(25, (i) => ({
        key: `${"Instagram refused the message because ".repeat(8)}${i}`,
        count: 30 - i,
      })),
      rateLimitDeferrals: [
        { key: "send_text", count: 70 },
        { key: "private_reply", count: 12 },
        { key: "platform", count: 3 },
      ],
    },
    platform,
  );
}
