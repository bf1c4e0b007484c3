import { z } from "zod";
import { MAX_DM_TEXT, MAX_QUICK_REPLIES, MAX_QUICK_REPLY_TITLE } from "../rules/rule.ts";

// An Instagram account's messaging profile as a file declares it (issue 22): ice breakers and the
// persistent menu, with the names and limits of reference 2.9 (`messenger_profile` on Instagram
// Login), and the welcome message flows of click-to-Instagram-Direct ads (Meta's "Welcome Message
// Flows" page, June 2026: `/me/welcome_message_flows`), which are matched by name and never deleted.

/** The messaging profile fields this command manages, in the order they are shown and applied. */
export const PROFILE_FIELDS = ["ice_breakers", "persistent_menu"] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** Reference 2.9: "At most 4 questions", one `call_to_actions` block per locale. */
export const MAX_ICE_BREAKERS = 4;
/** Reference 2.9: "keep it to 5 items or fewer". */
export const MAX_MENU_ITEMS = 5;

export interface IceBreaker {
  question: string;
  payload: string;
}
export type MenuItem =
  | { type: "postback"; title: string; payload: string }
  | { type: "web_url"; title: string; url: string };
export interface LocaleBlock<T> {
  locale: string;
  call_to_actions: T[];
}

/** The profile as Instagram holds it; an empty list is a field that is not set. */
export interface MessagingProfile {
  ice_breakers: LocaleBlock<IceBreaker>[];
  persistent_menu: LocaleBlock<MenuItem>[];
}

/** Welcome message flows a file may list. Instagram states no count; these bound what one file
 * sends, far above what an account's ads use. */
export const MAX_WELCOME_FLOWS = 20;
export const MAX_FLOW_MESSAGES = 10;
export const MAX_FLOW_NAME = 100;
/** Reference 2.7 states no payload limit; the same bound as a saved reply's quick replies. */
export const MAX_QUICK_REPLY_PAYLOAD = 1000;

export interface FlowQuickReply {
  title: string;
  payload: string;
}
export interface FlowMessage {
  text: string;
  quick_replies?: FlowQuickReply[];
}
/** A welcome message flow as a file declares it: its name is how `profile apply` finds it. */
export interface WelcomeFlow {
  name: string;
  messages: FlowMessage[];
}
/** A flow as Instagram holds it; `used_in_ad` is undefined when the answer did not say. */
export interface InstagramFlow extends WelcomeFlow {
  flow_id: string;
  used_in_ad: boolean | undefined;
}

/** What a file wants: a field it leaves out is left as it is on Instagram. */
export type WantedProfile = Partial<MessagingProfile> & { welcome_message_flows?: WelcomeFlow[] };

const text = z.string().trim().min(1, "must not be empty");
// Meta's locales are `default` or a language and region such as en_US.
const locale = z
  .string()
  .regex(/^(default|[a-z]{2}_[A-Z]{2})$/, 'must be "default" or a locale such as en_US')
  .default("default");
const unsupported = (why: string) => z.never({ error: why }).optional();

const iceBreaker = z.strictObject({ question: text, payload: text });
const menuItem = z.discriminatedUnion(
  "type",
  [
    z.strictObject({
      type: z.literal("postback"),
      title: text,
      payload: text,
      webview_height_ratio: unsupported("is not supported on Instagram (reference 2.9)"),
    }),
    z.strictObject({
      type: z.literal("web_url"),
      title: text,
      url: z.url({
        protocol: /^https?$/,
        error: (issue) => (issue.input === undefined ? "is required" : "must be an http(s) URL"),
      }),
      webview_height_ratio: unsupported("is not supported on Instagram (reference 2.9)"),
    }),
  ],
  { error: 'must be "postback" (with a payload) or "web_url" (with a url)' },
);

export const profileFileSchema = z.strictObject({
  version: z.literal(1).optional(),
  ice_breakers: z
    .array(
      z.strictObject({
        locale,
        call_to_actions: z
          .array(iceBreaker)
          .min(1, "must list at least one question (or leave the locale out)")
          .max(MAX_ICE_BREAKERS, `at most ${MAX_ICE_BREAKERS} ice breakers per locale (Instagram's limit)`),
      }),
    )
    .optional(),
  persistent_menu: z
    .array(
      z.strictObject({
        locale,
        call_to_actions: z
          .array(menuItem)
          .min(1, "must list at least one item (or leave the locale out)")
          .max(MAX_MENU_ITEMS, `at most ${MAX_MENU_ITEMS} items (Instagram's limit)`),
        composer_input_disabled: unsupported("is not supported on Instagram (reference 2.9)"),
      }),
    )
    .optional(),
  welcome_message_flows: z
    .array(
      z.strictObject({
        name: text.max(MAX_FLOW_NAME, `must be at most ${MAX_FLOW_NAME} characters`),
        messages: z
          .array(
            z.strictObject({
              text: text.max(MAX_DM_TEXT, `must be at most ${MAX_DM_TEXT} characters`),
              quick_replies: z
                .array(
                  z.strictObject({
                    content_type: z
                      .string()
                      .refine(
                        (t) => t === "text",
                        "must be text: a welcome message takes text quick replies only",
                      )
                      .optional(),
                    title: text.max(
                      MAX_QUICK_REPLY_TITLE,
                      `must be at most ${MAX_QUICK_REPLY_TITLE} characters (Instagram's limit)`,
                    ),
                    payload: text.max(
                      MAX_QUICK_REPLY_PAYLOAD,
                      `must be at most ${MAX_QUICK_REPLY_PAYLOAD} characters`,
                    ),
                  }),
                )
                .min(1, "must list at least one quick reply, or be left out")
                .max(MAX_QUICK_REPLIES, `at most ${MAX_QUICK_REPLIES} quick replies (Instagram's limit)`)
                .optional(),
            }),
          )
          .min(1, "must list at least one message")
          .max(MAX_FLOW_MESSAGES, `at most ${MAX_FLOW_MESSAGES} messages per flow`),
      }),
    )
    .max(MAX_WELCOME_FLOWS, `at most ${MAX_WELCOME_FLOWS} flows per file`)
    .optional(),
});

/** A profile field's value as Graph returned it, reduced to what a file can say (unknown items and
 * keys dropped), so it compares equal to the same value written in a file. */
function readBlocks<T>(
  value: unknown,
  item: (raw: Record<string, unknown>) => T | undefined,
): LocaleBlock<T>[] {
  if (!Array.isArray(value)) return [];
  const out: LocaleBlock<T>[] = [];
  for (const block of value) {
    if (!isRecord(block) || !Array.isArray(block.call_to_actions)) continue;
    const items = block.call_to_actions.filter(isRecord).flatMap((raw) => {
      const it = item(raw);
      return it === undefined ? [] : [it];
    });
    out.push({ locale: typeof block.locale === "string" ? block.locale : "default", call_to_actions: items });
  }
  return out;
}

export function profileFromGraph(fields: Record<string, unknown>): MessagingProfile {
  return {
    ice_breakers: readBlocks(fields.ice_breakers, (r) =>
      typeof r.question === "string" && typeof r.payload === "string"
        ? { question: r.question, payload: r.payload }
        : undefined,
    ),
    persistent_menu: readBlocks<MenuItem>(fields.persistent_menu, (r) => {
      if (typeof r.title !== "string") return undefined;
      if (r.type === "postback" && typeof r.payload === "string")
        return { type: "postback", title: r.title, payload: r.payload };
      if (r.type === "web_url" && typeof r.url === "string")
        return { type: "web_url", title: r.title, url: r.url };
      return undefined;
    }),
  };
}

/** One line per item, `[locale] …`: what `profile show` prints and the diff compares. */
export function fieldLines(field: ProfileField, profile: MessagingProfile): string[] {
  if (field === "ice_breakers")
    return profile.ice_breakers.flatMap((b) =>
      b.call_to_actions.map((q) => `[${b.locale}] ${JSON.stringify(q.question)} → payload ${q.payload}`),
    );
  return profile.persistent_menu.flatMap((b) =>
    b.call_to_actions.map((i) =>
      i.type === "postback"
        ? `[${b.locale}] ${JSON.stringify(i.title)} → payload ${i.payload}`
        : `[${b.locale}] ${JSON.stringify(i.title)} → ${i.url}`,
    ),
  );
}

export type FieldChange =
  | { field: ProfileField; kind: "not_in_file" | "unchanged" }
  | { field: ProfileField; kind: "set"; lines: DiffLine[] }
  | { field: ProfileField; kind: "remove"; lines: DiffLine[] };

export interface DiffLine {
  op: " " | "-" | "+";
  text: string;
}

/** What applying `wanted` over `current` changes, field by field. Order counts: it is the order
 * Instagram shows the questions and items in. */
export function profileChanges(current: MessagingProfile, wanted: WantedProfile): FieldChange[] {
  return PROFILE_FIELDS.map((field): FieldChange => {
    const want = wanted[field];
    if (want === undefined) return { field, kind: "not_in_file" };
    const before = fieldLines(field, current);
    const after = fieldLines(field, { ...current, [field]: want });
    if (JSON.stringify(current[field]) === JSON.stringify(want)) return { field, kind: "unchanged" };
    return { field, kind: want.length === 0 ? "remove" : "set", lines: lineDiff(before, after) };
  });
}

/** A line diff (longest common subsequence; a profile has a few dozen lines at most). */
export function lineDiff(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      (lcs[i] as number[])[j] =
        a[i] === b[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, (lcs[i] as number[])[j + 1] as number);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push({ op: " ", text: a[i] as string });
      i++;
      j++;
    } else if (
      i < n &&
      (j === m || ((lcs[i + 1] as number[])[j] as number) >= ((lcs[i] as number[])[j + 1] as number))
    ) {
      // What goes comes before what replaces it, as in a unified diff.
      out.push({ op: "-", text: a[i] as string });
      i++;
    } else {
      out.push({ op: "+", text: b[j] as string });
      j++;
    }
  }
  return out;
}

/** The diff `profile apply` prints before it asks. */
export function formatChanges(changes: readonly FieldChange[]): string {
  const out: string[] = [];
  for (const c of changes) {
    if (c.kind === "set" || c.kind === "remove") {
      out.push(`${c.field}: ${c.kind === "remove" ? "removed (the file lists none)" : "changed"}`);
      for (const l of c.lines) out.push(`  ${l.op} ${l.text}`);
    } else out.push(`${c.field}: ${c.kind === "unchanged" ? "unchanged" : "not in the file, left as it is"}`);
  }
  return `${out.join("\n")}\n`;
}

/** Every postback payload a profile defines: what rules with a `payload` trigger can match. */
export function profilePayloads(profile: WantedProfile): string[] {
  const payloads = [
    ...(profile.ice_breakers ?? []).flatMap((b) => b.call_to_actions.map((q) => q.payload)),
    ...(profile.persistent_menu ?? []).flatMap((b) =>
      b.call_to_actions.flatMap((i) => (i.type === "postback" ? [i.payload] : [])),
    ),
  ];
  return [...new Set(payloads)];
}

/** The flows in Graph's list answer, each field checked: a missing or mistyped one is named (with
 * the entry and its flow_id) rather than read as empty, since an update is matched by name. */
export function flowsFromGraph(
  entries: readonly Record<string, unknown>[],
): { ok: true; flows: InstagramFlow[] } | { ok: false; problem: string } {
  const flows: InstagramFlow[] = [];
  for (const [i, e] of entries.entries()) {
    const id = typeof e.flow_id === "number" ? String(e.flow_id) : e.flow_id;
    const where = `flow ${i + 1} of Instagram's answer${typeof id === "string" ? ` (flow_id ${id})` : ""}`;
    if (typeof id !== "string" || id === "") return { ok: false, problem: `${where} has no flow_id` };
    if (typeof e.name !== "string") return { ok: false, problem: `${where} has no name` };
    if (!Array.isArray(e.welcome_message_flow))
      return { ok: false, problem: `${where} has no welcome_message_flow list` };
    const messages: FlowMessage[] = [];
    for (const [j, raw] of e.welcome_message_flow.entries()) {
      const message = isRecord(raw) ? raw.message : undefined;
      if (!isRecord(message) || typeof message.text !== "string")
        return { ok: false, problem: `${where}: message ${j + 1} has no text` };
      const m: FlowMessage = { text: message.text };
      if (Array.isArray(message.quick_replies)) {
        const replies = message.quick_replies
          .filter(isRecord)
          .flatMap((q) =>
            typeof q.title === "string" && typeof q.payload === "string"
              ? [{ title: q.title, payload: q.payload }]
              : [],
          );
        if (replies.length > 0) m.quick_replies = replies;
      }
      messages.push(m);
    }
    const used = e.is_used_in_ad;
    flows.push({
      flow_id: id,
      name: e.name,
      messages,
      used_in_ad: typeof used === "boolean" ? used : undefined,
    });
  }
  return { ok: true, flows };
}

/** A flow's messages in Graph's `welcome_message_flow` shape. */
export function flowBody(flow: WelcomeFlow) {
  return {
    name: flow.name,
    welcome_message_flow: flow.messages.map((m) => ({
      message: {
        text: m.text,
        ...(m.quick_replies
          ? { quick_replies: m.quick_replies.map((q) => ({ content_type: "text" as const, ...q })) }
          : {}),
      },
    })),
  };
}

/** One line per message: what the diff compares. */
export function flowLines(flow: WelcomeFlow): string[] {
  return flow.messages.map((m, i) => {
    const replies = (m.quick_replies ?? []).map((q) => `${JSON.stringify(q.title)} → payload ${q.payload}`);
    return `message ${i + 1}: ${JSON.stringify(m.text)}${replies.length ? ` [quick replies: ${replies.join(", ")}]` : ""}`;
  });
}

/** `"Welcome" (flow 123): 2 messages, used in an ad`: what `profile show` prints for a flow. */
export function flowSummary(flow: InstagramFlow): string {
  const n = flow.messages.length;
  const ad =
    flow.used_in_ad === undefined
      ? "ad use not given"
      : flow.used_in_ad
        ? "used in an ad"
        : "not used in an ad";
  return `${JSON.stringify(flow.name)} (flow ${flow.flow_id}): ${n} message${n === 1 ? "" : "s"}, ${ad}`;
}

export type FlowChange =
  | { kind: "create"; flow: WelcomeFlow; lines: DiffLine[] }
  | { kind: "update"; flow: WelcomeFlow; flowId: string; lines: DiffLine[] }
  | { kind: "unchanged"; flow: WelcomeFlow }
  | { kind: "left_alone"; flow: InstagramFlow }
  | { kind: "ambiguous"; name: string; flowIds: string[] };

/** What applying the file's flows changes, matched by name: missing ones are created, differing
 * ones updated; a flow only on Instagram is left alone (a running ad may use it). */
export function flowChanges(current: readonly InstagramFlow[], wanted: readonly WelcomeFlow[]): FlowChange[] {
  const out: FlowChange[] = [];
  for (const flow of wanted) {
    const same = current.filter((c) => c.name === flow.name);
    const found = same[0];
    if (same.length > 1)
      out.push({ kind: "ambiguous", name: flow.name, flowIds: same.map((c) => c.flow_id) });
    else if (found === undefined)
      out.push({ kind: "create", flow, lines: flowLines(flow).map((text) => ({ op: "+", text })) });
    else if (JSON.stringify(found.messages) === JSON.stringify(flow.messages))
      out.push({ kind: "unchanged", flow });
    else
      out.push({
        kind: "update",
        flow,
        flowId: found.flow_id,
        lines: lineDiff(flowLines(found), flowLines(flow)),
      });
  }
  const named = new Set(wanted.map((f) => f.name));
  for (const flow of current) if (!named.has(flow.name)) out.push({ kind: "left_alone", flow });
  return out;
}

/** The flows' part of the diff `profile apply` prints before it asks. */
export function formatFlowChanges(changes: readonly FlowChange[]): string {
  const out = ["welcome_message_flows:"];
  for (const c of changes) {
    if (c.kind === "ambiguous")
      out.push(
        `  ${JSON.stringify(c.name)}: ${c.flowIds.length} flows on Instagram have this name (flow ${c.flowIds.join(", ")}): cannot tell which to update`,
      );
    else if (c.kind === "left_alone")
      out.push(`  ${flowSummary(c.flow)}: on Instagram, not in the file: left alone`);
    else if (c.kind === "unchanged") out.push(`  ${JSON.stringify(c.flow.name)}: unchanged`);
    else {
      out.push(
        `  ${JSON.stringify(c.flow.name)}: ${c.kind === "create" ? "created" : `changed (flow ${c.flowId})`}`,
      );
      for (const l of c.lines) out.push(`    ${l.op} ${l.text}`);
    }
  }
  if (changes.length === 0) out[0] += " none in the file or on Instagram";
  return `${out.join("\n")}\n`;
}

/** The quick reply payloads a flow sends: audited with each flow applied. */
export function flowPayloads(flow: WelcomeFlow): string[] {
  return [...new Set(flow.messages.flatMap((m) => (m.quick_replies ?? []).map((q) => q.payload)))];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
