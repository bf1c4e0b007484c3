// Typed domain events: what one Instagram webhook item means, independent of the JSON shape it
// arrived in. The webhook parser produces these; the worker hands them to the inbound pipeline
// (mirror/pipeline.ts).

/** Instagram professional account id (`entry.id` of a webhook, `user_id` of `/me`). */
export type IgAccountId = string;
/** Instagram-scoped id of a customer, unique per business account. */
export type Igsid = string;

export type AttachmentKind =
  | "image" // also GIFs and stickers
  | "video"
  | "audio"
  | "file"
  | "share" // legacy shared post
  | "ig_post"
  | "ig_reel"
  | "reel"
  | "story_mention"
  | "ig_story"
  | "story"
  | "media"
  | "template" // generic, button or product template: a product share, another app's carousel
  | "fallback" // a link Meta describes with a title (a URL shared from outside Instagram)
  | "like_heart" // the heart sticker
  | "unsupported"
  | "other"; // a type Meta added that we do not know yet; `rawType` keeps its name

/** A template's button: a link (`web_url`) or a postback, as Meta describes it. */
export interface TemplateButton {
  type?: string;
  title?: string;
  url?: string;
  payload?: string;
}

/** One card of a template (a carousel has several), or one shared product. */
export interface TemplateElement {
  title?: string;
  subtitle?: string;
  imageUrl?: string;
  /** The element's own link (`url`, `item_url` or its `default_action`). */
  url?: string;
  /** A shared product: the catalog's product id and the retailer's own id, as Meta sends them. */
  productId?: string;
  retailerId?: string;
  buttons?: TemplateButton[];
}

/** What a `template` attachment shows: Meta's generic, button and product templates (reference
 * 2.8 for the sending side; a product share arrives as `payload.product.elements`). */
export interface TemplateContent {
  /** `generic`, `button`, `media`, `product`… as Meta named it; `product` for a product share. */
  templateType?: string;
  /** A button template's text. */
  text?: string;
  elements: TemplateElement[];
  /** A button template's buttons. */
  buttons?: TemplateButton[];
}

export interface Attachment {
  kind: AttachmentKind;
  /** The type string exactly as Meta sent it. */
  rawType: string;
  /** CDN or permalink URL. Media is linked, never downloaded (Meta's CDN rules). */
  url?: string;
  /** Caption of a shared post or reel; a fallback's title. */
  title?: string;
  /** `ig_post_media_id`, `reel_video_id` or `story_media_id`, whichever the type carries. */
  mediaId?: string;
  stickerId?: number;
  /** The content of a `template` attachment. */
  template?: TemplateContent;
}

export type ReplyTo = { kind: "message"; mid: string } | { kind: "story"; storyId: string; url?: string };

export interface Referral {
  ref?: string;
  source?: string;
  type?: string;
  adId?: string;
  adsContext?: Record<string, string>;
  /** A conversation started from a shop product (`referral.product.id`; reference 1.11 says
   * UNCERTAIN: kept when it comes). */
  productId?: string;
}

interface EventBase {
  accountId: IgAccountId;
  /** Milliseconds since the epoch, normalised from Meta's mixed seconds/milliseconds. */
  occurredAt: number;
}

/** Events of a DM conversation between the account and one customer. */
interface DmBase extends EventBase {
  customerId: Igsid;
  /** Delivered under `standby[]`: another app holds thread control. */
  standby?: boolean;
}

export interface DmMessage extends DmBase {
  type: "dm.message";
  /** Recovered through the Conversations API (backfill), not delivered by a webhook. */
  backfilled?: boolean;
  mid: string;
  text?: string;
  attachments: Attachment[];
  replyTo?: ReplyTo;
  quickReplyPayload?: string;
  referral?: Referral;
  /** Meta could not deliver the content (`is_unsupported`). */
  unsupported?: boolean;
}

/** A message the business sent: from this service, another app, or the Instagram app. */
export interface DmEcho extends DmBase {
  type: "dm.echo";
  /** Recovered through the Conversations API (backfill), not delivered by a webhook. */
  backfilled?: boolean;
  mid: string;
  text?: string;
  attachments: Attachment[];
  replyTo?: ReplyTo;
  /** A test message to the account itself (`is_self`). */
  self?: boolean;
}

export interface DmUnsend extends DmBase {
  type: "dm.unsend";
  mid: string;
}

export interface DmEdit extends DmBase {
  type: "dm.edit";
  mid: string;
  text: string;
  numEdit: number;
}

export interface DmReaction extends DmBase {
  type: "dm.reaction";
  mid: string;
  action: "react" | "unreact";
  reaction?: string;
  emoji?: string;
  /** Sent by the account itself (sender == the account): the business's own reaction, never the
   * customer's. Instagram documents no echo of a reaction sent through the API, but one made in
   * the Instagram app, or an echo Meta starts sending, must not show as the customer's. */
  byBusiness?: true;
}

export interface DmSeen extends DmBase {
  type: "dm.seen";
  mid: string;
}

export interface DmPostback extends DmBase {
  type: "dm.postback";
  mid?: string;
  title: string;
  payload: string;
}

export interface DmReferral extends DmBase {
  type: "dm.referral";
  referral: Referral;
}

export interface DmOptin extends DmBase {
  type: "dm.optin";
  optin: Record<string, unknown>;
}

/**
 * Conversation Routing (the successor of the handover protocol): thread control moved between
 * apps, or an app asked for it. `pass_thread_control` names the new owner, `take_thread_control`
 * the app that lost it, `request_thread_control` the app asking (reference platform-changes-2026:
 * Conversation Routing; the item shapes are Messenger's handover events, which the routing API
 * kept: accepted with any of the ids missing).
 */
export interface DmControl extends DmBase {
  type: "dm.control";
  action: "pass" | "take" | "request";
  newOwnerAppId?: string;
  previousOwnerAppId?: string;
  requestedOwnerAppId?: string;
  metadata?: string;
}

export interface CommentMedia {
  id: string;
  productType?: string; // FEED, REELS, STORY, AD
  adId?: string;
  adTitle?: string;
  originalMediaId?: string;
}

export interface CommentEvent extends EventBase {
  type: "comment";
  commentId: string;
  /** Set when this comment replies to another; replies attach to the top-level comment. */
  parentId?: string;
  text?: string;
  /** Absent on a live comment whose author Instagram did not name. */
  from?: { id: Igsid; username?: string };
  media: CommentMedia;
  /** From `live_comments`: private replies only during the broadcast, no moderation. */
  live: boolean;
  /** Written by the account itself (its own public replies echo back as comments). */
  self: boolean;
}

/**
 * A comment removed on Instagram (by its author, or by the account in the Instagram app): a
 * `comments` change whose value carries `verb: "remove"`, the Graph change-value convention. The
 * reference does not document it for Instagram Login, so it is a best-effort signal: handled when
 * it comes, never relied on.
 */
export interface CommentRemovedEvent extends EventBase {
  type: "comment.removed";
  commentId: string;
  /** The top-level comment, when the removed one was a reply and the value says so. */
  parentId?: string;
  /** Absent when Meta leaves it out; the stored comment is found by its id alone then. */
  media?: CommentMedia;
  from?: { id: Igsid; username?: string };
}

/** The account @mentioned in a comment (`commentId`) or in a media's caption (no `commentId`):
 * the `mentions` field carries neither author nor text, which the Graph API resolves. */
export interface MentionEvent extends EventBase {
  type: "mention";
  mediaId: string;
  commentId?: string;
}

/** Anything we could not classify. Stored and logged, never rejected. */
export interface UnknownEvent extends EventBase {
  type: "unknown";
  /** The webhook field or messaging key that carried it, when there was one. */
  field?: string;
  reason: string;
}

export type DmEvent =
  | DmMessage
  | DmEcho
  | DmUnsend
  | DmEdit
  | DmReaction
  | DmSeen
  | DmPostback
  | DmReferral
  | DmOptin
  | DmControl;

export type DomainEvent = DmEvent | CommentEvent | CommentRemovedEvent | MentionEvent | UnknownEvent;
export type DomainEventType = DomainEvent["type"];

export const DOMAIN_EVENT_TYPES: readonly DomainEventType[] = [
  "dm.message",
  "dm.echo",
  "dm.unsend",
  "dm.edit",
  "dm.reaction",
  "dm.seen",
  "dm.postback",
  "dm.referral",
  "dm.optin",
  "dm.control",
  "comment",
  "comment.removed",
  "mention",
  "unknown",
];

/**
 * One event as the webhook route stores it: the domain event, how to recognise a redelivery,
 * and which ordered stream it belongs to.
 */
export interface InboundRecord {
  event: DomainEvent;
  /** Unique per account; a redelivered event yields the same key. */
  dedupeKey: string;
  /**
   * The conversation or comment thread, unique per account: `dm:<igsid>`,
   * `comment:<top-level comment id>`, `mention:<media id>` or `account` for unknown events.
   * Events of one thread are handled strictly in order.
   */
  threadKey: string;
  /** The webhook item exactly as received, for replay and for kinds we learn later. */
  raw: unknown;
}
