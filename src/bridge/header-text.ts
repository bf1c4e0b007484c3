import type { Person } from "./chat-port.ts";

// Wording that every chat platform's header shows the same way (no markup), so the adapters
// differ only in how they render it.

/** "follows you · 1,234 followers", or undefined when Instagram said neither. */
export function followerSummary(person: Person): string | undefined {
  const parts: string[] = [];
  if (person.followsBusiness !== undefined)
    parts.push(person.followsBusiness ? "follows you" : "doesn't follow you");
  if (person.followerCount !== undefined) {
    const n = person.followerCount;
    parts.push(`${n.toLocaleString("en-US")} follower${n === 1 ? "" : "s"}`);
  }
  return parts.length > 0 ? parts.join(" · ") : undefined;
}
