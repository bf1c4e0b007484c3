import { describe, expect, it } from "vitest";
import { webhookUsername } from "../../../adapters/discord/adapter.ts";
import { discordReaction, FALLBACK_REACTION } from "../../../adapters/discord/emoji.ts";
import { parseIgOptions } from "../../../adapters/discord/ig-command.ts";
import { escapeMarkdown, splitMarkdown, toPlainText } from "../../../adapters/discord/markdown.ts";
import { CONTINUATION_FLAG, renderNotice, renderPost } from "../../../adapters/discord/render.ts";
import { headerTags, renderHeader, threadName } from "../../../adapters/discord/render-header.ts";
import type { CommentHeader, DmHeader, MirrorPost } from "../../../src/chat/chat-port.ts";

function post(over: Partial<MirrorPost> = {}): MirrorPost {
  return { author: { kind: "customer", name: "Jo" }, text: "hi", attachments: [], context: [], ...over };
}

const dm: DmHeader = {
  kind: "dm",
  account: { id: "1", username: "brand" },
  customer: {
    id: "900",
    name: "Jo Doe",
    username: "jo_doe",
    pictureUrl: "https://cdn.example/jo.jpg",
    followsBusiness: true,
    followerCount: 1234,
    verified: true,
  },
  window: { kind: "open", until: new Date("2030-01-01T12:00:00Z") },
  status: "open",
  consent: "revoked",
  held: "sending is paused",
  seenAt: new Date("2030-01-01T10:00:00Z"),
  links: [{ label: "Open in Instagram", url: "https://instagram.com/direct/t/1" }],
};

const comment: CommentHeader = {
  kind: "comment",
  account: { id: "1", username: "brand" },
  media: {
    id: "m1",
    caption: "New *drop*",
    permalink: "https://instagram.com/p/abc",
    thumbnailUrl: "https://cdn.example/t.jpg",
    productType: "REELS",
  },
  comment: {
    id: "17900000000000001",
    text: "love it @everyone",
    author: { id: "901", username: "fan" },
    at: new Date("2030-01-01T09:00:00Z"),
    hidden: false,
    deleted: true,
  },
  live: false,
  status: "open",
  privateReplyUsed: true,
  actions: ["hide", "delete", "reply_public", "reply_private"],
  links: [],
};

describe("escaping", () => {
  it("shows markdown, mentions and broadcasts literally and leaves URLs whole", () => {
    const escaped = escapeMarkdown(
      "*bold* _it_ `code` ||spoiler|| ~~x~~ <@123> <#5> [a](https://x.y) @everyone @here",
    );
    expect(escaped).toBe(
      "\\*bold\\* \\_it\\_ \\`code\\` \\|\\|spoiler\\|\\| \\~\\~x\\~\\~ \\<@123\\> \\<\\#5\\> \\[a\\](https://x.y) @\u200beveryone @\u200bhere",
    );
    expect(escapeMarkdown("see https://ex.com/a_b*c?d=1 now")).toBe("see https://ex.com/a_b*c?d=1 now");
    expect(escapeMarkdown("# title\n> quote\n- item\n1. first\n-# small")).toBe(
      "\\# title\n\\> quote\n\\- item\n1\\. first\n-\\# small",
    );
  });

  it("splits long text under 2,000 characters at line or word breaks, never inside an escape", () => {
    const text = escapeMarkdown(`${"word ".repeat(500)}\n${"*".repeat(1500)}`);
    const pieces = splitMarkdown(text, 2000);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(2000);
      expect(/(^|[^\\])(\\\\)*\\$/.test(piece)).toBe(false);
    }
    expect(pieces.join("").replace(/\s/g, "")).toBe(text.replace(/\s/g, ""));
    // Emoji (surrogate pairs) are never cut in half.
    const emoji = splitMarkdown("😀".repeat(1500), 2000);
    expect(emoji.every((p) => !/[\uD800-\uDBFF]$/.test(p))).toBe(true);
  });

  it("turns agent markdown into what Instagram shows", () => {
    const names = {
      user: (id: string) => (id === "420000000000000042" ? "Ana" : undefined),
      role: () => "mods",
      channel: () => undefined,
    };
    expect(
      toPlainText(
        "hi <@420000000000000042> and <@!770000000000000077> <@&900000000000000009> <#550000000000000055> <:wave:123> see [our site](https://ex.com) or <https://a.b/c> \\*not bold\\* <t:0:R>",
        names,
      ),
    ).toBe(
      "hi @Ana and @user @mods #channel :wave: see our site (https://ex.com) or https://a.b/c *not bold* 1970-01-01 00:00 UTC",
    );
  });
});

describe("posts", () => {
  it("renders every attachment kind, the quote, context and attribution", () => {
    const [part, ...rest] = renderPost(
      post({
        text: "look <@1>",
        quote: { author: "Brand", text: "our *offer*" },
        attachments: [
          { kind: "image", url: "https://cdn.example/a.jpg", alt: "a photo" },
          { kind: "link", label: "Video", url: "https://cdn.example/v.mp4" },
          { kind: "link", label: "Voice message", url: "https://cdn.example/a.m4a" },
          {
            kind: "card",
            title: "Shared reel",
            subtitle: "by @x",
            url: "https://ig/r/1",
            imageUrl: "https://cdn/t.jpg",
          },
          { kind: "placeholder", text: "Story expired" },
          { kind: "image", url: "javascript:alert(1)", alt: "bad" },
        ],
        context: ["Quick reply: YES"],
        attribution: "sent from Instagram",
      }),
    );
    expect(rest).toEqual([]);
    expect(part?.content).toBe(
      [
        "> **Brand**: our \\*offer\\*",
        "look \\<@1\\>",
        "🎬 [Video](<https://cdn.example/v.mp4>)",
        "🎧 [Voice message](<https://cdn.example/a.m4a>)",
        "*Story expired*",
        "🖼️ bad",
        "-# Quick reply: YES",
        "-# *sent from Instagram*",
      ].join("\n"),
    );
    expect(part?.embeds).toEqual([
      { image: { url: "https://cdn.example/a.jpg" }, footer: { text: "a photo" } },
      {
        title: "Shared reel",
        url: "https://ig/r/1",
        description: "by @x",
        thumbnail: { url: "https://cdn/t.jpg" },
      },
    ]);
  });

  it("keeps at most 10 embeds; the rest become links", () => {
    const attachments = Array.from({ length: 12 }, (_, i) => ({
      kind: "image" as const,
      url: `https://cdn.example/${i}.jpg`,
      alt: "image",
    }));
    const [part] = renderPost(post({ text: "", attachments }));
    expect(part?.embeds).toHaveLength(10);
    expect(part?.content.split("\n")).toHaveLength(2);
  });

  it("splits a long text into parts, embeds on the last", () => {
    const parts = renderPost(
      post({ text: "a ".repeat(2500), attachments: [{ kind: "image", url: "https://c/x.jpg", alt: "x" }] }),
    );
    expect(parts).toHaveLength(3);
    expect(parts.every((p) => p.content.length <= 2000)).toBe(true);
    expect(parts[0]?.embeds).toEqual([]);
    expect(parts[2]?.embeds).toHaveLength(1);
    expect(CONTINUATION_FLAG).toBe(4096);
  });

  it("shows removed and empty messages", () => {
    expect(renderPost(post({ removed: true, text: "secret" }))[0]?.content).toBe("*message removed*");
    expect(renderPost(post({ text: "" }))[0]?.content).toBe("*(empty message)*");
  });
});

describe("headers", () => {
  it("renders a DM root as an embed with window, status, banners, seen and links", () => {
    const rendered = renderHeader(dm);
    expect(rendered.embeds).toHaveLength(1);
    const embed = rendered.embeds?.[0];
    expect(embed?.author).toEqual({
      name: "Jo Doe",
      url: "https://www.instagram.com/jo_doe",
      icon_url: "https://cdn.example/jo.jpg",
    });
    expect(embed?.thumbnail).toEqual({ url: "https://cdn.example/jo.jpg" });
    const text = embed?.description ?? "";
    expect(text).toContain("**Jo Doe** · [@jo\\_doe](<https://www.instagram.com/jo_doe>) · ✔︎ verified");
    expect(text).toContain("follows you · 1,234 followers");
    expect(text).toContain("⛔ **Consent revoked**");
    expect(text).toContain("⏸️ **Replies held**: sending is paused");
    expect(text).toContain("🟢 Reply window open until <t:1893499200:f>");
    expect(text).toContain("-# Status: open · Instagram DM to @brand");
    expect(text).toContain("👁 Seen <t:1893492000:R>");
    expect(text).toContain("[Open in Instagram](<https://instagram.com/direct/t/1>)");
    expect(JSON.stringify(rendered.components)).not.toContain("ig_comment_");
    expect(rendered.allowed_mentions).toEqual({ parse: [] });

    expect(renderHeader({ ...dm, window: { kind: "closed" } }).embeds?.[0]?.description).toContain(
      "🔴 Window closed",
    );
    expect(
      renderHeader({ ...dm, window: { kind: "human_agent", until: new Date(0) } }).embeds?.[0]?.description,
    ).toContain("HUMAN_AGENT");
    expect(renderHeader({ ...dm, window: { kind: "none" } }).embeds?.[0]?.description).toContain(
      "hasn't written yet",
    );
  });

  it("renders a comment root with the post, the comment and its moderation buttons", () => {
    const rendered = renderHeader(comment);
    const [media, body] = rendered.embeds ?? [];
    expect(media).toMatchObject({
      title: "💬 Comment on @brand's reel",
      url: "https://instagram.com/p/abc",
      description: "> New \\*drop\\*",
      thumbnail: { url: "https://cdn.example/t.jpg" },
    });
    expect(body?.author?.name).toBe("@fan");
    expect(body?.description).toContain("~~love it @\u200beveryone~~\n*deleted*");
    expect(body?.description).toContain("🗑 Deleted · ✉️ Private reply used");
    expect(body?.timestamp).toBe("2030-01-01T09:00:00.000Z");
    const buttons = rendered.components?.[0]?.components ?? [];
    expect(buttons.map((b) => ("custom_id" in b ? b.custom_id : undefined))).toEqual([
      "ig_comment_hide:17900000000000001",
      "ig_comment_delete:17900000000000001",
      "ig_comment_reply_public:17900000000000001",
      "ig_comment_reply_private:17900000000000001",
    ]);
  });

  it("names threads within 100 characters and tags them", () => {
    expect(threadName(dm)).toBe("Jo Doe (@jo_doe)");
    expect(threadName({ ...dm, customer: { id: "9", username: "x" } })).toBe("@x");
    expect(threadName({ ...dm, customer: { id: "9" } })).toBe("9");
    const long = threadName({ ...comment, comment: { ...comment.comment, text: "word\n".repeat(100) } });
    expect(Array.from(long).length).toBeLessThanOrEqual(100);
    expect(long).not.toContain("\n");
    expect(long.startsWith("💬 @fan: word word")).toBe(true);
    expect(headerTags(dm)).toEqual(["DM", "open"]);
    expect(headerTags({ ...dm, status: "closed" })).toEqual(["DM", "closed"]);
    expect(headerTags(comment)).toEqual(["comment", "closed"]);
  });
});

describe("names, notices, reactions, commands", () => {
  it("sanitises webhook usernames", () => {
    expect(webhookUsername("Discord Fan")).not.toMatch(/discord/i);
    expect(webhookUsername("clyde")).not.toMatch(/clyde/i);
    expect(webhookUsername("x".repeat(200))).toHaveLength(80);
    expect(webhookUsername("  \n ")).toBe("Instagram");
    expect(webhookUsername("Jo\nDoe")).toBe("Jo Doe");
  });

  it("renders notices with a Retry button and pings only the named agent", () => {
    const notice = renderNotice({
      text: "window *closed*",
      retryMessageId: 42,
      mention: ["500000000000000001", "bad"],
    });
    expect(notice.content).toBe("ℹ️ <@500000000000000001> window \\*closed\\*");
    expect(notice.allowed_mentions).toEqual({ parse: [], roles: [], users: ["500000000000000001"] });
    const duty = renderNotice({ text: "waiting", mentionGroups: ["400000000000000009", "not-a-role"] });
    expect(duty.content).toBe("ℹ️ <@&400000000000000009> waiting");
    expect(duty.allowed_mentions).toEqual({ parse: [], users: [], roles: ["400000000000000009"] });
    expect(notice.components?.[0]?.components[0]).toMatchObject({ custom_id: "ig_retry:42", label: "Retry" });
    expect(renderNotice({ text: "x".repeat(3000) }).content.length).toBeLessThanOrEqual(2000);
  });

  it("maps Instagram reactions to Discord emoji", () => {
    expect(discordReaction("love")).toBe("❤️");
    expect(discordReaction("😂")).toBe("😂");
    expect(discordReaction("👍🏽")).toBe("👍🏽");
    expect(discordReaction("smile")).toBe(FALLBACK_REACTION);
  });

  it("parses /ig subcommands", () => {
    const parse = (sub: string, account?: string) =>
      parseIgOptions({ path: [sub], options: account === undefined ? {} : { account } });
    expect(parse("pause")).toEqual({ kind: "command", command: "pause", args: { account: undefined } });
    expect(parse("resume", "@brand")).toEqual({
      kind: "command",
      command: "resume",
      args: { account: "brand" },
    });
    expect(parse("status")).toEqual({ kind: "command", command: "status", args: {} });
    expect(parse("pause", "no way!")).toMatchObject({ kind: "reply" });
    expect(parse("help")).toMatchObject({
      kind: "reply",
      text: expect.stringContaining("/ig pause [account]"),
    });
  });
});
