import { describe, expect, it } from "vitest";
import { instagramReaction } from "../../src/outbound/reactions.ts";

// The stated, lossy mapping of an agent's emoji to Instagram's reaction value (docs/sending.md).

describe("instagramReaction", () => {
  it("makes every heart Instagram's own love", () => {
    for (const heart of ["❤️", "❤", "♥️", "💙", "💕", "😍", "🥰"])
      expect(instagramReaction(heart)).toEqual({ ok: true, reaction: "love" });
  });

  it("sends another single emoji as itself, without skin tone or variation selector", () => {
    expect(instagramReaction("👍")).toEqual({ ok: true, reaction: "👍" });
    expect(instagramReaction("👍🏽")).toEqual({ ok: true, reaction: "👍" });
    expect(instagramReaction("☺️")).toEqual({ ok: true, reaction: "☺" });
    expect(instagramReaction("🇵🇹")).toEqual({ ok: true, reaction: "🇵🇹" });
    // A joined emoji is one reaction.
    expect(instagramReaction("👩‍💻")).toEqual({ ok: true, reaction: "👩‍💻" });
  });

  it("refuses custom emoji, several emoji and text, saying why", () => {
    for (const none of [":partyparrot:", "🙂🙂", "ok", ""]) {
      const value = instagramReaction(none);
      expect(value.ok).toBe(false);
      if (!value.ok) expect(value.reason).toContain("has no Instagram form");
    }
  });
});
