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

/** A generic template's limits (reference 2.8). */
export const MAX_CARDS = 10;
export const MAX_CARD_TITLE = 80;
export const MAX_CARD_BUTTONS = 3;
/** The reference gives no limit for a button's title; Meta's generic template documentation
 * (Messenger) says 20 characters, and a longer one is refused at send time, so it is refused here. */
export const MAX_CARD_BUTTON_TITLE = 20;

/** Title and subtitle take variables like the text; their length is checked as written, and the
 * expanded text is cut to the limit when sent (cardsForSend). */
const cardLine = (what: string) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(
      MAX_CARD_TITLE,
      `must be at most ${MAX_CARD_TITLE} characters (Instagram's limit for a card's ${what})`,
    )
    .superRefine((t, ctx) => {
      for (const p of templateProblems(t)) ctx.addIssue({ code: "custom", message: p.message });
    });

const buttonTitle = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(MAX_CARD_BUTTON_TITLE, `must be at most ${MAX_CARD_BUTTON_TITLE} characters (a button's limit)`);

// A button opens a page (`url`) or sends its payload back as a postback: Instagram takes no other
// kind. One object with both optional, so a bad field gets its own message rather than a union's.
const cardButton = z
  .strictObject({
    title: buttonTitle,
    url: httpsUrl.optional(),
    payload: z.string().trim().min(1, "must not be empty").max(1000).optional(),
  })
  .refine(
    (b) => (b.url === undefined) !== (b.payload === undefined),
    "a button has either url (it opens a page) or payload (a postback), exactly one of them",
  )
  .transform(
    (b): SnippetCardButton =>
      b.url !== undefined ? { title: b.title, url: b.url } : { title: b.title, payload: b.payload ?? "" },
  );

const card = z
  .strictObject({
    title: cardLine("title"),
    subtitle: cardLine("subtitle").optional(),
    image_url: httpsUrl.optional(),
    /** Opened when the card itself is tapped (`default_action`). */
    url: httpsUrl.optional(),
    buttons: z
      .array(cardButton)
      .min(1, "must list at least one button, or be left out")
      .max(MAX_CARD_BUTTONS, `at most ${MAX_CARD_BUTTONS} buttons per card (Instagram's limit)`)
      .optional(),
  })
  .refine(
    (c) =>
      c.subtitle !== undefined || c.image_url !== undefined || c.url !== undefined || c.buttons !== undefined,
    "a card needs a subtitle, image_url, url or buttons besides its title (Instagram refuses a title alone)",
  )
  .transform((c) => {
    const out: SnippetCard = { title: c.title };
    if (c.subtitle !== undefined) out.subtitle = c.subtitle;
    if (c.image_url !== undefined) out.imageUrl = c.image_url;
    if (c.url !== undefined) out.url = c.url;
    if (c.buttons !== undefined) out.buttons = c.buttons;
    return out;
  });

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
    /** A generic template (a carousel of cards), sent after the text. */
    cards: z
      .array(card)
      .min(1, "must list at least one card, or be left out")
      .max(MAX_CARDS, `at most ${MAX_CARDS} cards (Instagram's limit)`)
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
    if (e.cards) out.cards = e.cards;
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

export type SnippetCardButton = { title: string; url: string } | { title: string; payload: string };

/** One card of a generic template; title and subtitle may hold variables. */
export interface SnippetCard {
  title: string;
  subtitle?: string;
  imageUrl?: string;
  /** The card's default action: a page opened when it is tapped. */
  url?: string;
  buttons?: SnippetCardButton[];
}

export interface Snippet {
  /** null: shared by every account. */
  account: string | null;
  name: string;
  text: string;
  language?: string;
  attachments: SnippetAttachment[];
  quickReplies: SnippetQuickReply[];
  /** A carousel sent after the text; left out when there is none. */
  cards?: SnippetCard[];
}

/** "thanks" or "thanks (17841…)", as lists and reports name one. */
export function snippetLabel(s: { name: string; account: string | null }): string {
  return s.account === null ? `${s.name} (shared)` : `${s.name} (account ${s.account})`;
}
