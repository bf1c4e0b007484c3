import type { Attachment, DmMessage, DmPostback, DmReferral, Referral } from "./events.ts";
import type { EntryPoint } from "./windows.ts";

// How a conversation opened, read from the customer event that opened it (reference 1.6, 1.11):
// an ad's referral (`source: ADS`, with the ad's id and ads_context_data), an ig.me link's
// referral (`source: SHORTLINK` with its ref, or the link itself as source), a reply to a story,
// a story mention, a shared post or reel, or a plain message. A private reply to a comment is the
// one entry the message itself cannot tell: the record knows it from the comment thread.

/** What the root's entry card shows: the ad, the link's ref, the story or the post. Stored as
 * `conversations.entry_referral`. */
export interface EntryDetails {
  adId?: string;
  adTitle?: string;
  /** The ad's image or video, as Meta's ads_context_data gives them. */
  photoUrl?: string;
  videoUrl?: string;
  ref?: string;
  source?: string;
  productId?: string;
  /** The story replied to or the story that mentions the account (a CDN link that expires). */
  storyId?: string;
  storyUrl?: string;
  /** The post or reel shared, or commented on. */
  mediaId?: string;
  mediaUrl?: string;
  caption?: string;
  commentId?: string;
  permalink?: string;
}

export interface Entry {
  point: EntryPoint;
  details: EntryDetails;
}

const POST_KINDS: ReadonlySet<Attachment["kind"]> = new Set(["share", "ig_post", "ig_reel", "reel"]);

/** Drops undefined properties, so stored details hold only what Meta sent. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** An ad's referral: `source: ADS` (reference 1.11), or one that names an ad. */
export function isAdReferral(r: Referral): boolean {
  return r.source?.toUpperCase() === "ADS" || r.adId !== undefined;
}

/** The entry a referral says, or undefined when it says nothing useful. */
export function referralEntry(r: Referral): Entry | undefined {
  if (isAdReferral(r))
    return {
      point: "ad",
      details: compact({
        adId: r.adId,
        adTitle: r.adsContext?.ad_title,
        photoUrl: r.adsContext?.photo_url,
        videoUrl: r.adsContext?.video_url,
        ref: r.ref,
        source: r.source,
      }),
    };
  if (r.ref !== undefined || r.source !== undefined || r.productId !== undefined)
    return {
      point: "link",
      details: compact({ ref: r.ref, source: r.source, productId: r.productId }),
    };
  return undefined;
}

/** How the conversation opened if `event` is its first customer event. */
export function entryOf(event: DmMessage | DmReferral | DmPostback): Entry {
  if (event.type === "dm.referral") return referralEntry(event.referral) ?? { point: "message", details: {} };
  if (event.type === "dm.postback") return { point: "message", details: {} };
  const byReferral = event.referral ? referralEntry(event.referral) : undefined;
  if (byReferral) return byReferral;
  if (event.replyTo?.kind === "story")
    return {
      point: "story_reply",
      details: compact({ storyId: event.replyTo.storyId, storyUrl: event.replyTo.url }),
    };
  const mention = event.attachments.find((a) => a.kind === "story_mention");
  if (mention) return { point: "story_mention", details: compact({ storyUrl: mention.url }) };
  const post = event.attachments.find((a) => POST_KINDS.has(a.kind));
  if (post)
    return {
      point: "post",
      details: compact({ mediaId: post.mediaId, mediaUrl: post.url, caption: post.title }),
    };
  return { point: "message", details: {} };
}
