import { z } from "zod";
import { LANGUAGE_TAG } from "./language-tag.ts";
import { compilePattern } from "./pattern.ts";

// The auto-reply rule format (issue 6). One schema serves the file import, the database (rules
// are stored as the parsed value and parsed again on load: parsing is idempotent) and the type
// the evaluator works on. Objects are strict so a misspelt field ("keywrods") is an error
// rather than a rule that silently never fires.

/** Instagram DM text is capped at 1000 characters; a longer reply would be refused at send time. */
export const MAX_DM_TEXT = 1000;
/** Instagram allows at most 13 quick replies, each title at most 20 characters. */
export const MAX_QUICK_REPLIES = 13;
export const MAX_QUICK_REPLY_TITLE = 20;
/** Public comments are capped at 2200 characters by Instagram. */
export const MAX_COMMENT_TEXT = 2200;

export const TEMPLATE_FIELDS = ["first_name", "username"] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];
/** `{first_name}` or `{first_name|fallback text}`; any other `{word}` is refused at load. */
export const PLACEHOLDER = /\{([a-z_]+)(?:\|([^{}]*))?\}/g;

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

// Unquoted long ids in YAML come through as strings (see load.ts), short ones as numbers:
// accept both so `account: 123` is not a puzzling type error.
const igId = z.preprocess(
  (v) => (typeof v === "number" && Number.isSafeInteger(v) ? String(v) : v),
  z.string().regex(/^\d{1,32}$/, "must be an Instagram id (digits)"),
);

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be a slug: lowercase letters, digits, - and _ (at most 64)");

const nonEmptyText = z.string().trim().min(1, "must not be empty");

function placeholderIssues(text: string): string[] {
  const bad: string[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? "";
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(name)) bad.push(`{${name}}`);
  }
  return bad;
}

function templateText(max: number) {
  return nonEmptyText.max(max, `must be at most ${max} characters`).superRefine((text, ctx) => {
    const bad = placeholderIssues(text);
    if (bad.length > 0)
      ctx.addIssue({
        code: "custom",
        message: `unknown placeholder ${bad.join(", ")}: use {first_name} or {username}, optionally {first_name|fallback}`,
      });
  });
}

/** Why `source` cannot be a rule's `regex` (see pattern.ts), or undefined when it can. */
export function regexError(source: string): string | undefined {
  const r = compilePattern(source);
  return r.ok ? undefined : r.error;
}

const regexSource = z
  .string()
  .min(1, "must not be empty")
  .superRefine((source, ctx) => {
    const err = regexError(source);
    if (err) ctx.addIssue({ code: "custom", message: err });
  });

const words = z.array(nonEmptyText).min(1, "must list at least one entry");

// ---------- triggers ----------

const textMatch = {
  /** Whole words, case- and accent-insensitive; a trailing `*` matches a word prefix. */
  keywords: words.optional(),
  /** A sequence of words anywhere in the text, same normalisation as keywords. */
  phrases: words.optional(),
  /**
   * A regular expression in JavaScript syntax, tested on the raw text case-insensitively (as with
   * flags `iu`) by RE2, in linear time: no lookaround or backreferences (pattern.ts).
   */
  regex: regexSource.optional(),
};

function needsOneOf<T extends object>(keys: readonly (keyof T & string)[], what: string) {
  return (v: T, ctx: z.RefinementCtx) => {
    if (!keys.some((k) => v[k] !== undefined && v[k] !== false))
      ctx.addIssue({ code: "custom", message: `${what} needs at least one of: ${keys.join(", ")}` });
  };
}

const dmTextTrigger = z
  .strictObject({
    type: z.literal("dm_text"),
    ...textMatch,
    /** Any first message of a conversation, text or not. */
    any_first_message: z.boolean().optional(),
  })
  .superRefine(needsOneOf(["keywords", "phrases", "regex", "any_first_message"], "a dm_text trigger"));

const commentTextTrigger = z
  .strictObject({
    type: z.literal("comment_text"),
    ...textMatch,
    /** Every comment (on the chosen media): the usual comment-to-DM campaign. */
    any: z.boolean().optional(),
    /** Only comments on these media ids; all media when absent. */
    media: z.array(igId).min(1, "must list at least one media id").optional(),
  })
  .superRefine(needsOneOf(["keywords", "phrases", "regex", "any"], "a comment_text trigger"));

const storyMentionTrigger = z.strictObject({ type: z.literal("story_mention") });

/** Matches every reply to a story, or only those whose text matches when a matcher is given. */
const storyReplyTrigger = z.strictObject({ type: z.literal("story_reply"), ...textMatch });

const payloadTrigger = z
  .strictObject({
    type: z.literal("payload"),
    equals: z.union([nonEmptyText, z.array(nonEmptyText).min(1)]).optional(),
    prefix: nonEmptyText.optional(),
  })
  .superRefine(needsOneOf(["equals", "prefix"], "a payload trigger"));

export const REFERRAL_SOURCES = ["ads", "link", "any"] as const;
const referralTrigger = z.strictObject({
  type: z.literal("referral"),
  /** `ads`: a click-to-message ad; `link`: an ig.me link; `any` (default). */
  source: z.enum(REFERRAL_SOURCES).default("any"),
  /** The `ref` parameter of the link or ad, exactly. */
  ref: z.union([nonEmptyText, z.array(nonEmptyText).min(1)]).optional(),
});

const outsideHoursTrigger = z.strictObject({ type: z.literal("outside_hours") });

export const TRIGGER_TYPES = [
  "dm_text",
  "comment_text",
  "story_mention",
  "story_reply",
  "payload",
  "referral",
  "outside_hours",
] as const;

export const triggerSchema = z.discriminatedUnion(
  "type",
  [
    dmTextTrigger,
    commentTextTrigger,
    storyMentionTrigger,
    storyReplyTrigger,
    payloadTrigger,
    referralTrigger,
    outsideHoursTrigger,
  ],
  { error: () => `type must be one of: ${TRIGGER_TYPES.join(", ")}` },
);

// ---------- conditions ----------

export const conditionsSchema = z.strictObject({
  /** `new`: the customer's first message to this account; `returning`: anyone who wrote before. */
  customer: z.enum(["new", "returning"]).optional(),
  /** Follower status; a rule with this condition never fires when the API did not give it. */
  follows: z.boolean().optional(),
  /** Silence after an agent's reply, overriding the account's `agent_silence_minutes`; 0 = never. */
  agent_silence_minutes: z.number().int().min(0).max(525_600).optional(),
  /** The least consent the rule needs: `granted` only, or `unknown` (= unknown or granted). */
  consent: z.enum(["granted", "unknown"]).optional(),
});

// ---------- actions ----------

const quickReply = z.preprocess(
  (v) => (typeof v === "string" ? { title: v } : v),
  z
    .strictObject({
      title: nonEmptyText.max(MAX_QUICK_REPLY_TITLE, `must be at most ${MAX_QUICK_REPLY_TITLE} characters`),
      payload: nonEmptyText.max(1000).optional(),
    })
    .transform((q) => ({ title: q.title, payload: q.payload ?? q.title })),
);

/** One text or several variants; stored as variants so the evaluator has one shape. */
function textOrVariants(max: number) {
  const t = templateText(max);
  return {
    text: t.optional(),
    variants: z.array(t).min(1, "must list at least one variant").optional(),
  };
}

type NonEmpty<T> = [T, ...T[]];

function toVariants<V extends { text?: string | undefined; variants?: string[] | undefined }>(
  v: V,
): Omit<V, "text" | "variants"> & { variants: NonEmpty<string> } {
  const { text, variants, ...rest } = v;
  const list = variants ?? (text === undefined ? [] : [text]);
  return { ...rest, variants: list as NonEmpty<string> };
}

function exactlyOneText(
  v: { text?: string | undefined; variants?: string[] | undefined },
  ctx: z.RefinementCtx,
) {
  if ((v.text === undefined) === (v.variants === undefined))
    ctx.addIssue({ code: "custom", message: "give exactly one of text or variants" });
}

const dmReplyAction = z
  .strictObject({
    type: z.literal("dm_reply"),
    ...textOrVariants(MAX_DM_TEXT),
    quick_replies: z.array(quickReply).min(1).max(MAX_QUICK_REPLIES).optional(),
    image_url: z.url({ protocol: /^https$/, error: "must be an https URL" }).optional(),
  })
  .superRefine(exactlyOneText)
  .transform(toVariants);

const privateReplyAction = z
  .strictObject({ type: z.literal("private_reply"), ...textOrVariants(MAX_DM_TEXT) })
  .superRefine(exactlyOneText)
  .transform(toVariants);

const publicReplyAction = z
  .strictObject({
    type: z.literal("public_reply"),
    variants: z.array(templateText(MAX_COMMENT_TEXT)).min(1, "must list at least one variant"),
  })
  .transform((a) => ({ type: a.type, variants: a.variants as NonEmpty<string> }));

const hideCommentAction = z.strictObject({ type: z.literal("hide_comment") });
const tagAction = z.strictObject({ type: z.literal("tag"), tag: slug });
const assignAction = z.strictObject({ type: z.literal("assign"), to: nonEmptyText.max(200) });
const noticeAction = z.strictObject({ type: z.literal("notice"), text: templateText(3000) });
/** A saved reply (threadbridge snippets), sent as a DM like dm_reply; `snippet: NAME` for short. */
const snippetAction = z.strictObject({ type: z.literal("snippet"), name: slug });

export const ACTION_TYPES = [
  "dm_reply",
  "private_reply",
  "public_reply",
  "hide_comment",
  "tag",
  "assign",
  "notice",
  "snippet",
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export const actionSchema = z.preprocess(
  // `- snippet: thanks` is `- { type: snippet, name: thanks }`.
  (v) =>
    typeof v === "object" && v !== null && !("type" in v) && "snippet" in v && Object.keys(v).length === 1
      ? { type: "snippet", name: (v as { snippet: unknown }).snippet }
      : v,
  z.discriminatedUnion(
    "type",
    [
      dmReplyAction,
      privateReplyAction,
      publicReplyAction,
      hideCommentAction,
      tagAction,
      assignAction,
      noticeAction,
      snippetAction,
    ],
    { error: () => `type must be one of: ${ACTION_TYPES.join(", ")}` },
  ),
);

/** Actions that act on the comment that triggered the rule, so only a comment trigger may use them. */
export const COMMENT_ONLY_ACTIONS: readonly ActionType[] = ["private_reply", "public_reply", "hide_comment"];

// ---------- languages ----------

export { LANGUAGE_TAG } from "./language-tag.ts";

export const languageTag = z
  .string()
  .regex(LANGUAGE_TAG, 'must be a language tag like "en", "es" or "pt-BR"');

// ---------- durations ----------

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION = /^(?:\d+[smhdw])+$/;

/** "24h", "30m", "1h30m", "7d" → milliseconds. Callers pass validated strings. */
export function durationMs(text: string): number {
  let ms = 0;
  for (const m of text.matchAll(/(\d+)([smhdw])/g))
    ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms;
}

const duration = z
  .string()
  .regex(DURATION, 'must be a duration like "30m", "24h", "1h30m" or "7d"')
  .refine((d) => !DURATION.test(d) || durationMs(d) > 0, "must be longer than zero");

// ---------- rule ----------

export const ruleSchema = z.strictObject({
  id: slug,
  name: nonEmptyText.max(200),
  /** The Instagram account the rule belongs to, or "*" for every account. */
  account: z.union([z.literal("*"), igId]),
  enabled: z.boolean().default(true),
  /** Higher runs first; see evaluate.ts for the whole precedence. */
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
  trigger: triggerSchema,
  conditions: conditionsSchema.optional(),
  actions: z.array(actionSchema).min(1, "a rule needs at least one action"),
  /** At most one firing per customer in this span. */
  cooldown: duration.optional(),
  /** When this rule matches, rules below it are not considered (whether it fired or was refused). */
  stop: z.boolean().default(true),
  /** The language its messages are written in: picks the account's disclosure text (disclosure.ts). */
  language: languageTag.optional(),
});

// ---------- account settings ----------

const HHMM = "([01]\\d|2[0-3]):([0-5]\\d)";
export const HOURS_RANGE = new RegExp(`^${HHMM}-(?:${HHMM}|(24):(00))$`);

const hoursRange = z
  .string()
  .regex(
    HOURS_RANGE,
    'must be a range like "09:00-17:30" (end may be "24:00", or past midnight: "22:00-02:00")',
  )
  .refine((r) => {
    const [a, b] = r.split("-");
    return a !== b;
  }, "start and end must differ");

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like "2026-12-25"')
  .refine((d) => {
    const t = new Date(`${d}T00:00:00Z`);
    return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === d;
  }, "is not a calendar date");

export const accountSettingsSchema = z.strictObject({
  /** IANA time zone, e.g. "Europe/Berlin". */
  timezone: z.string().superRefine((tz, ctx) => {
    if (!validTimeZone(tz))
      ctx.addIssue({
        code: "custom",
        message: `unknown time zone "${tz}" (use an IANA name like "Europe/Berlin")`,
      });
  }),
  /** Opening hours per weekday, local time; a day left out is closed all day. */
  hours: z.partialRecord(z.enum(WEEKDAYS), z.array(hoursRange)).default({}),
  /** Local dates the account is closed all day. */
  holidays: z.array(isoDate).default([]),
  /** A human reply in the thread silences rules for this long (per rule: conditions.agent_silence_minutes). */
  agent_silence_minutes: z.number().int().min(0).max(525_600).default(30),
});

export const ruleFileSchema = z.strictObject({
  version: z.literal(1).optional(),
  accounts: z.record(igId, accountSettingsSchema).default({}),
  rules: z.array(ruleSchema).default([]),
});

export type Trigger = z.output<typeof triggerSchema>;
export type TriggerType = Trigger["type"];
export type Conditions = z.output<typeof conditionsSchema>;
export type Action = z.output<typeof actionSchema>;
export type Rule = z.output<typeof ruleSchema>;
/** What a file (or an API caller) may write: defaults optional, `text` instead of `variants`. */
export type RuleInput = z.input<typeof ruleSchema>;
export type AccountSettings = z.output<typeof accountSettingsSchema>;
export type RuleFile = z.output<typeof ruleFileSchema>;
export type RuleFileInput = z.input<typeof ruleFileSchema>;
