// The digest's questions pass against its definition in the form it had before (one window pass
// over the period and the eight days before it), on conversations drawn at random with many
// messages at the same instants (ties between a customer message and an answer are where the
// eight days before the period, read as two maxima per conversation, need the id to decide), at
// the period's edges, auto-replies and failed replies between them. Questions, their answers and
// the new conversations must be the same.

import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { computeDigest, percentile } from "../../src/digest/digest.ts";
import { previousPeriod } from "../../src/digest/period.ts";
import { humanAnswer } from "../../src/digest/waiting.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const NOW = new Date("2026-11-25T10:00:00Z");
const SEEDS = [1, 2, 3, 4, 5, 6];
const account = (seed: number) => `178414000000007${seed}`;

const store = useBackendDatabase();
let db: Database;

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Conversations of one account: each message at one of a few instants around the period's start
 * and end and the start of the eight days before, so that ties and edges come often. */
async function seedAccount(seed: number, kind: "daily" | "weekly"): Promise<void> {
  const rand = prng(seed);
  const period = previousPeriod(kind, "Europe/Berlin", NOW);
  const lookback = period.from.getTime() - 8 * 86_400_000;
  const anchors = [lookback - 3_600_000, lookback, period.from.getTime(), period.to.getTime(), NOW.getTime()];
  const instants: number[] = [];
  for (const a of anchors) for (const d of [-7_200_000, -60_000, 0, 60_000, 7_200_000]) instants.push(a + d);
  for (let i = 0; i < 6; i++) instants.push(lookback + rand() * (NOW.getTime() - lookback));
  const id = account(seed);
  await db.query("INSERT INTO instagram_accounts (id, username, status) VALUES ($1, $2, 'active')", [
    id,
    `a${seed}`,
  ]);
  for (let c = 0; c < 40; c++) {
    const { rows } = await db.query<{ id: string }>(
      "INSERT INTO conversations (account_id, customer_id, last_customer_message_at) VALUES ($1, $2, $3) RETURNING id",
      [id, `c${seed}_${c}`, NOW.toISOString()],
    );
    const n = 1 + Math.floor(rand() * 8);
    for (let m = 0; m < n; m++) {
      const at = instants[Math.floor(rand() * instants.length)] as number;
      if (at > NOW.getTime()) continue;
      const r = rand();
      const kind = r < 0.5 ? "customer" : r < 0.75 ? "agent" : r < 0.85 ? "business" : "rule";
      const state = kind === "customer" || kind === "business" ? null : rand() < 0.2 ? "failed" : "sent";
      await db.query(
        `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id,
                               delivery_state, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          id,
          rows[0]?.id,
          kind === "customer" ? "inbound" : "outbound",
          kind,
          kind === "agent" ? "slack:U1" : null,
          `mid_${seed}_${c}_${m}`,
          state,
          new Date(at).toISOString(),
        ],
      );
    }
  }
}

/** The questions pass as it was: the period and the eight days before it in one window pass. */
async function reference(id: string, kind: "daily" | "weekly") {
  const period = previousPeriod(kind, "Europe/Berlin", NOW);
  const { rows } = await db.query<{ asked: Date; answered: Date | null; question: boolean; opened: boolean }>(
    `WITH rel AS (
       SELECT m.conversation_id, m.occurred_at, m.direction,
              lead(m.direction) OVER w AS prev,
              min(m.occurred_at) FILTER (WHERE m.direction = 'outbound') OVER w AS answered,
              bool_or(m.direction = 'inbound' AND m.occurred_at >= $2) OVER w AS asked_in_period,
              bool_or(m.direction = 'inbound' AND m.occurred_at < $2) OVER w AS asked_before
         FROM messages m
        WHERE m.account_id = $1 AND m.conversation_id IS NOT NULL AND m.occurred_at >= $4 AND m.occurred_at < $3
          AND m.occurred_at <= $5 AND (m.direction = 'inbound' OR ${humanAnswer("m")})
       WINDOW w AS (PARTITION BY m.conversation_id ORDER BY m.occurred_at DESC, m.id DESC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)),
     marked AS (
       SELECT conversation_id, occurred_at, answered,
              direction = 'inbound' AND (prev IS NULL OR prev = 'outbound') AND occurred_at >= $2
                AND occurred_at < $3 AS question,
              prev IS NULL AND asked_in_period AND NOT asked_before AS first_asked
         FROM rel)
     SELECT occurred_at AS asked,
            CASE WHEN question AND answered IS NULL THEN (
              SELECT min(e.occurred_at) FROM messages e WHERE e.conversation_id = marked.conversation_id
                 AND e.occurred_at >= $3 AND e.occurred_at <= $5 AND ${humanAnswer("e")})
            ELSE answered END AS answered, question,
            first_asked AND NOT EXISTS (
              SELECT 1 FROM messages e WHERE e.conversation_id = marked.conversation_id
                 AND e.direction = 'inbound' AND e.occurred_at < $4) AS opened
       FROM marked
      WHERE question OR first_asked`,
    [
      id,
      period.from.toISOString(),
      period.to.toISOString(),
      new Date(period.from.getTime() - 8 * 86_400_000).toISOString(),
      NOW.toISOString(),
    ],
  );
  const asked = rows.filter((r) => r.question);
  const waits = asked
    .filter((q) => q.answered !== null)
    .map((q) => new Date(q.answered as Date).getTime() - new Date(q.asked).getTime())
    .sort((a, b) => a - b);
  return {
    opened: rows.filter((r) => r.opened).length,
    answered: waits.length,
    unanswered: asked.length - waits.length,
    p50: percentile(waits, 50),
    p90: percentile(waits, 90),
  };
}

beforeAll(async () => {
  ({ db } = store);
  for (const seed of SEEDS) await seedAccount(seed, seed % 2 ? "daily" : "weekly");
}, 120_000);

describe("the questions pass", () => {
  it.each(SEEDS)(
    "finds the same questions, answers and new conversations as one window pass (seed %i)",
    async (seed) => {
      const kind = seed % 2 ? "daily" : "weekly";
      const digest = await computeDigest(db, account(seed), previousPeriod(kind, "Europe/Berlin", NOW), {
        slaMinutes: 60,
        now: NOW,
      });
      const expected = await reference(account(seed), kind);
      expect(expected.answered + expected.unanswered).toBeGreaterThan(0);
      expect({
        opened: digest.conversations.opened,
        answered: digest.firstResponse.answered,
        unanswered: digest.firstResponse.unanswered,
        p50: digest.firstResponse.p50Ms,
        p90: digest.firstResponse.p90Ms,
      }).toEqual(expected);
    },
  );
});
