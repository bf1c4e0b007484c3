// The business's reaction to a customer's message, from an agent's emoji in chat (issue 22). The
// Send API reacts with `sender_action: react` and `payload: {message_id, reaction}` (reference
// 2.5: "love" or any emoji); platform-changes-2026 leaves open which emoji Instagram accepts
// beyond the samples' "love". The mapping is lossy by design and stated in docs/sending.md:
//
// - every heart (❤️ ♥️ 🧡 💛 💚 💙 💜 🖤 🤍 💕 💖 💗 💓 💞 💘 😍 🥰) is Instagram's own "love";
// - another single Unicode emoji goes as itself, skin tone and variation selectors taken off;
// - a platform's custom emoji, or several emoji at once, has no Instagram form and is not sent
//   (the agent is told why).
//
// Instagram keeps one reaction of the business per message: a second emoji replaces the first,
// and taking any of them off takes the business's reaction off.

const HEARTS = new Set([
  "❤",
  "♥",
  "🧡",
  "💛",
  "💚",
  "💙",
  "💜",
  "🖤",
  "🤍",
  "🤎",
  "💕",
  "💖",
  "💗",
  "💓",
  "💞",
  "💘",
  "😍",
  "🥰",
]);

// Variation selectors and skin tones do not change which reaction is meant.
const MODIFIERS = /[\uFE0E\uFE0F]|\uD83C[\uDFFB-\uDFFF]/g;

export type ReactionValue = { ok: true; reaction: string } | { ok: false; reason: string };

/** Instagram's reaction value for an emoji an agent put on a customer's message. */
export function instagramReaction(emoji: string): ReactionValue {
  const bare = emoji.trim().replace(MODIFIERS, "");
  if (HEARTS.has(bare)) return { ok: true, reaction: "love" };
  const graphemes = [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(bare)];
  if (graphemes.length === 1 && /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(bare))
    return { ok: true, reaction: bare };
  return {
    ok: false,
    reason: `${emoji.trim() || "this reaction"} has no Instagram form (custom emoji are not sent; use a standard emoji, ❤️ for Instagram's own heart)`,
  };
}
