// The managers' digest on a big table (issue 8): 1,000,000 messages over 60 days and 50,000
// conversations, 60% of them on the account being summed up. Baseline: one indexed count of the
// same account's messages of the same period, the least any digest must read.
// Run alone with `node bench/digest.ts`.
import { type Database, openDatabase } from "../src/db/database.ts";
import { migrate } from "../src/db/migrate.ts";
import { computeDigest } from "../src/digest/digest.ts";
import { type Period, previousPeriod } from "../src/digest/period.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import type { BenchRow } from "./bench-row.ts";
import { scaled } from "./quick.ts";

const ACCOUNT = "17841400000000001";
const MESSAGES = Number(process.env.BENCH_DIGEST_MESSAGES ?? scaled(1_000_000, 100_000));
const CONVERSATIONS = 50_000;
const RUNS = 7;
const HOURS = {
  timezone: "Europe/Berlin",
  hours: {
    mon: ["09:00-18:00"],
    tue: ["09:00-18:00"],
    wed: ["09:00-18:00"],
    thu: ["09:00-18:00"],
    fri: ["09:00-18:00"],
  },
  holidays: [],
};

/** Seeds a migrated database with the bench's history (exported for ad-hoc query work). */
export async function seed(db: Database): Promise<void> {
  await db.query(
    `INSERT INTO instagram_accounts (id, username, status)
     SELECT CASE WHEN g = 0 THEN $1 ELSE '178414000000001' || g END, 'brand' || g, 'active' FROM generate_series(0, 4) g`,
    [ACCOUNT],
  );
  // Conversations 0, 1, 2 of every 5 belong to the account under test.
  await db.query(
    `INSERT INTO conversations (account_id, customer_id, status, last_customer_message_at, profile)
     SELECT CASE WHEN g % 5 < 3 THEN $1 ELSE '178414000000001' || (g % 5) END, 'c' || g, 'open', now(),
            jsonb_build_object('username', 'user' || g)
       FROM generate_series(1, $2::int) g`,
    [ACCOUNT, CONVERSATIONS],
  );
  // 500,000 question-and-answer pairs spread evenly over 60 days (a pair every 10 s, so each
  // conversation gets one every six days). The answer comes 1 to 240 minutes later; one question in
  // ten gets a follow-up from the customer instead and stays unanswered.
  const PAIRS = MESSAGES / 2;
  await db.query(
    `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id, text, details,
                           delivery_state, occurred_at)
     SELECT c.account_id, c.id, x.direction, x.author_kind, x.author_id, 'mid.' || p || '.' || x.n,
            'a message of a realistic length, about sixty characters long', x.details, x.state, x.at
       FROM generate_series(1, $1::int) p
       JOIN conversations c ON c.id = 1 + (p % $2)
       CROSS JOIN LATERAL (
         SELECT now() - interval '60 days' + p * (interval '60 days' / $1::int) AS asked,
                ((p::bigint * 7919) % 240 + 1) * interval '1 minute' AS delay) t
       CROSS JOIN LATERAL (VALUES
         (1, 'inbound', 'customer', c.customer_id, '{}'::jsonb, NULL, t.asked),
         (2, CASE WHEN (hashint4(p) & 65535) % 10 = 0 THEN 'inbound' ELSE 'outbound' END,
             CASE WHEN (hashint4(p) & 65535) % 10 = 0 THEN 'customer' WHEN (hashint4(p + 1) & 65535) % 13 = 0 THEN 'business' ELSE 'agent' END,
             CASE WHEN (hashint4(p) & 65535) % 10 = 0 THEN c.customer_id ELSE 'slack:U' || (p % 12) END,
             CASE WHEN (hashint4(p) & 65535) % 10 = 0 THEN '{}'::jsonb ELSE jsonb_build_object('agentName', 'Agent ' || (p % 12)) END,
             CASE WHEN (hashint4(p) & 65535) % 10 = 0 OR (hashint4(p + 1) & 65535) % 13 = 0 THEN NULL WHEN (hashint4(p + 2) & 65535) % 50 = 0 THEN 'failed' ELSE 'sent' END,
             t.asked + CASE WHEN (hashint4(p) & 65535) % 10 = 0 THEN interval '5 minutes' ELSE t.delay END)
       ) AS x(n, direction, author_kind, author_id, details, state, at)`,
    [PAIRS, CONVERSATIONS],
  );
  await db.query(
    `INSERT INTO audit_log (at, actor_kind, actor_id, account_id, action, target, details)
     SELECT now() - (g % 1440) * interval '1 hour', 'agent', 'slack:U' || (g % 12), $1,
            (ARRAY['comment_hide','conversation_closed','consent_changed','delivery_failed','reply_sent'])[1 + g % 5],
            'customer:c' || g, jsonb_build_object('reason', 'window closed', 'consent', 'revoked')
       FROM generate_series(1, 100000) g`,
    [ACCOUNT],
  );
  await db.query(
    `INSERT INTO rule_firings (rule_id, account_id, customer_id, fired_at)
     SELECT 'rule' || (g % 20), $1, 'c' || g, now() - (g % 1440) * interval '1 hour' FROM generate_series(1, 50000) g`,
    [ACCOUNT],
  );
  await db.query("ANALYZE");
}

function stats(ms: number[]): { p50: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length / 2)] ?? 0, max: s.at(-1) ?? 0 };
}

async function timed(fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm caches and plans
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function digestBench(): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const tdb = await createTestDatabase();
  const db = await openDatabase({ kind: "postgres", url: tdb.url });
  try {
    await migrate(db);
    const seedStart = performance.now();
    await seed(db);
    const seedS = (performance.now() - seedStart) / 1000;
    const now = new Date();
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    for (const kind of ["daily", "weekly"] as const) {
      const period: Period = previousPeriod(kind, HOURS.timezone, now);
      let digest: Awaited<ReturnType<typeof computeDigest>> | undefined;
      const ours = stats(
        await timed(async () => {
          digest = await computeDigest(db, ACCOUNT, period, { slaMinutes: 60, hours: HOURS, now });
        }),
      );
      const floor = stats(
        await timed(() =>
          db.query(
            "SELECT count(*) FROM messages WHERE account_id = $1 AND occurred_at >= $2 AND occurred_at < $3",
            [ACCOUNT, period.from.toISOString(), period.to.toISOString()],
          ),
        ),
      );
      const inPeriod = digest?.volume.reduce((n, b) => n + b.inbound + b.outbound, 0) ?? 0;
      rows.push({
        scenario: `${kind} digest, ${(MESSAGES / 1e6).toFixed(1)} M messages in the table (${inPeriod.toLocaleString("en")} in the period)`,
        target: "< 1 s",
        threadbridge: `p50 ${ours.p50.toFixed(0)} ms, max ${ours.max.toFixed(0)} ms`,
        baseline: `p50 ${floor.p50.toFixed(1)} ms`,
        ratio: `${(ours.p50 / floor.p50).toFixed(0)}×`,
      });
      notes.push(
        `${kind}: ${digest?.firstResponse.answered ?? 0} answered questions (p50 ${Math.round((digest?.firstResponse.p50Ms ?? 0) / 60_000)} min in opening hours), ${digest?.conversations.waiting ?? 0} waiting, ${digest?.sla.total ?? 0} over the SLA.`,
      );
    }
    notes.unshift(
      `Seeded ${MESSAGES.toLocaleString("en")} messages, ${CONVERSATIONS.toLocaleString("en")} conversations, 100,000 audit entries and 50,000 rule firings in ${seedS.toFixed(0)} s; ${RUNS} timed runs after one warm-up.`,
    );
    return { rows, notes };
  } finally {
    await db.close();
    await tdb.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, notes } = await digestBench();
  for (const r of rows)
    process.stdout.write(`${r.scenario}: ${r.threadbridge} (baseline ${r.baseline}, ${r.ratio})\n`);
  for (const n of notes) process.stdout.write(`- ${n}\n`);
}
