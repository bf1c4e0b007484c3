/**
 * Auto-reply rule evaluation: which rules fire for one event, and with what concrete actions.
 * Pure: no clock, database or network; the caller passes every fact in `EvaluationContext`,
 * executes the returned actions and records firings (for cooldowns and the private-reply flag).
 *
 * Precedence, when several rules match one event:
 * 1. Only enabled rules of the event's account and rules for every account (`account: "*"`)
 *    are considered, together, in one order: `priority` descending, then the order the rules
 *    were given in (file order). An account's own rule does not outrank a "*" rule by itself;
 *    give it a higher priority.
 * 2. A rule *matches* when its trigger matches the event and all its conditions hold; a rule
 *    that does not match leaves no trace.
 * 3. A matching rule either fires (a `fire` decision with its actions) or is refused (a
 *    `refuse` decision with the reason) when a safety check fails: consent revoked, another
 *    app holding the thread (standby), a live comment for a public reply or hide, private reply
 *    already used or older than 7 days, messaging window not open (automation never gets the
 *    HUMAN_AGENT tag), silenced by an agent's recent reply, or cooldown. A rule is all or
 *    nothing: if one of its actions is refused, none runs, so a customer never gets half a flow
 *    (a public "check your DMs" with no DM).
 * 4. A matching rule with `stop: true` (the default) ends evaluation whether it fired or was
 *    refused: a refusal means "not now", not "try the next rule", so a cooldown on a specific
 *    answer never lets a generic one through. Rules with `stop: false` let lower rules run too.
 * 5. Within one evaluation a comment gets at most one private reply: a second rule with one is
 *    refused as `private_reply_used`.
 */
import type { Attachment, DomainEvent, Igsid, Referral } from "../instagram/events.ts";
import { PRIVATE_REPLY_WINDOW_MS, sendPermission, type WindowState } from "../instagram/windows.ts";
import { isOpen } from "./business-hours.ts";
import { PatternSet } from "./pattern.ts";
import {
  type AccountSettings,
  type Action,
  durationMs,
  PLACEHOLDER,
  type Rule,
  type TemplateField,
  type Trigger,
} from "./rule.ts";

// ---------- public types ----------

export type ConsentState = "unknown" | "granted" | "revoked";

export interface CustomerFacts {
  /** No earlier message from this customer to this account: this event is their first. */
  isNew: boolean;
  /** Whether the customer follows the account, when the API said so. */
  follows?: boolean;
  consent: ConsentState;
  /** The customer's labels (`!label`); none when the customer has none. */
  labels?: readonly string[];
  firstName?: string;
  username?: string;
}

export interface EvaluationContext {
  event: DomainEvent;
  now: Date;
  /** The event's account settings; without them `outside_hours` never fires and silence is 30 min. */
  settings?: AccountSettings;
  customer: CustomerFacts;
  /** The last time a human agent replied in this conversation or comment thread. */
  lastAgentReplyAt?: Date;
  /** When the rule last fired for this customer (the caller scopes it to the event's customer). */
  lastFiredAt: (ruleId: string) => Date | undefined;
  /** The triggering comment already got its private reply (from an agent or a rule). */
  privateReplyUsed?: boolean;
  /** The DM conversation's window, from `windowState` (instagram/windows.ts). */
  window: WindowState;
}

export interface QuickReply {
  title: string;
  payload: string;
}

/** An action ready to execute: texts templated, variant chosen, target resolved. */
export type PlannedAction =
  | {
      type: "dm_reply";
      recipient: Igsid;
      /** Automation only ever answers inside the 24 h window: there is no tag to carry. */
      messagingType: "RESPONSE";
      text: string;
      quickReplies: readonly QuickReply[];
      imageUrl?: string;
    }
  | { type: "private_reply"; commentId: string; recipient: Igsid; text: string }
  | { type: "public_reply"; commentId: string; text: string }
  | { type: "hide_comment"; commentId: string }
  | { type: "tag"; tag: string }
  | { type: "assign"; to: string }
  | { type: "notice"; text: string }
  /** A saved reply, expanded when it is sent (the engine reads it): `fields` fill its variables. */
  | {
      type: "snippet";
      name: string;
      recipient: Igsid;
      fields: Readonly<Partial<Record<TemplateField, string>>>;
    };

export type Refusal =
  | { code: "consent_revoked"; message: string }
  | { code: "standby"; message: string }
  | { code: "live_comment"; message: string }
  | { code: "private_reply_used"; message: string }
  | { code: "private_reply_expired"; message: string }
  | { code: "window"; window: WindowState["kind"]; message: string }
  | { code: "silenced"; until: Date; message: string }
  | { code: "cooldown"; until: Date; message: string };
export type RefusalCode = Refusal["code"];

interface DecisionBase {
  ruleId: string;
  ruleName: string;
  /** The rule's `language`, for the disclosure line of what it sends. */
  language?: string;
  priority: number;
  /** This decision ended evaluation (the rule has `stop: true`). */
  stop: boolean;
}
export interface FireDecision extends DecisionBase {
  kind: "fire";
  actions: readonly PlannedAction[];
}
export interface RefuseDecision extends DecisionBase {
  kind: "refuse";
  reason: Refusal;
}
export type Decision = FireDecision | RefuseDecision;

// ---------- compiled rules ----------

/** Which events a trigger can match: the index that keeps 500 rules cheap per event. */
type Bucket = "message" | "postback" | "referral" | "comment";

type TemplatePart = string | { field: TemplateField; fallback: string | undefined };
type Template = readonly TemplatePart[];

type CompiledAction =
  | {
      type: "dm_reply";
      variants: readonly Template[];
      quickReplies: readonly QuickReply[];
      imageUrl?: string;
    }
  | { type: "private_reply"; variants: readonly Template[] }
  | { type: "public_reply"; variants: readonly Template[] }
  | { type: "hide_comment" }
  | { type: "tag"; tag: string }
  | { type: "assign"; to: string }
  | { type: "notice"; text: Template }
  | { type: "snippet"; name: string };

interface TextMatcher {
  words: readonly string[];
  prefixes: readonly string[];
  /** Normalised, space-separated, matched with spaces around. */
  phrases: readonly string[];
  /** The rule's regex: its index in the rule set's PatternSet. */
  regex?: number;
}

interface CompiledRule {
  rule: Rule;
  order: number;
  matches: (view: EventView, ctx: EvaluationContext) => boolean;
  cooldownMs: number | undefined;
  actions: readonly CompiledAction[];
  /** Sends something the customer sees: subject to consent, standby and agent silence. */
  speaks: boolean;
  dm: boolean;
  privateReply: boolean;
  moderates: boolean;
}

/** An enabled rule that cannot run, and why: it never matches. */
export interface SkippedRule {
  ruleId: string;
  reason: string;
}

export interface PreparedRules {
  /** Enabled rules compiled. */
  readonly size: number;
  /**
   * Enabled rules left out: a pattern stored before rule patterns ran on RE2 that RE2 cannot run
   * (lookaround, a backreference). Import refuses such patterns; these are reported, not run.
   */
  readonly skipped: readonly SkippedRule[];
  /** @internal */
  readonly byAccount: ReadonlyMap<string, Readonly<Record<Bucket, readonly CompiledRule[]>>>;
  /** @internal rules for "*" only, used for accounts without rules of their own. */
  readonly wildcard: Readonly<Record<Bucket, readonly CompiledRule[]>>;
  /** @internal every rule's regex, matched in one pass over an event's text. */
  readonly patterns: PatternSet;
}

const BUCKETS_OF: Record<Trigger["type"], readonly Bucket[]> = {
  dm_text: ["message"],
  story_mention: ["message"],
  story_reply: ["message"],
  outside_hours: ["message"],
  payload: ["message", "postback"],
  referral: ["message", "referral"],
  comment_text: ["comment"],
};

function emptyBuckets(): Record<Bucket, CompiledRule[]> {
  return { message: [], postback: [], referral: [], comment: [] };
}

function byPrecedence(a: CompiledRule, b: CompiledRule): number {
  return b.rule.priority - a.rule.priority || a.order - b.order;
}

/** Compile once per rule set (regexes, keywords, templates), reuse for every event. */
export function compileRules(rules: readonly Rule[]): PreparedRules {
  const skipped: SkippedRule[] = [];
  const patterns = new PatternSet();
  const compiled = rules.flatMap((rule, order) => {
    if (!rule.enabled) return [];
    try {
      return [compileRule(rule, order, patterns)];
    } catch (e) {
      if (!(e instanceof UnusablePattern)) throw e;
      skipped.push({ ruleId: rule.id, reason: e.message });
      return [];
    }
  });
  const wildcard = emptyBuckets();
  const accounts = new Map<string, Record<Bucket, CompiledRule[]>>();
  for (const c of compiled) {
    const account = c.rule.account;
    let target = wildcard;
    if (account !== "*") {
      target = accounts.get(account) ?? emptyBuckets();
      accounts.set(account, target);
    }
    for (const b of BUCKETS_OF[c.rule.trigger.type]) target[b].push(c);
  }
  for (const buckets of accounts.values())
    for (const b of Object.keys(buckets) as Bucket[])
      buckets[b] = [...buckets[b], ...wildcard[b]].sort(byPrecedence);
  for (const b of Object.keys(wildcard) as Bucket[]) wildcard[b].sort(byPrecedence);
  return { size: compiled.length, skipped, byAccount: accounts, wildcard, patterns };
}

function compileRule(rule: Rule, order: number, patterns: PatternSet): CompiledRule {
  const actions = rule.actions.map(compileAction);
  const types = new Set(rule.actions.map((a) => a.type));
  return {
    rule,
    order,
    matches: compileMatch(rule, patterns),
    cooldownMs: rule.cooldown === undefined ? undefined : durationMs(rule.cooldown),
    actions,
    speaks:
      types.has("dm_reply") ||
      types.has("private_reply") ||
      types.has("public_reply") ||
      types.has("snippet"),
    dm: types.has("dm_reply") || types.has("snippet"),
    privateReply: types.has("private_reply"),
    moderates: types.has("public_reply") || types.has("hide_comment"),
  };
}

function compileAction(a: Action): CompiledAction {
  switch (a.type) {
    case "dm_reply":
      return {
        type: "dm_reply",
        variants: a.variants.map(compileTemplate),
        quickReplies: a.quick_replies ?? [],
        ...(a.image_url === undefined ? {} : { imageUrl: a.image_url }),
      };
    case "private_reply":
    case "public_reply":
      return { type: a.type, variants: a.variants.map(compileTemplate) };
    case "notice":
      return { type: "notice", text: compileTemplate(a.text) };
    case "snippet":
      return { type: "snippet", name: a.name };
    case "hide_comment":
    case "tag":
    case "assign":
      return a;
  }
}

function compileTemplate(text: string): Template {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push({ field: m[1] as TemplateField, fallback: m[2] });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

// ---------- text ----------

const TOKEN = /[\p{L}\p{N}]+|\p{Extended_Pictographic}/gu;
const MARKS = /\p{M}/gu;

/** Lower case, accents and variation selectors dropped, split into words and emoji. */
export function tokenize(text: string): string[] {
  return text.normalize("NFKD").replace(MARKS, "").toLowerCase().match(TOKEN) ?? [];
}

function compileTextMatcher(
  t: {
    keywords?: string[];
    phrases?: string[];
    regex?: string;
  },
  patterns: PatternSet,
): TextMatcher | undefined {
  if (!t.keywords && !t.phrases && t.regex === undefined) return undefined;
  const words: string[] = [];
  const prefixes: string[] = [];
  const phrases: string[] = [];
  for (const k of t.keywords ?? []) {
    const prefix = k.trimEnd().endsWith("*");
    const tokens = tokenize(prefix ? k.trimEnd().slice(0, -1) : k);
    if (tokens.length === 0) continue;
    if (tokens.length > 1) phrases.push(tokens.join(" "));
    else if (prefix) prefixes.push(tokens[0] as string);
    else if (!words.includes(tokens[0] as string)) words.push(tokens[0] as string);
  }
  for (const p of t.phrases ?? []) {
    const tokens = tokenize(p);
    if (tokens.length > 0) phrases.push(tokens.join(" "));
  }
  let regex: number | undefined;
  if (t.regex !== undefined) {
    // Compiled once here, per rule-set version, into the set each event's text runs through once.
    const p = patterns.add(t.regex);
    if (!p.ok) {
      const shown = t.regex.length > 80 ? `${t.regex.slice(0, 79)}…` : t.regex;
      throw new UnusablePattern(`regex ${JSON.stringify(shown)}: ${p.error}`);
    }
    regex = p.index;
  }
  return { words, prefixes, phrases, ...(regex !== undefined ? { regex } : {}) };
}

class UnusablePattern extends Error {}

function textMatches(m: TextMatcher, view: EventView): boolean {
  const text = view.text;
  if (text === undefined || text === "") return false;
  // A rule has a few keywords and a message many words: look the keywords up in the message's
  // word set rather than the other way round.
  if (m.words.length > 0) {
    const tokens = view.tokenSet();
    for (const w of m.words) if (tokens.has(w)) return true;
  }
  if (m.prefixes.length > 0) {
    for (const t of view.tokenSet()) for (const p of m.prefixes) if (t.startsWith(p)) return true;
  }
  if (m.phrases.length > 0) {
    const padded = view.padded();
    for (const p of m.phrases) if (padded.includes(` ${p} `)) return true;
  }
  return m.regex !== undefined && view.patternHits().has(m.regex);
}

// ---------- events ----------

/** What the triggers read from an event, with the text work done at most once. */
interface EventView {
  event: DomainEvent;
  customerId: Igsid | undefined;
  text: string | undefined;
  tokenSet: () => ReadonlySet<string>;
  padded: () => string;
  /** The rule set's regexes that match the text, found in one pass the first time a rule asks. */
  patternHits: () => ReadonlySet<number>;
  /** Outside the account's hours; false without settings. Asked once however many rules ask. */
  closed: (ctx: EvaluationContext) => boolean;
  attachments: readonly Attachment[];
  referral: Referral | undefined;
  payload: string | undefined;
}

function viewOf(event: DomainEvent, patterns: PatternSet): EventView {
  let text: string | undefined;
  let customerId: Igsid | undefined;
  let attachments: readonly Attachment[] = [];
  let referral: Referral | undefined;
  let payload: string | undefined;
  switch (event.type) {
    case "dm.message":
      customerId = event.customerId;
      text = event.text;
      attachments = event.attachments;
      referral = event.referral;
      payload = event.quickReplyPayload;
      break;
    case "dm.postback":
      customerId = event.customerId;
      payload = event.payload;
      break;
    case "dm.referral":
      customerId = event.customerId;
      referral = event.referral;
      break;
    case "comment":
      customerId = event.from?.id;
      text = event.text;
      break;
    default:
      break;
  }
  let tokens: string[] | undefined;
  let tokenSet: Set<string> | undefined;
  let padded: string | undefined;
  let closed: boolean | undefined;
  let hits: ReadonlySet<number> | undefined;
  const tokenList = () => {
    tokens ??= tokenize(text ?? "");
    return tokens;
  };
  const view: EventView = {
    event,
    customerId,
    text,
    tokenSet: () => {
      tokenSet ??= new Set(tokenList());
      return tokenSet;
    },
    padded: () => {
      padded ??= ` ${tokenList().join(" ")} `;
      return padded;
    },
    patternHits: () => {
      hits ??= patterns.matching(text ?? "");
      return hits;
    },
    closed: (ctx) => {
      closed ??= ctx.settings !== undefined && !isOpen(ctx.settings, ctx.now);
      return closed;
    },
    attachments,
    referral,
    payload,
  };
  return view;
}

function bucketOf(event: DomainEvent): Bucket | undefined {
  switch (event.type) {
    case "dm.message":
      return "message";
    case "dm.postback":
      return "postback";
    case "dm.referral":
      return "referral";
    case "comment":
      return "comment";
    default:
      return undefined;
  }
}

function isAdsReferral(r: Referral): boolean {
  return r.source?.toUpperCase() === "ADS" || r.adId !== undefined;
}

function oneOf(value: string | string[]): ReadonlySet<string> {
  return new Set(typeof value === "string" ? [value] : value);
}

type Matcher = (view: EventView, ctx: EvaluationContext) => boolean;

function compileTrigger(trigger: Trigger, patterns: PatternSet): Matcher {
  switch (trigger.type) {
    case "dm_text": {
      const text = compileTextMatcher(trigger, patterns);
      const first = trigger.any_first_message === true;
      return (v, ctx) => {
        const e = v.event;
        // A quick-reply tap carries the button's title as text: that is the business's words.
        if (e.type !== "dm.message" || e.quickReplyPayload !== undefined) return false;
        return (first && ctx.customer.isNew) || (text !== undefined && textMatches(text, v));
      };
    }
    case "comment_text": {
      const text = compileTextMatcher(trigger, patterns);
      const any = trigger.any === true;
      const media = trigger.media === undefined ? undefined : new Set(trigger.media);
      return (v) => {
        const e = v.event;
        // The account's own public replies come back as comments: never answer ourselves.
        if (e.type !== "comment" || e.self) return false;
        if (media && !media.has(e.media.id)) return false;
        return any || (text !== undefined && textMatches(text, v));
      };
    }
    case "story_mention":
      return (v) => v.event.type === "dm.message" && v.attachments.some((a) => a.kind === "story_mention");
    case "story_reply": {
      const text = compileTextMatcher(trigger, patterns);
      return (v) =>
        v.event.type === "dm.message" &&
        v.event.replyTo?.kind === "story" &&
        (text === undefined || textMatches(text, v));
    }
    case "payload": {
      const equals = trigger.equals === undefined ? undefined : oneOf(trigger.equals);
      const prefix = trigger.prefix;
      return (v) => {
        const p = v.payload;
        if (p === undefined) return false;
        return (equals?.has(p) ?? false) || (prefix !== undefined && p.startsWith(prefix));
      };
    }
    case "referral": {
      const refs = trigger.ref === undefined ? undefined : oneOf(trigger.ref);
      const source = trigger.source;
      return (v) => {
        const r = v.referral;
        if (!r) return false;
        if (source !== "any" && (source === "ads") !== isAdsReferral(r)) return false;
        return refs === undefined || (r.ref !== undefined && refs.has(r.ref));
      };
    }
    case "outside_hours":
      return (v, ctx) => v.event.type === "dm.message" && v.closed(ctx);
  }
}

function compileMatch(rule: Rule, patterns: PatternSet): Matcher {
  const trigger = compileTrigger(rule.trigger, patterns);
  const c = rule.conditions;
  if (
    !c ||
    (c.customer === undefined &&
      c.follows === undefined &&
      c.consent !== "granted" &&
      c.label === undefined &&
      c.labels_any === undefined)
  )
    return trigger;
  return (v, ctx) => {
    if (!trigger(v, ctx)) return false;
    const facts = ctx.customer;
    if (c.customer === "new" && !facts.isNew) return false;
    if (c.customer === "returning" && facts.isNew) return false;
    if (c.follows !== undefined && facts.follows !== c.follows) return false;
    if (c.consent === "granted" && facts.consent !== "granted") return false;
    const labels = facts.labels ?? [];
    if (c.label !== undefined && !labels.includes(c.label)) return false;
    if (c.labels_any !== undefined && !c.labels_any.some((l) => labels.includes(l))) return false;
    return true;
  };
}

// ---------- evaluation ----------

const DEFAULT_SILENCE_MINUTES = 30;
// Plain arrays are compiled once and remembered by identity: treat a rule array as immutable.
const compiledArrays = new WeakMap<readonly Rule[], PreparedRules>();

/** The decisions for one event, in precedence order (see the top of this file). */
export function evaluate(rules: PreparedRules | readonly Rule[], ctx: EvaluationContext): Decision[] {
  const prepared = isPrepared(rules) ? rules : cachedCompile(rules);
  const bucket = bucketOf(ctx.event);
  if (bucket === undefined) return [];
  const candidates = (prepared.byAccount.get(ctx.event.accountId) ?? prepared.wildcard)[bucket];
  if (candidates.length === 0) return [];

  const view = viewOf(ctx.event, prepared.patterns);
  const decisions: Decision[] = [];
  let privateReplyUsed = ctx.privateReplyUsed === true;
  for (const c of candidates) {
    if (!c.matches(view, ctx)) continue;
    const base = {
      ruleId: c.rule.id,
      ruleName: c.rule.name,
      ...(c.rule.language ? { language: c.rule.language } : {}),
      priority: c.rule.priority,
      stop: c.rule.stop,
    };
    const reason = refusal(c, ctx, privateReplyUsed);
    if (reason) decisions.push({ ...base, kind: "refuse", reason });
    else {
      decisions.push({ ...base, kind: "fire", actions: plan(c, view, ctx) });
      if (c.privateReply) privateReplyUsed = true;
    }
    if (c.rule.stop) break;
  }
  return decisions;
}

function isPrepared(r: PreparedRules | readonly Rule[]): r is PreparedRules {
  return !Array.isArray(r);
}

function cachedCompile(rules: readonly Rule[]): PreparedRules {
  let p = compiledArrays.get(rules);
  if (!p) {
    p = compileRules(rules);
    compiledArrays.set(rules, p);
  }
  return p;
}

function refusal(c: CompiledRule, ctx: EvaluationContext, privateReplyUsed: boolean): Refusal | undefined {
  const e = ctx.event;
  const now = ctx.now.getTime();
  if (c.speaks && ctx.customer.consent === "revoked")
    return { code: "consent_revoked", message: "the customer opted out of automated messages" };
  if (c.speaks && e.type.startsWith("dm.") && "standby" in e && e.standby === true)
    return { code: "standby", message: "another app holds thread control (standby): automation stays quiet" };
  if (c.moderates && e.type === "comment" && e.live)
    return {
      code: "live_comment",
      message: "live comments take private replies only: no public reply, no hiding",
    };
  if (c.privateReply && e.type === "comment") {
    if (privateReplyUsed)
      return { code: "private_reply_used", message: "this comment already got its one private reply" };
    if (now - e.occurredAt >= PRIVATE_REPLY_WINDOW_MS)
      return {
        code: "private_reply_expired",
        message: "private replies are only allowed within 7 days of the comment",
      };
  }
  if (c.dm) {
    const permission = sendPermission(ctx.window, "automation");
    if (!permission.ok) return { code: "window", window: ctx.window.kind, message: permission.reason };
  }
  if (c.speaks && ctx.lastAgentReplyAt) {
    const minutes = c.rule.conditions?.agent_silence_minutes ?? ctx.settings?.agent_silence_minutes;
    const until = ctx.lastAgentReplyAt.getTime() + (minutes ?? DEFAULT_SILENCE_MINUTES) * 60_000;
    if (now < until)
      return {
        code: "silenced",
        until: new Date(until),
        message: `an agent replied within the last ${minutes ?? DEFAULT_SILENCE_MINUTES} minutes`,
      };
  }
  if (c.cooldownMs !== undefined) {
    const last = ctx.lastFiredAt(c.rule.id);
    if (last && now < last.getTime() + c.cooldownMs)
      return {
        code: "cooldown",
        until: new Date(last.getTime() + c.cooldownMs),
        message: `fired for this customer less than ${c.rule.cooldown} ago`,
      };
  }
  return undefined;
}

function plan(c: CompiledRule, view: EventView, ctx: EvaluationContext): PlannedAction[] {
  const e = ctx.event;
  const target: ActionTarget = {
    ruleId: c.rule.id,
    customerId: view.customerId ?? "",
    commentId: e.type === "comment" ? e.commentId : "",
    fields: templateFields(ctx),
  };
  return c.actions.map((a, i) => planAction(a, i, target));
}

interface ActionTarget {
  ruleId: string;
  customerId: Igsid;
  commentId: string;
  fields: Record<TemplateField, string | undefined>;
}

function planAction(a: CompiledAction, index: number, t: ActionTarget): PlannedAction {
  const pick = (variants: readonly Template[]): string =>
    render(variants[variantIndex(t.ruleId, t.customerId, index, variants.length)] ?? [], t.fields);
  switch (a.type) {
    case "dm_reply":
      return {
        type: "dm_reply",
        recipient: t.customerId,
        messagingType: "RESPONSE",
        text: pick(a.variants),
        quickReplies: a.quickReplies,
        ...(a.imageUrl === undefined ? {} : { imageUrl: a.imageUrl }),
      };
    case "private_reply":
      return {
        type: "private_reply",
        commentId: t.commentId,
        recipient: t.customerId,
        text: pick(a.variants),
      };
    case "public_reply":
      return { type: "public_reply", commentId: t.commentId, text: pick(a.variants) };
    case "hide_comment":
      return { type: "hide_comment", commentId: t.commentId };
    case "notice":
      return { type: "notice", text: render(a.text, t.fields) };
    case "snippet": {
      const fields: Partial<Record<TemplateField, string>> = {};
      for (const [k, v] of Object.entries(t.fields)) if (v !== undefined) fields[k as TemplateField] = v;
      return { type: "snippet", name: a.name, recipient: t.customerId, fields };
    }
    case "tag":
    case "assign":
      return a;
  }
}

// ---------- templates and variants ----------

/** What `{first_name}` and `{username}` become when unknown and the template gives no fallback. */
export const DEFAULT_FALLBACK = "there";

function templateFields(ctx: EvaluationContext): Record<TemplateField, string | undefined> {
  const e = ctx.event;
  const clean = (s: string | undefined) => {
    const t = s?.replace(/\s+/g, " ").trim();
    return t === "" ? undefined : t;
  };
  return {
    first_name: clean(ctx.customer.firstName),
    username: clean(ctx.customer.username ?? (e.type === "comment" ? e.from?.username : undefined)),
  };
}

function render(t: Template, fields: Record<TemplateField, string | undefined>): string {
  let out = "";
  for (const part of t)
    out += typeof part === "string" ? part : (fields[part.field] ?? part.fallback ?? DEFAULT_FALLBACK);
  return out;
}

/**
 * A stable pick per (rule, customer, action): the same person always sees the same wording,
 * different people see different ones (policy A.22: no identical automated public replies).
 */
export function variantIndex(ruleId: string, customerId: string, action: number, count: number): number {
  if (count <= 1) return 0;
  return hash32(`${ruleId}\u0000${customerId}\u0000${action}`) % count;
}

function hash32(s: string): number {
  // FNV-1a, then murmur3's finaliser so consecutive ids spread over small moduli.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
