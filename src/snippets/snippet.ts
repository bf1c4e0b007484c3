import { z } from "zod";
import { LANGUAGE_TAG, MAX_DM_TEXT, MAX_QUICK_REPLIES, MAX_QUICK_REPLY_TITLE } from "../rules/rule.ts";
import { templateProblems } from "./template.ts";

// A saved reply as a file declares it and the database keeps it (issue 21). Objects are strict, so
// a misspelt field is an error rather than an option silently ignored.

/** Images sent with one saved reply; each is its own Send API call. */
export const MAX_SNIPPET_IMAGES = 10;

export const SNIPPET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const name = z
  .string()
  .regex(SNIPPET_NAME, "must be a slug: lowercase letters, digits, - and _ (at most 64), e.g. order-status");

// As in rule files: an unquoted long id arrives as a string, a short one as a number.
const account = z.preprocess(
  (v) => (typeof v === "number" && Number.isSafeInteger(v) ? String(v) : v),
  z.union([
    z.literal("*"),
    z.string().regex(/^\d{1,32}$/, 'must be an Instagram account id (digits) or "*"'),
  ]),
);

const text = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(MAX_DM_TEXT, `must be at most ${MAX_DM_TEXT} characters`)
  .superRefine((t, ctx) => {
    for (const p of templateProblems(t)) ctx.addIssue({ code: "custom", message: p.message });
  });

const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https URL" });

const quickReply = z.preprocess(
  (v) => (typeof v === "string" ? { title: v } : v),
  z
    .strictObject({
      title: z
        .string()
        .trim()
        .min(1, "must not be empty")
        .max(
          MAX_QUICK_REPLY_TITLE,
          `must be at most ${MAX_QUICK_REPLY_TITLE} characters (Instagram's limit)`,
        ),
      payload: z.string().trim().min(1, "must not be empty").max(1000).optional(),
      content_type: z
        .string()
        .refine((t) => t === "text", "must be text: Instagram no longer accepts phone or email quick replies")
        .optional(),
    })
    .transform((q) => ({ title: q.title, payload: q.payload ?? q.title })),
);

export const snippetEntrySchema = z
  .strictObject({
    name,
    /** The account it belongs to; left out (or "*"): shared by every account. */
    account: account.optional(),
    text,
    /** The language it is written in (`es`): a rule sending it picks the matching disclosure. */
    language: z.string().regex(LANGUAGE_TAG, 'must be a language tag like "en", "es" or "pt-BR"').optional(),
    images: z
      .array(httpsUrl)
      .min(1, "must list at least one image, or be left out")
      .max(MAX_SNIPPET_IMAGES, `at most ${MAX_SNIPPET_IMAGES} images`)
      .optional(),
    /** One document (a PDF) by URL. */
    file: httpsUrl.optional(),
    quick_replies: z
      .array(quickReply)
      .min(1, "must list at least one quick reply, or be left out")
      .max(MAX_QUICK_REPLIES, `at most ${MAX_QUICK_REPLIES} quick replies (Instagram's limit)`)
      .optional(),
  })
  .transform((e) => {
    const out: Snippet = {
      account: e.account === undefined || e.account === "*" ? null : e.account,
      name: e.name,
      text: e.text,
      attachments: [
        ...(e.images ?? []).map((url) => ({ type: "image" as const, url })),
        ...(e.file ? [{ type: "file" as const, url: e.file }] : []),
      ],
      quickReplies: e.quick_replies ?? [],
    };
    if (e.language) out.language = e.language;
    return out;
  });

export const snippetFileSchema = z.strictObject({
  version: z.literal(1).optional(),
  snippets: z.array(snippetEntrySchema).min(1, "must list at least one saved reply"),
});

export interface SnippetAttachment {
  type: "image" | "file";
  url: string;
}

export interface SnippetQuickReply {
  title: string;
  payload: string;
}

export interface Snippet {
  /** null: shared by every account. */
  account: string | null;
  name: string;
  text: string;
  language?: string;
  attachments: SnippetAttachment[];
  quickReplies: SnippetQuickReply[];
}

/** "thanks" or "thanks (17841…)", as lists and reports name one. */
export function snippetLabel(s: { name: string; account: string | null }): string {
  return s.account === null ? `${s.name} (shared)` : `${s.name} (account ${s.account})`;
}
