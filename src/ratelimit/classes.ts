// Outbound Instagram API classes and their default per-account limits.
// Source: seed 002 "Messaging Rate Limits" and docs/reference section 8. Each limit is per
// Instagram professional account (the limiter keys every class by account id).

export type ApiClass =
  | "send_text" // Send API: text, links, reactions, stickers — 100 calls/s
  | "send_media" // Send API: audio or video — 10 calls/s
  | "private_reply" // Private replies to comments on posts and reels — 750 calls/hour
  | "private_reply_live" // Private replies to Instagram Live comments — 100 calls/s
  | "conversations" // Conversations API — 2 calls/s
  | "send_images" // Send API: a message of several images (`attachments`) — 10 calls/s, see below
  | "sender_action" // Send API sender actions (mark_seen, typing_on) — 20 calls/s, see below
  | "reaction" // Send API: the business reacting to a customer's message (react, unreact) — 10 calls/s
  | "platform"; // everything else (comments, media, profile): a conservative default

export interface ClassLimit {
  /** Calls allowed in any window of `durationSeconds`. Positive integer. */
  points: number;
  /** Window length in whole seconds (≥ 1: the Redis store works in whole seconds). */
  durationSeconds: number;
}

export const API_CLASSES: readonly ApiClass[] = [
  "send_text",
  "send_media",
  "private_reply",
  "private_reply_live",
  "conversations",
  "send_images",
  "sender_action",
  "reaction",
  "platform",
];

export const DEFAULT_LIMITS: Readonly<Record<ApiClass, ClassLimit>> = Object.freeze({
  send_text: { points: 100, durationSeconds: 1 },
  send_media: { points: 10, durationSeconds: 1 },
  private_reply: { points: 750, durationSeconds: 3600 },
  private_reply_live: { points: 100, durationSeconds: 1 },
  conversations: { points: 2, durationSeconds: 1 },
  // Meta counts sender actions with the Send API's 100/s; a fifth of it keeps agents' typing and
  // reading from ever crowding out the replies themselves.
  sender_action: { points: 20, durationSeconds: 1 },
  // Several images in one message: Meta counts the call in the Send API's 100/s, but Instagram
  // fetches up to ten files for it, so it is paced like audio and video.
  send_images: { points: 10, durationSeconds: 1 },
  // The business's reactions (sender_action react/unreact): counted by Meta with the Send API's
  // 100/s; a tenth of it, since an agent's emoji is never worth delaying a reply for.
  reaction: { points: 10, durationSeconds: 1 },
  // The real platform budget (4800 × impressions per rolling 24 h for Business Use Case calls) is
  // only known from the usage headers, which OutboundLimiter.observeUsage follows: it slows this
  // class as usage passes 75 % and 90 %, and Meta's regain-access time pauses the account. The
  // static cap only keeps bursts (profile look-ups of a new wave of conversations) smooth.
  platform: { points: 20, durationSeconds: 1 },
});

/**
 * Classes Meta counts within another class's limit: the Send API's 100 calls/s cover text, links,
 * reactions and sender actions, and a message of several images is one Send API call. A call of
 * such a class takes a turn of its own class (which keeps typing, reading and reactions from
 * crowding out replies) and one of the limit it counts in, so that together they never pass it.
 */
export const COUNTED_WITHIN: Readonly<Partial<Record<ApiClass, ApiClass>>> = Object.freeze({
  send_images: "send_text",
  sender_action: "send_text",
  reaction: "send_text",
});

/** The classes whose turn a call of `cls` takes: its own, then the limit it counts in. */
export function turnsOf(cls: ApiClass): ApiClass[] {
  const within = COUNTED_WITHIN[cls];
  return within ? [cls, within] : [cls];
}

/**
 * DEFAULT_LIMITS with some classes replaced. Throws on a limit that is not a positive integer
 * count over a positive whole number of seconds (a programming/configuration error).
 */
export function limitsFromOverrides(
  partial: Partial<Record<ApiClass, ClassLimit>> = {},
): Record<ApiClass, ClassLimit> {
  const out = {} as Record<ApiClass, ClassLimit>;
  for (const cls of API_CLASSES) {
    const limit = partial[cls] ?? DEFAULT_LIMITS[cls];
    if (!Number.isInteger(limit.points) || limit.points < 1) {
      throw new Error(`rate limit for ${cls}: points must be a positive integer`);
    }
    if (!Number.isInteger(limit.durationSeconds) || limit.durationSeconds < 1) {
      throw new Error(`rate limit for ${cls}: durationSeconds must be a positive integer`);
    }
    out[cls] = { points: limit.points, durationSeconds: limit.durationSeconds };
  }
  return out;
}
