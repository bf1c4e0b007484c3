import type { MirrorAttachment, MirrorPost } from "../chat/chat-port.ts";
import type { Attachment, Referral, ReplyTo } from "../instagram/events.ts";

// What a mirrored message looks like, in the port's neutral terms. Media stays on Meta's CDN:
// linked or shown inline from its URL, never downloaded or re-uploaded (Platform Policy).

/** Story CDN links stop working when the story expires, 24 h after it was posted. */
const STORY_LIFETIME_MS = 24 * 3_600_000;

const LINK_LABELS: Partial<Record<Attachment["kind"], string>> = {
  video: "🎬 Video",
  audio: "🎤 Voice message",
  file: "📎 File",
  media: "📎 Media",
};

export function mirrorAttachment(a: Attachment, occurredAt: number, now: number): MirrorAttachment {
  const storyGone = now - occurredAt > STORY_LIFETIME_MS;
  switch (a.kind) {
    case "image":
      return a.url
        ? { kind: "image", url: a.url, alt: a.stickerId ? "sticker" : "image" }
        : { kind: "placeholder", text: "image (no link)" };
    case "video":
    case "audio":
    case "file":
    case "media":
      return a.url
        ? { kind: "link", label: LINK_LABELS[a.kind] ?? a.rawType, url: a.url }
        : { kind: "placeholder", text: `${a.rawType} (no link)` };
    case "share":
    case "ig_post":
      return card("Shared a post", a);
    case "ig_reel":
    case "reel":
      return card("Shared a reel", a);
    case "story_mention":
      return storyGone || !a.url
        ? { kind: "placeholder", text: "Mentioned you in their story (the story has expired)" }
        : { kind: "card", title: "Mentioned you in their story", url: a.url, imageUrl: a.url };
    case "ig_story":
    case "story":
      return storyGone || !a.url
        ? { kind: "placeholder", text: "Shared a story (no longer available)" }
        : { kind: "card", title: "Shared a story", url: a.url, imageUrl: a.url };
    case "unsupported":
      return { kind: "placeholder", text: "Instagram did not deliver this content (unsupported type)" };
    case "other":
      return a.url
        ? { kind: "link", label: `📎 ${a.rawType}`, url: a.url }
        : { kind: "placeholder", text: `${a.rawType} (a kind of content threadbridge does not show yet)` };
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

export function referralLine(r: Referral): string {
  const source =
    r.source === "ADS" || r.adId ? "an ad" : r.source ? r.source.toLowerCase().replace(/_/g, " ") : "a link";
  const parts = [`came from ${source}`];
  if (r.adsContext?.ad_title) parts.push(`“${r.adsContext.ad_title}”`);
  if (r.adId) parts.push(`(ad ${r.adId})`);
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
