// Instagram's messaging windows (DESIGN.md "The rules of Instagram"; reference 2.4, and
// platform-changes-2026.md "Windows depend on the entry point"): a reply within the standard
// window is a RESPONSE; from its end to 7 days after the customer's last message only a human may
// answer, with the HUMAN_AGENT tag, and only when the app has that feature; later nobody may.
//
// The standard window is 24 h after the customer's last message, except for a conversation opened
// by a first message after a click-to-Instagram-Direct ad: Meta's messaging policy (updated
// 28 Sep 2026) lets it stay in its standard window for up to 7 days, counted here from that
// message. Every other entry point (an ig.me link, a story reply or mention, a post, a private
// reply to a comment, a plain message) keeps 24 h.

/** How a conversation opened, learnt from its first customer message (entry-points.ts). */
export type EntryPoint =
  /** The first message after a click-to-Instagram-Direct ad (`referral.source` ADS). */
  | "ad"
  /** An ig.me link (`referral` with a ref: SHORTLINK, or the link itself as source). */
  | "link"
  /** A reply to one of the account's stories. */
  | "story_reply"
  /** The customer mentioned the account in their story. */
  | "story_mention"
  /** The customer wrote about a post or reel they shared. */
  | "post"
  /** The customer answered the private reply to their comment. */
  | "comment"
  /** A message with nothing of the above. */
  | "message";

export const ENTRY_POINTS: readonly EntryPoint[] = [
  "ad",
  "link",
  "story_reply",
  "story_mention",
  "post",
  "comment",
  "message",
];

/** How and when the conversation opened (the time of the message that opened it). */
export interface ConversationEntry {
  point: EntryPoint;
  at: Date;
}

/** A conversation's entry as stored (`conversations.entry_point`, `entry_at`); null when unknown. */
export function storedEntry(
  point: string | null | undefined,
  at: Date | string | null | undefined,
): ConversationEntry | null {
  if (!point || !at || !(ENTRY_POINTS as readonly string[]).includes(point)) return null;
  return { point: point as EntryPoint, at: new Date(at) };
}

/** The Instagram messaging window of a DM conversation, as agents need to see it. */
export type WindowState =
  /** Within the standard window: anyone (and automation) may reply. `entry` is set when the
   * conversation's entry point is why it is still open (an ad's 7 days). */
  | { kind: "open"; until: Date; entry?: EntryPoint }
  /** Past the standard window, up to 7 days: only a human, with the HUMAN_AGENT tag (when the
   * app has that feature). */
  | { kind: "human_agent"; until: Date }
  /** Nothing can be sent until the customer writes again. */
  | { kind: "closed"; since?: Date }
  /** The customer has not written yet (the business wrote first, from Instagram). */
  | { kind: "none" };

const HOUR = 3_600_000;
export const STANDARD_WINDOW_MS = 24 * HOUR;
export const HUMAN_AGENT_WINDOW_MS = 7 * 24 * HOUR;
/** An ad-opened conversation's standard window, from the message that opened it. */
export const AD_STANDARD_WINDOW_MS = 7 * 24 * HOUR;
/** Private replies: within 7 days of the comment. */
export const PRIVATE_REPLY_WINDOW_MS = 7 * 24 * HOUR;

/** The standard window each entry point gives, counted from the message that opened the
 * conversation; every customer message still gives at least 24 h from itself. */
export function entryWindowMs(point: EntryPoint): number {
  return point === "ad" ? AD_STANDARD_WINDOW_MS : STANDARD_WINDOW_MS;
}

export function windowState(
  lastCustomerMessageAt: Date | null | undefined,
  now: Date,
  humanAgentEnabled: boolean,
  entry?: ConversationEntry | null,
): WindowState {
  if (!lastCustomerMessageAt) return { kind: "none" };
  const t = lastCustomerMessageAt.getTime();
  const byMessage = t + STANDARD_WINDOW_MS;
  const byEntry = entry ? entry.at.getTime() + entryWindowMs(entry.point) : Number.NEGATIVE_INFINITY;
  const standardEnd = Math.max(byMessage, byEntry);
  if (now.getTime() < standardEnd) {
    const open: WindowState = { kind: "open", until: new Date(standardEnd) };
    if (entry && byEntry > byMessage) open.entry = entry.point;
    return open;
  }
  if (humanAgentEnabled && now.getTime() < t + HUMAN_AGENT_WINDOW_MS)
    return { kind: "human_agent", until: new Date(t + HUMAN_AGENT_WINDOW_MS) };
  return {
    kind: "closed",
    since: new Date(Math.max(standardEnd, humanAgentEnabled ? t + HUMAN_AGENT_WINDOW_MS : 0)),
  };
}

export type Sender = "human" | "automation";

export type SendPermission =
  | { ok: true; messagingType: "RESPONSE" }
  | { ok: true; messagingType: "MESSAGE_TAG"; tag: "HUMAN_AGENT" }
  | { ok: false; reason: string };

/** Whether `sender` may message the customer now, and how the message must be tagged. The
 * HUMAN_AGENT tag is only ever given to a human's reply. */
export function sendPermission(window: WindowState, sender: Sender): SendPermission {
  switch (window.kind) {
    case "open":
      return { ok: true, messagingType: "RESPONSE" };
    case "human_agent":
      return sender === "human"
        ? { ok: true, messagingType: "MESSAGE_TAG", tag: "HUMAN_AGENT" }
        : { ok: false, reason: "the 24-hour window has closed; automation may not use the human-agent tag" };
    case "closed":
      return {
        ok: false,
        reason: "the messaging window has closed; the customer must write again before anyone can reply",
      };
    case "none":
      return { ok: false, reason: "the customer has not written yet; Instagram only allows replies" };
  }
}
