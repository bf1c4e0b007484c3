import type {
  AccountRef,
  ChatPlatform,
  CommentAction,
  CommentHeader,
  CustomerContext,
  DmHeader,
  EntryCard,
  MentionHeader,
  Person,
  ThreadHeader,
  WindowState,
} from "../chat/chat-port.ts";
import { ENTRY_TITLES } from "../chat/header-text.ts";
import { queueState } from "../conversations/queue-state.ts";
import type { EntryDetails } from "../instagram/entry-points.ts";
import type { UserProfile } from "../instagram/graph-client.ts";
import { holderName } from "../instagram/thread-control.ts";
import {
  type ConversationEntry,
  PRIVATE_REPLY_WINDOW_MS,
  storedEntry,
  windowState,
} from "../instagram/windows.ts";
import { STORY_LIFETIME_MS } from "./posts.ts";

// Thread roots, built from the bridge's own rows. Each header also yields a digest of what it
// shows, so a root is re-rendered only when something visible changed.

export interface AccountRow {
  id: string;
  username: string | null;
  picture_url: string | null;
  status: string;
  chat_platform: ChatPlatform | null;
  chat_channel: string | null;
  settings: Record<string, unknown>;
}

export interface ConversationRow {
  id: number;
  account_id: string;
  customer_id: string;
  status: "open" | "closed" | "snoozed";
  assignee: string | null;
  consent: "unknown" | "granted" | "revoked";
  profile: UserProfile | null;
  profile_fetched_at: Date | null;
  last_customer_message_at: Date | null;
  last_business_message_at?: Date | null;
  last_seen_at: Date | null;
  /** The app holding the conversation on Instagram when it is not this one ('unknown': a standby
   * delivery did not say which); absent on rows read before the column existed. */
  controlled_by?: string | null;
  control_requested_by?: string | null;
  /** How the conversation opened (instagram/entry-points.ts); null when not known. */
  entry_point?: string | null;
  entry_referral?: EntryDetails | null;
  entry_at?: Date | null;
  chat_platform: ChatPlatform | null;
  chat_channel: string | null;
  chat_thread: string | null;
  chat_header_digest: string | null;
}

export interface MediaSnapshot {
  caption?: string;
  permalink?: string;
  thumbnailUrl?: string;
  mediaProductType?: string;
}

export interface CommentThreadRow {
  id: number;
  account_id: string;
  media_id: string;
  media_product_type: string | null;
  media: MediaSnapshot | null;
  media_fetched_at: Date | null;
  root_comment_id: string;
  status: "open" | "closed" | "snoozed";
  assignee: string | null;
  author_id: string | null;
  author_username: string | null;
  live: boolean;
  hidden: boolean;
  deleted_at: Date | null;
  root_commented_at: Date | null;
  private_reply_sent_at: Date | null;
  chat_platform: ChatPlatform | null;
  chat_channel: string | null;
  chat_thread: string | null;
  chat_header_digest: string | null;
}

export interface MentionRow {
  id: number;
  account_id: string;
  media_id: string;
  /** '' for a mention in a caption. */
  comment_id: string;
  mentioned_at: Date;
  author_id: string | null;
  author_username: string | null;
  text: string | null;
  media: MediaSnapshot | null;
  resolved_at: Date | null;
  resolve_error: string | null;
  chat_platform: ChatPlatform | null;
  chat_channel: string | null;
  chat_thread: string | null;
  chat_header_digest: string | null;
}

export function accountRef(a: AccountRow): AccountRef {
  return {
    id: a.id,
    ...(a.username ? { username: a.username } : {}),
    ...(a.picture_url ? { pictureUrl: a.picture_url } : {}),
  };
}

export function personFromProfile(id: string, p: UserProfile | null, username?: string | null): Person {
  const person: Person = { id };
  const name = p?.name;
  const user = p?.username ?? username ?? undefined;
  if (name) person.name = name;
  if (user) person.username = user;
  if (p?.profilePic) person.pictureUrl = p.profilePic;
  if (p?.isUserFollowBusiness !== undefined) person.followsBusiness = p.isUserFollowBusiness;
  if (p?.followerCount !== undefined) person.followerCount = p.followerCount;
  if (p?.isVerifiedUser !== undefined) person.verified = p.isVerifiedUser;
  return person;
}

/** How a commenter is named in a post: @username, else their id; a live viewer Instagram did
 * not name is said to be one. */
export function commenterName(from: { id: string; username?: string } | undefined, live: boolean): string {
  if (!from)
    return live ? "A live viewer (Instagram did not say who)" : "Someone (Instagram did not say who)";
  return from.username ? `@${from.username}` : `Instagram user ${from.id}`;
}

/** How a customer is named in chat: their name, else @username, else their id. */
export function displayName(p: Person): string {
  return p.name ?? (p.username ? `@${p.username}` : `Instagram user ${p.id}`);
}

/** How finely a root shows when the window ends. Every customer message moves the end, and a
 * root showing it to the minute was re-rendered in every active conversation every minute: at a
 * minute boundary 50 busy conversations spent Discord's 50 requests/s at once (1 s waits in the
 * bench), and Slack's chat.update budget goes the same way. */
export const WINDOW_SHOWN_STEP_MS = 15 * 60_000;

/** The window as a root shows it: its end rounded down to the step, never later than it is. */
function shownWindow(w: WindowState): WindowState {
  if (w.kind !== "open" && w.kind !== "human_agent") return w;
  const step = Math.floor(w.until.getTime() / WINDOW_SHOWN_STEP_MS) * WINDOW_SHOWN_STEP_MS;
  return { ...w, until: new Date(step) };
}

export function dmHeader(
  account: AccountRow,
  c: ConversationRow,
  now: Date,
  humanAgent: boolean,
  held: string | undefined,
  context?: CustomerContext,
  appNames?: ReadonlyMap<string, string>,
): DmHeader {
  const customer = personFromProfile(c.customer_id, c.profile);
  const header: DmHeader = {
    kind: "dm",
    account: accountRef(account),
    customer,
    window: shownWindow(
      windowState(c.last_customer_message_at, now, humanAgent, storedEntry(c.entry_point, c.entry_at)),
    ),
    status: c.status,
    queue: queueState({
      status: c.status,
      lastCustomerAt: c.last_customer_message_at ? new Date(c.last_customer_message_at) : null,
      lastBusinessAt: c.last_business_message_at ? new Date(c.last_business_message_at) : null,
    }),
    consent: c.consent,
    links: customer.username
      ? [{ label: "Instagram profile", url: `https://www.instagram.com/${customer.username}` }]
      : [],
  };
  const entry = storedEntry(c.entry_point, c.entry_at);
  if (entry) header.entry = entryCard(entry, c.entry_referral ?? {}, now);
  if (c.assignee) header.assignee = c.assignee;
  if (c.last_seen_at) header.seenAt = new Date(c.last_seen_at);
  if (held) header.held = held;
  if (c.controlled_by)
    header.control = {
      holder: holderName(c.controlled_by, appNames),
      ...(c.control_requested_by ? { requested: true } : {}),
    };
  if (hasContext(context)) header.context = context;
  return header;
}

function hasContext(context: CustomerContext | undefined): context is CustomerContext {
  return (
    context !== undefined &&
    (context.notes.length > 0 || context.labels.length > 0 || (context.earlier?.count ?? 0) > 0)
  );
}

/** The root's referral card: the ad, the ig.me link's ref, the story or the post that opened it.
 * A story's link is shown only while the story lives (24 h); its media is never stored. */
export function entryCard(entry: ConversationEntry, d: EntryDetails, now: Date): EntryCard {
  const card: EntryCard = { point: entry.point, title: ENTRY_TITLES[entry.point], lines: [] };
  const add = (line: string | undefined) => {
    if (line) card.lines.push(line);
  };
  switch (entry.point) {
    case "ad":
      add(d.adTitle && `“${d.adTitle}”`);
      add(d.adId && `ad ${d.adId}`);
      add(d.ref && `ref ${d.ref}`);
      if (d.videoUrl ?? d.photoUrl) card.url = d.videoUrl ?? d.photoUrl;
      if (d.photoUrl) card.imageUrl = d.photoUrl;
      break;
    case "link":
      add(d.ref && `ref ${d.ref}`);
      add(d.productId && `product ${d.productId}`);
      if (d.source && /^https:\/\//.test(d.source)) card.url = d.source;
      else add(d.source && `source ${d.source}`);
      break;
    case "story_reply":
    case "story_mention":
      if (d.storyUrl && now.getTime() - entry.at.getTime() < STORY_LIFETIME_MS) card.url = d.storyUrl;
      else add("the story is no longer available");
      break;
    case "post":
    case "comment":
      add(d.caption && `“${d.caption.length > 200 ? `${d.caption.slice(0, 199)}…` : d.caption}”`);
      add(d.commentId && `comment ${d.commentId}`);
      if (d.permalink ?? d.mediaUrl) card.url = d.permalink ?? d.mediaUrl;
      break;
    case "message":
      break;
  }
  return card;
}

export function commentActions(t: CommentThreadRow, now: Date): CommentAction[] {
  if (t.deleted_at) return [];
  const privateOpen =
    !t.private_reply_sent_at &&
    t.root_commented_at !== null &&
    now.getTime() - new Date(t.root_commented_at).getTime() < PRIVATE_REPLY_WINDOW_MS;
  // Live comments allow private replies during the broadcast and no moderation (reference 3).
  if (t.live) return privateOpen ? ["reply_private"] : [];
  const actions: CommentAction[] = [t.hidden ? "unhide" : "hide", "delete", "reply_public"];
  if (privateOpen) actions.push("reply_private");
  return actions;
}

export function commentHeader(
  account: AccountRow,
  t: CommentThreadRow,
  rootText: string | undefined,
  now: Date,
  held: string | undefined,
  context?: CustomerContext,
): CommentHeader {
  const media: CommentHeader["media"] = { id: t.media_id };
  if (t.media?.caption) media.caption = t.media.caption;
  if (t.media?.permalink) media.permalink = t.media.permalink;
  if (t.media?.thumbnailUrl) media.thumbnailUrl = t.media.thumbnailUrl;
  const productType = t.media?.mediaProductType ?? t.media_product_type;
  if (productType) media.productType = productType;
  const author: Person = { id: t.author_id ?? "" };
  if (t.author_username) author.username = t.author_username;
  if (!t.author_id && !t.author_username) author.name = commenterName(undefined, t.live);
  const comment: CommentHeader["comment"] = {
    id: t.root_comment_id,
    author,
    at: new Date(t.root_commented_at ?? now),
    hidden: t.hidden,
    deleted: t.deleted_at !== null,
  };
  if (rootText !== undefined) comment.text = rootText;
  const header: CommentHeader = {
    kind: "comment",
    account: accountRef(account),
    media,
    comment,
    live: t.live,
    status: t.status,
    privateReplyUsed: t.private_reply_sent_at !== null,
    actions: commentActions(t, now),
    links: media.permalink ? [{ label: "Open on Instagram", url: media.permalink }] : [],
  };
  if (t.assignee) header.assignee = t.assignee;
  if (held) header.held = held;
  if (hasContext(context)) header.context = context;
  return header;
}

export function mentionHeader(account: AccountRow, m: MentionRow): MentionHeader {
  const media: MentionHeader["media"] = { id: m.media_id };
  if (m.media?.caption) media.caption = m.media.caption;
  if (m.media?.permalink) media.permalink = m.media.permalink;
  if (m.media?.thumbnailUrl) media.thumbnailUrl = m.media.thumbnailUrl;
  const header: MentionHeader = {
    kind: "mention",
    account: accountRef(account),
    where: m.comment_id ? "comment" : "caption",
    at: new Date(m.mentioned_at),
    media,
    links: media.permalink ? [{ label: "Open on Instagram", url: media.permalink }] : [],
  };
  if (m.author_id || m.author_username) {
    const author: Person = { id: m.author_id ?? "" };
    if (m.author_username) author.username = m.author_username;
    header.author = author;
  }
  if (m.text) header.text = m.text;
  else
    header.unresolved = m.resolve_error
      ? `Instagram did not give this mention's text (${m.resolve_error}); media ${m.media_id}${m.comment_id ? `, comment ${m.comment_id}` : ""}`
      : "The mention has no text";
  return header;
}

/** Bumped when the adapters render the same header differently (2: the state controls), so roots
 * rendered before re-render once, on their next refresh. */
const HEADER_LAYOUT = 2;

/** What the root shows, with times to the minute, so only visible changes re-render it. */
export function headerDigest(header: ThreadHeader): string {
  return JSON.stringify({ layout: HEADER_LAYOUT, header }, (_k, v: unknown) =>
    v instanceof Date
      ? Math.floor(v.getTime() / 60_000)
      : typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)
        ? v.slice(0, 16)
        : v,
  );
}
