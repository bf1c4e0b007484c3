// Rule evaluation cost per event (issue 6): 500 rules on one account, 20,000 events of mixed
// kinds, each `evaluate` call timed on its own. Pure CPU: no database, no network.
// Run alone with `node bench/rules.ts`.

import type { DomainEvent } from "../src/instagram/events.ts";
import { windowState } from "../src/instagram/windows.ts";
import { compileRules, type EvaluationContext, evaluate } from "../src/rules/evaluate.ts";
import { type AccountSettings, accountSettingsSchema, type Rule, ruleSchema } from "../src/rules/rule.ts";
import type { BenchRow } from "./bench-row.ts";
import { scaled } from "./quick.ts";

const ACCOUNT = "17841400000000001";
const RULES = 500;
const EVENTS = Number(process.env.BENCH_RULE_EVENTS ?? scaled(20_000, 4_000));
const WARMUP = 2_000;

const VOCABULARY =
  "hi hello price how much cost shipping order size colour color available stock return refund discount code sale new collection love this want need help please thanks when where store open delivery track parcel gift card summer winter black white blue red small medium large".split(
    " ",
  );

/** A small deterministic PRNG so every run measures the same rules and events. */
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

function buildRules(): { rules: Rule[]; baseline: RegExp[] } {
  const rules: Rule[] = [];
  const baseline: RegExp[] = [];
  const add = (i: number, trigger: Record<string, unknown>, pattern: string, actions: unknown[]) => {
    rules.push(
      ruleSchema.parse({
        id: `rule-${i}`,
        name: `rule ${i}`,
        account: i % 50 === 0 ? "*" : ACCOUNT,
        priority: i % 7,
        trigger,
        actions,
        cooldown: "1h",
        // No early exit: every candidate is looked at, the worst case for a busy account.
        stop: false,
      }),
    );
    baseline.push(new RegExp(pattern, "iu"));
  };
  const reply = [{ type: "dm_reply", variants: ["Hi {first_name}! A", "Hello {first_name|there}! B"] }];
  for (let i = 0; i < RULES - 1; i++) {
    const kw = [`kw${i}a`, `kw${i}b`, `kw${i}c`];
    const k = i % 20;
    if (k < 10) add(i, { type: "dm_text", keywords: kw }, `\\b(?:${kw.join("|")})\\b`, reply);
    else if (k < 12)
      add(i, { type: "dm_text", phrases: [`${kw[0]} ${kw[1]}`] }, `\\b${kw[0]}\\s+${kw[1]}\\b`, reply);
    else if (k < 14)
      add(i, { type: "dm_text", regex: `order\\s*#?${i}\\d{3}` }, `order\\s*#?${i}\\d{3}`, reply);
    else if (k < 17)
      add(
        i,
        {
          type: "comment_text",
          keywords: kw,
          ...(k === 16 ? { media: [String(17990000000000000 + i)] } : {}),
        },
        `\\b(?:${kw.join("|")})\\b`,
        [
          { type: "private_reply", text: "Here you go {first_name}" },
          {
            type: "public_reply",
            variants: ["Sent @{username}", "DM sent @{username}", "Check DMs @{username}"],
          },
        ],
      );
    else if (k === 17) add(i, { type: "payload", equals: [`P_${i}`], prefix: `PX_${i}_` }, `^P_${i}$`, reply);
    else if (k === 18) add(i, { type: "referral", source: "ads", ref: `ref_${i}` }, `^ref_${i}$`, reply);
    else {
      const kinds = ["story_mention", "story_reply", "outside_hours"];
      add(i, { type: kinds[i % 3] }, "^$", [{ type: "tag", tag: "auto" }]);
    }
  }
  // Common words some rules react to, so a share of events fire rules and run the templating.
  rules.push(
    ruleSchema.parse({
      id: "price",
      name: "price",
      account: ACCOUNT,
      priority: 3,
      trigger: { type: "dm_text", keywords: ["price", "cost"], phrases: ["how much"] },
      actions: reply,
      stop: false,
    }),
  );
  baseline.push(/\b(?:price|cost|how\s+much)\b/iu);
  return { rules, baseline };
}

function buildEvents(): { event: DomainEvent; text: string }[] {
  const rand = prng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const sentence = () => {
    const long = rand() < 0.05;
    const n = long ? 150 : 3 + Math.floor(rand() * 25);
    const words = Array.from({ length: n }, () =>
      rand() < 0.03 ? `kw${Math.floor(rand() * RULES)}a` : pick(VOCABULARY),
    );
    return words.join(" ").slice(0, 1000);
  };
  const out: { event: DomainEvent; text: string }[] = [];
  const base = Date.UTC(2026, 5, 3, 10);
  for (let i = 0; i < EVENTS + WARMUP; i++) {
    const customerId = String(1_000_000_000_000_000 + Math.floor(rand() * 50_000));
    const occurredAt = base + i * 1000;
    const r = rand();
    let event: DomainEvent;
    if (r < 0.6) {
      const text = sentence();
      event = {
        type: "dm.message",
        accountId: ACCOUNT,
        customerId,
        occurredAt,
        mid: `m${i}`,
        text,
        attachments: [],
        ...(rand() < 0.05 ? { replyTo: { kind: "story" as const, storyId: "s" } } : {}),
      };
    } else if (r < 0.85) {
      event = {
        type: "comment",
        accountId: ACCOUNT,
        occurredAt,
        commentId: `c${i}`,
        text: sentence(),
        from: { id: customerId, username: `user${i}` },
        media: { id: String(17990000000000000 + Math.floor(rand() * RULES)) },
        live: false,
        self: false,
      };
    } else if (r < 0.9) {
      event = {
        type: "dm.postback",
        accountId: ACCOUNT,
        customerId,
        occurredAt,
        title: "t",
        payload: `P_${Math.floor(rand() * RULES)}`,
      };
    } else if (r < 0.95) {
      event = {
        type: "dm.message",
        accountId: ACCOUNT,
        customerId,
        occurredAt,
        mid: `m${i}`,
        attachments: [{ kind: "story_mention", rawType: "story_mention" }],
      };
    } else {
      event = {
        type: "dm.referral",
        accountId: ACCOUNT,
        customerId,
        occurredAt,
        referral: { source: "ADS", ref: `ref_${Math.floor(rand() * RULES)}`, adId: "1" },
      };
    }
    const text =
      event.type === "dm.message" || event.type === "comment"
        ? (event.text ?? "")
        : event.type === "dm.postback"
          ? event.payload
          : event.type === "dm.referral"
            ? (event.referral.ref ?? "")
            : "";
    out.push({ event, text });
  }
  return out;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);

export async function rulesBench(): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const { rules, baseline } = buildRules();
  const settings: AccountSettings = accountSettingsSchema.parse({
    timezone: "Europe/Berlin",
    hours: { mon: ["09:00-17:30"], tue: ["09:00-17:30"], wed: ["09:00-17:30"], thu: ["09:00-17:30"] },
    holidays: ["2026-12-25"],
  });
  const compileStart = process.hrtime.bigint();
  const prepared = compileRules(rules);
  const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;
  const events = buildEvents();
  const contexts: EvaluationContext[] = events.map(({ event }, i) => ({
    event,
    now: new Date(event.occurredAt),
    settings,
    customer: { isNew: i % 10 === 0, consent: "unknown", firstName: i % 3 === 0 ? undefined : "Ana" },
    // One customer in five has had every rule fire 10 minutes ago: their rules hit the cooldown.
    lastFiredAt: i % 5 === 0 ? () => new Date(event.occurredAt - 600_000) : () => undefined,
    window: windowState(new Date(event.occurredAt), new Date(event.occurredAt), false),
    ...(i % 17 === 0 ? { lastAgentReplyAt: new Date(event.occurredAt - 60_000) } : {}),
  }));

  const engine = new Float64Array(EVENTS);
  const floor = new Float64Array(EVENTS);
  let decisions = 0;
  let firing = 0;
  let sink = 0;
  for (let i = 0; i < events.length; i++) {
    const ctx = contexts[i] as EvaluationContext;
    const t0 = process.hrtime.bigint();
    const d = evaluate(prepared, ctx);
    const t1 = process.hrtime.bigint();
    const text = (events[i] as { text: string }).text;
    for (const re of baseline) if (re.test(text)) sink++;
    const t2 = process.hrtime.bigint();
    if (i < WARMUP) continue;
    engine[i - WARMUP] = Number(t1 - t0) / 1e6;
    floor[i - WARMUP] = Number(t2 - t1) / 1e6;
    decisions += d.length;
    if (d.some((x) => x.kind === "fire")) firing++;
  }
  engine.sort();
  floor.sort();
  const row = (p: number, target: string): BenchRow => {
    const a = percentile(engine, p);
    const b = percentile(floor, p);
    return {
      scenario: `rule evaluation per event, 500 rules, p${p}`,
      target,
      threadbridge: fmt(a),
      baseline: fmt(b),
      ratio: (a / b).toFixed(2),
    };
  };
  const total = engine.reduce((s, x) => s + x, 0);
  return {
    rows: [row(50, ""), row(99, "< 1 ms"), row(99.9, "")],
    notes: [
      `${EVENTS.toLocaleString("en")} events after ${WARMUP.toLocaleString("en")} warm-up: 60 % DM text (5 % of them ~150 words), 25 % comments, 5 % postbacks, 5 % story mentions, 5 % ad referrals; ${rules.length} rules on one account (10 of them for "*"): keywords, phrases, regexes, comment-to-DM with variants, payloads, referrals, story and away rules, all with \`stop: false\` so no event ends early.`,
      `${firing.toLocaleString("en")} events fired at least one rule (${decisions.toLocaleString("en")} decisions in all, templated actions included). Mean ${fmt(total / EVENTS)} per event, ${Math.round(EVENTS / (total / 1000)).toLocaleString("en")} events/s on one core.`,
      `Baseline = the floor of a naive engine: one precompiled \`RegExp.test\` per rule (500) over the event's text, nothing else (no conditions, no safety checks, no templating). threadbridge indexes rules by event kind, tokenises the text once and looks keywords up in a set. (${sink} baseline hits.)`,
      "The rules' own regexes (50 of the 500) run on RE2 (re2js), whose matching time is linear in the text, so no pattern can stall the process; per pattern it is slower than V8's backtracking RegExp, which the baseline uses, so a rule set's regexes run together, one pass of one RE2 set over each text.",
      `compileRules for ${rules.length} rules: ${compileMs.toFixed(1)} ms, once per rule-set version.`,
      "Events are 1 s apart, so the local-time lookup for away rules (remembered per time zone and minute) mostly hits; a miss costs one `Intl.DateTimeFormat#formatToParts` (a few µs) per DM. p99.9 moves between runs with garbage collection pauses.",
    ],
  };
}

if (import.meta.main) {
  const r = await rulesBench();
  process.stdout.write("| scenario | target | threadbridge | baseline | ratio |\n|---|---|---|---|---|\n");
  for (const x of r.rows)
    process.stdout.write(
      `| ${x.scenario} | ${x.target} | ${x.threadbridge} | ${x.baseline} | ${x.ratio} |\n`,
    );
  for (const n of r.notes) process.stdout.write(`- ${n}\n`);
}
