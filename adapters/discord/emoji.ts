// Reactions. Discord takes Unicode emoji as they are (URL-encoded in the route); Instagram sometimes
// names a reaction instead ("love"). What Discord cannot show becomes one neutral emoji.

import type { ConversationChange, Mark } from "../../src/chat/chat-port.ts";

/** Shown for a reaction Discord does not know. */
export const FALLBACK_REACTION = "❔";

const BY_NAME: Record<string, string> = { love: "❤️", heart: "❤️", like: "👍" };

/** The emoji to react with for what Instagram sent. */
export function discordReaction(emoji: string): string {
  const trimmed = emoji.trim();
  const named = BY_NAME[trimmed.toLowerCase()];
  if (named) return named;
  return /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(trimmed) ? trimmed : FALLBACK_REACTION;
}

/** The reaction each delivery mark is shown as; the bot sets only these on agents' messages. */
export const MARK_REACTIONS: Record<Mark, string> = {
  pending: "⏳",
  held: "⏸️",
  sent: "✅",
  failed: "⚠️",
};

/** Emoji compared without variation selectors: Discord may hand either form back. */
export function sameEmoji(a: string, b: string): boolean {
  const bare = (s: string) => s.replace(/\uFE0F|\uFE0E/g, "");
  return bare(a) === bare(b);
}

/** What ✅ and 👀 do when an agent puts them on a thread's root (teams that work by reactions). */
const ROOT_REACTIONS: [string, ConversationChange][] = [
  ["✅", { op: "close" }],
  ["✔️", { op: "close" }],
  ["👀", { op: "take" }],
];

export function rootReactionChange(emoji: string | null): ConversationChange | undefined {
  if (!emoji) return undefined;
  return ROOT_REACTIONS.find(([e]) => sameEmoji(e, emoji))?.[1];
}
