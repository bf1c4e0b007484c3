// Customer reactions arrive as Unicode emoji (or Instagram's reaction names); Slack's
// reactions.add wants its own short names. Slack cannot take a raw emoji, so anything not listed
// falls back to one neutral name.

import type { Mark } from "../../src/chat/chat-port.ts";

/** Shown for a reaction with no Slack name known here. */
export const FALLBACK_REACTION = "grey_question";

const BY_EMOJI: Record<string, string> = {
  "❤": "heart",
  "♥": "heart",
  "🧡": "orange_heart",
  "💛": "yellow_heart",
  "💚": "green_heart",
  "💙": "blue_heart",
  "💜": "purple_heart",
  "🖤": "black_heart",
  "🤍": "white_heart",
  "💔": "broken_heart",
  "💕": "two_hearts",
  "😍": "heart_eyes",
  "🥰": "smiling_face_with_3_hearts",
  "😘": "kissing_heart",
  "😂": "joy",
  "🤣": "rolling_on_the_floor_laughing",
  "😆": "laughing",
  "😄": "smile",
  "😀": "grinning",
  "😁": "grin",
  "😊": "blush",
  "🙂": "slightly_smiling_face",
  "😉": "wink",
  "😎": "sunglasses",
  "🤩": "star-struck",
  "😮": "open_mouth",
  "😯": "hushed",
  "😲": "astonished",
  "😱": "scream",
  "😢": "cry",
  "😭": "sob",
  "🥺": "pleading_face",
  "😡": "rage",
  "😠": "angry",
  "🤔": "thinking_face",
  "🙄": "face_with_rolling_eyes",
  "😅": "sweat_smile",
  "👍": "+1",
  "👎": "-1",
  "👏": "clap",
  "🙌": "raised_hands",
  "🙏": "pray",
  "👌": "ok_hand",
  "💪": "muscle",
  "👀": "eyes",
  "🔥": "fire",
  "💯": "100",
  "🎉": "tada",
  "✨": "sparkles",
  "⭐": "star",
  "✅": "white_check_mark",
  "❌": "x",
  "💀": "skull",
};

// Instagram's webhook also names a reaction ("love" for the default heart).
const BY_NAME: Record<string, string> = { love: "heart", like: "+1", heart: "heart" };

// Variation selectors, skin tones and joiners do not change which Slack name fits.
const MODIFIERS = /[\uFE0E\uFE0F\u200D]|\uD83C[\uDFFB-\uDFFF]/g;

export function slackReactionName(emoji: string): string {
  const trimmed = emoji.trim();
  const named = BY_NAME[trimmed.toLowerCase()];
  if (named) return named;
  if (/^:?[a-z0-9_+-]+:?$/.test(trimmed)) return trimmed.replace(/:/g, "");
  const bare = trimmed.replace(MODIFIERS, "");
  return BY_EMOJI[bare] ?? BY_EMOJI[Array.from(bare)[0] ?? ""] ?? FALLBACK_REACTION;
}

const BY_SLACK_NAME: Record<string, string> = {
  ...Object.fromEntries(Object.entries(BY_EMOJI).map(([emoji, name]) => [name, emoji])),
  heart: "❤️",
  thumbsup: "👍",
  thumbsdown: "👎",
  "+1": "👍",
  "-1": "👎",
  laughing: "😆",
  satisfied: "😆",
};

/** The Unicode emoji of a Slack reaction name (skin tone left out), for the core: a name Slack
 * defines but this table does not, or a workspace's custom emoji, stays `:name:`, which the core
 * explains it cannot send. */
export function emojiOfSlackName(name: string): string {
  const bare = name.split("::")[0] ?? name;
  return BY_SLACK_NAME[bare] ?? `:${bare}:`;
}

/** The reaction each delivery mark is shown as; the bot sets only these on agents' messages. */
export const MARK_REACTIONS: Record<Mark, string> = {
  pending: "hourglass_flowing_sand",
  held: "double_vertical_bar",
  sent: "white_check_mark",
  failed: "warning",
};
