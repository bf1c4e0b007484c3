import { describe, expect, it } from "vitest";
import { parseInstagramTarget, shortcodeOf } from "../../src/instagram/links.ts";

describe("parseInstagramTarget", () => {
  it("takes a bare Graph id as an id", () => {
    expect(parseInstagramTarget("17850000000000501")).toEqual({ kind: "id", id: "17850000000000501" });
    expect(parseInstagramTarget("  17900000000000001 ")).toEqual({ kind: "id", id: "17900000000000001" });
  });

  it("reads post and reel links, with or without www, scheme, trailing slash or share parameters", () => {
    for (const link of [
      "https://www.instagram.com/p/C0dE_x-9/",
      "https://instagram.com/p/C0dE_x-9",
      "instagram.com/p/C0dE_x-9/?igsh=MWZ4ZnR5",
      "http://m.instagram.com/p/C0dE_x-9/?utm_source=ig_web_copy_link",
      "https://www.instagram.com/brand.shop/p/C0dE_x-9/",
    ])
      expect(parseInstagramTarget(link), link).toEqual({ kind: "post", shortcode: "C0dE_x-9" });
    expect(parseInstagramTarget("https://www.instagram.com/reel/Rr12/")).toEqual({
      kind: "post",
      shortcode: "Rr12",
    });
    expect(parseInstagramTarget("https://www.instagram.com/reels/Rr12/")).toEqual({
      kind: "post",
      shortcode: "Rr12",
    });
  });

  it("reads comment links, and a reply's link names the reply", () => {
    expect(parseInstagramTarget("https://www.instagram.com/p/C0dE/c/17850000000000501/")).toEqual({
      kind: "comment",
      shortcode: "C0dE",
      commentId: "17850000000000501",
    });
    expect(
      parseInstagramTarget("https://www.instagram.com/reel/Rr12/c/17850000000000501/r/17850000000000502/"),
    ).toEqual({ kind: "comment", shortcode: "Rr12", commentId: "17850000000000502" });
  });

  it("unwraps a link Slack formatted as <url> or <url|label>", () => {
    expect(parseInstagramTarget("<https://www.instagram.com/p/C0dE/>")).toEqual({
      kind: "post",
      shortcode: "C0dE",
    });
    expect(
      parseInstagramTarget("<https://www.instagram.com/p/C0dE/c/178/|instagram.com/p/C0dE/c/178/>"),
    ).toEqual({
      kind: "comment",
      shortcode: "C0dE",
      commentId: "178",
    });
  });

  it("refuses what is neither an id nor an Instagram post or comment link", () => {
    for (const text of [
      "",
      "abc",
      "12ab",
      "https://www.instagram.com/brand/",
      "https://www.instagram.com/p/",
      "https://www.instagram.com/stories/brand/3312/",
      "https://evil.example/p/C0dE/",
      "https://instagram.com.evil.example/p/C0dE/",
      "https://www.instagram.com/p/C0dE/c/not-an-id/",
      "https://www.instagram.com/p/C0dE/x/178/",
      "https://www.instagram.com/p/C0dE/c/178/r/",
      "https://www.instagram.com/p/C0dE/c/178/r/179/extra/",
      "javascript:alert(1)",
    ])
      expect(parseInstagramTarget(text), text).toBeUndefined();
  });
});

describe("shortcodeOf", () => {
  it("gives a stored permalink's shortcode, and nothing for other links", () => {
    expect(shortcodeOf("https://www.instagram.com/p/DAbc123/")).toBe("DAbc123");
    expect(shortcodeOf("https://www.instagram.com/reel/DAbc123/")).toBe("DAbc123");
    expect(shortcodeOf("https://example.com/p/DAbc123/")).toBeUndefined();
  });
});
