import type { CardButton, MirrorAttachment, MirrorPost } from "../chat/chat-port.ts";
import type { Attachment, Referral, ReplyTo, TemplateButton, TemplateElement } from "../instagram/events.ts";

// What a mirrored message looks like, in the port's neutral terms. Every kind Instagram sends is
// shown with its content; media stays on Meta's CDN: linked or shown inline from its URL, never
// downloaded or re-uploaded (Platform Policy).

/** Story CDN links stop working when the story expires, 24 h after it was posted. */
export const STORY_LIFETIME_MS = 24 * 3_600_000;

const LINK_LABELS: Partial<Record<Attachment["kind"], string>> = {
  video: "🎬 Video",
  audio: "🎤 Voice message",
  file: "📎 File",
  media: "📎 Media",
};

/** Attachments that link to a story: their link dies with it. */
export const STORY_KINDS: ReadonlySet<Attachment["kind"]> = new Set(["story_mention", "ig_story", "story"]);

/** Whether a story attachment's link has expired by `now` (story mentions and shared stories). */
export function storyExpired(a: Attachment, occurredAt: number, now: number): boolean {
  return STORY_KINDS.has(a.kind) && now - occurredAt > STORY_LIFETIME_MS;
}

/** One attachment as the thread shows it; a template shows one card per element. */
export function mirrorAttachments(a: Attachment, occurredAt: number, now: number): MirrorAttachment[] {
  const storyGone = storyExpired(a, occurredAt, now);
  switch (a.kind) {
    case "image":
      return [
        a.url
          ? { kind: "image", url: a.url, alt: a.stickerId ? "sticker" : "image" }
          : { kind: "placeholder", text: "image (no link)" },
      ];
    case "video":
    case "audio":
    case "file":
    case "media":
      return [
        a.url
          ? { kind: "link", label: LINK_LABELS[a.kind] ?? a.rawType, url: a.url }
          : { kind: "placeholder", text: `${a.rawType} (no link)` },
      ];
    case "share":
    case "ig_post":
      return [card("Shared a post", a)];
    case "ig_reel":
    case "reel":
      return [card("Shared a reel", a)];
    case "story_mention":
      // The CDN link only, never the media: it works until the story expires.
      return [
        storyGone || !a.url
          ? { kind: "placeholder", text: "Mentioned you in their story (the story has expired)" }
          : {
              kind: "card",
              title: "Mentioned you in their story",
              subtitle: "The link works until the story expires, 24 hours after it was posted.",
              url: a.url,
              imageUrl: a.url,
            },
      ];
    case "ig_story":
    case "story":
      return [
        storyGone || !a.url
          ? { kind: "placeholder", text: "Shared a story (no longer available)" }
          : { kind: "card", title: "Shared a story", url: a.url, imageUrl: a.url },
      ];
    case "template":
      return templateCards(a);
    case "fallback":
      // A link shared from outside Instagram, which Meta describes by its title.
      if (!a.url && !a.title)
        return [{ kind: "placeholder", text: "Shared something Instagram did not describe (fallback)" }];
      return [{ kind: "card", title: a.title ?? "Shared a link", ...(a.url ? { url: a.url } : {}) }];
    case "like_heart":
      return [{ kind: "placeholder", text: "❤️ Sent a heart (like_heart)" }];
    case "unsupported":
      return [
        {
          kind: "placeholder",
          text: `Instagram did not deliver this attachment (${a.rawType}: a kind it does not pass to apps)`,
        },
      ];
    case "other": {
      const note = `Instagram sent a “${a.rawType}” attachment, a kind threadbridge does not show yet`;
      if (a.url)
        return [{ kind: "card", title: a.title ?? note, url: a.url, ...(a.title ? { subtitle: note } : {}) }];
      return [{ kind: "placeholder", text: a.title ? `${note}: ${a.title}` : note }];
    }
  }
}

function card(title: string, a: Attachment): MirrorAttachment {
  return {
    kind: "card",
    title,
    ...(a.title ? { subtitle: a.title } : {}),
    ...(a.url ? { url: a.url } : {}),
  };
}

function cardButtons(buttons: TemplateButton[] | undefined): CardButton[] {
  return (buttons ?? [])
    .filter((b) => b.title || b.url)
    .map((b) => ({
      label: b.title ?? b.url ?? "button",
      ...(b.url ? { url: b.url } : {}),
      ...(b.payload && !b.url ? { payload: b.payload } : {}),
    }));
}

/** A product share's card: the product as Meta sends it (title, price line, picture, ids). */
function elementCard(e: TemplateElement, product: boolean): MirrorAttachment {
  const facts: string[] = [];
  if (e.productId) facts.push(`product id ${e.productId}`);
  if (e.retailerId) facts.push(`retailer id ${e.retailerId}`);
  const buttons = cardButtons(e.buttons);
  return {
    kind: "card",
    title: product ? `🛍️ ${e.title ?? "Shared a product"}` : (e.title ?? "Template"),
    ...(e.subtitle ? { subtitle: e.subtitle } : {}),
    ...(e.url ? { url: e.url } : {}),
    ...(e.imageUrl ? { imageUrl: e.imageUrl } : {}),
    ...(facts.length > 0 ? { facts } : {}),
    ...(buttons.length > 0 ? { buttons } : {}),
  };
}

function templateCards(a: Attachment): MirrorAttachment[] {
  const t = a.template;
  const product = t?.templateType === "product";
  const cards = (t?.elements ?? []).map((e) => elementCard(e, product));
  const buttons = cardButtons(t?.buttons);
  // A button template: its text and buttons.
  if (t?.text || buttons.length > 0)
    cards.unshift({
      kind: "card",
      title: t?.text ?? "Buttons",
      ...(buttons.length > 0 ? { buttons } : {}),
    });
  if (cards.length > 0) return cards;
  return [
    {
      kind: "placeholder",
      text: `A ${t?.templateType ?? "template"} template with nothing Instagram let through to show`,
    },
  ];
}

export function referralLine(r: Referral): string {
  const source =
    r.source === "ADS" || r.adId ? "an ad" : r.source ? r.source.toLowerCase().replace(/_/g, " ") : "a link";
  const parts = [`came from ${source}`];
  if (r.adsContext?.ad_title) parts.push(`“${r.adsContext.ad_title}”`);
  if (r.adId) parts.push(`(ad ${r.adId})`);
  if (r.productId) parts.push(`(product ${r.productId})`);
  if (r.ref) parts.push(`ref: ${r.ref}`);
  return parts.join(" ");
}

export interface QuotedMessage {
  author: string;
  text: string;
}

/** The quote for a reply-to: the message replied to when it is known, else what it was. */
export function quoteFor(
  replyTo: ReplyTo | undefined,
  found: QuotedMessage | undefined,
): MirrorPost["quote"] {
  if (!replyTo) return undefined;
  if (replyTo.kind === "story")
    return {
      author: "your story",
      text: replyTo.url ? `replied to your story: ${replyTo.url}` : "replied to your story",
    };
  return found ?? { author: "an earlier message", text: "(not mirrored)" };
}
