import { z } from "zod";

// An Instagram account's messaging profile as a file declares it (issue 22): ice breakers and the
// persistent menu, with the names and limits of reference 2.9 (`messenger_profile` on Instagram
// Login). Welcome message flows are refused with a reason: the reference names their endpoint
// only, not their fields, and a guessed shape would be sent to Instagram as if it were known.

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

/** What a file wants: a field it leaves out is left as it is on Instagram. */
export type WantedProfile = Partial<MessagingProfile>;

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
  welcome_message_flows: unsupported(
    "not supported yet: threadbridge does not know the fields of Instagram's welcome message flows; set them in Ads Manager",
  ),
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
