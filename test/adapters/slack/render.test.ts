import { describe, expect, it } from "vitest";
import type { KnownBlock } from "../../../adapters/slack/blocks.ts";
import { FALLBACK_REACTION, slackReactionName } from "../../../adapters/slack/emoji.ts";
import { parseIgCommand } from "../../../adapters/slack/ig-command.ts";
import { escapeText, splitMrkdwn, toPlainText } from "../../../adapters/slack/mrkdwn.ts";
import { renderNotice, renderPost } from "../../../adapters/slack/render.ts";
import { renderHeader } from "../../../adapters/slack/render-header.ts";
import type { CommentHeader, DmHeader, MirrorPost } from "../../../src/chat/chat-port.ts";

/** Every mrkdwn/plain text in the blocks, in order, for assertions that ignore layout. */
function texts(blocks: KnownBlock[]): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      const o = node as Record<string, unknown>;
      if ((o.type === "mrkdwn" || o.type === "plain_text") && typeof o.text === "string") out.push(o.text);
      for (const [k, v] of Object.entries(o)) if (k !== "text" || typeof v !== "string") walk(v);
    }
  };
  walk(blocks);
  return out;
}
const all = (blocks: KnownBlock[]) => texts(blocks).join("\n");

const UNTIL = new Date("2025-11-23T22:13:00Z");
const UNIX = Math.floor(UNTIL.getTime() / 1000);

function dm(over: Partial<DmHeader> = {}): DmHeader {
  return {
    kind: "dm",
    account: { id: "178414", username: "brand" },
    customer: {
      id: "900",
      name: "Jo <b>",
      username: "jo.doe",
      pictureUrl: "https://cdn.example/jo.jpg",
      followsBusiness: true,
      followerCount: 1234,
    },
    window: { kind: "open", until: UNTIL },
    status: "open",
    consent: "granted",
    links: [{ label: "Profile", url: "https://www.instagram.com/jo.doe" }],
    ...over,
  };
}

function comment(over: Partial<CommentHeader> = {}): CommentHeader {
  return {
    kind: "comment",
    account: { id: "178414", username: "brand" },
    media: {
      id: "m1",
      caption: "Summer drop ☀️ & more",
      permalink: "https://www.instagram.com/p/abc/",
      thumbnailUrl: "https://cdn.example/thumb.jpg",
      productType: "REELS",
    },
    comment: {
      id: "c1",
      text: "<script>alert(1)</script> @channel",
      author: { id: "901", username: "kim", name: "Kim" },
      at: UNTIL,
      hidden: false,
      deleted: false,
    },
    live: false,
    status: "open",
    privateReplyUsed: false,
    actions: ["hide", "delete", "reply_public", "reply_private"],
    links: [],
    ...over,
  };
}

describe("DM header", () => {
  it("shows who the customer is, their relation to the account and the window", () => {
    const { text, blocks } = renderHeader(dm());
    expect(text).toBe("Instagram DM with Jo &lt;b&gt; (@jo.doe)");
    expect(blocks[0]).toEqual({
      type: "context",
      elements: [
        { type: "image", image_url: "https://cdn.example/jo.jpg", alt_text: "Jo <b>" },
        {
          type: "mrkdwn",
          text: "*Jo &lt;b&gt;* · <https://www.instagram.com/jo.doe|@jo.doe>",
          verbatim: true,
        },
      ],
    });
    const shown = all(blocks);
    expect(shown).toContain("follows you · 1,234 followers");
    expect(shown).toContain(
      `Reply window open until <!date^${UNIX}^{date_short_pretty} {time}|2025-11-23 22:13 UTC>`,
    );
    expect(shown).toContain("Status: open · Instagram DM to @brand");
    expect(shown).toContain("<https://www.instagram.com/jo.doe|Profile>");
    expect(shown).not.toContain("Consent revoked");
    expect(shown).not.toContain("Seen");
  });

  it("shows every window state", () => {
    const line = (window: DmHeader["window"]) => all(renderHeader(dm({ window })).blocks);
    expect(line({ kind: "human_agent", until: UNTIL })).toContain(
      `Human-agent window until <!date^${UNIX}^{date_short_pretty} {time}|2025-11-23 22:13 UTC> (tag HUMAN_AGENT)`,
    );
    expect(line({ kind: "closed", since: UNTIL })).toContain("Window closed — the customer must write first");
    expect(line({ kind: "none" })).toContain("Customer hasn't written yet");
  });

  it("warns about revoked consent and held replies, and marks when the customer saw", () => {
    const { blocks } = renderHeader(
      dm({
        consent: "revoked",
        held: "sending is paused for @brand",
        seenAt: UNTIL,
        assignee: "Ana",
        status: "snoozed",
        customer: { id: "900", followsBusiness: false },
      }),
    );
    const shown = all(blocks);
    expect(shown).toContain("⛔ *Consent revoked*: no automated messages; think before replying");
    expect(shown).toContain("⏸️ *Replies held*: sending is paused for @brand");
    expect(shown).toContain(`👁 Seen <!date^${UNIX}^`);
    expect(shown).toContain("Status: snoozed · assigned to Ana");
    expect(shown).toContain("doesn't follow you");
    // No picture, no name: the id stands in.
    expect(blocks[0]).toMatchObject({ type: "context", elements: [{ type: "mrkdwn", text: "*900*" }] });
  });
});

describe("comment header", () => {
  it("shows the media, the escaped comment and one button per action", () => {
    const { text, blocks } = renderHeader(comment());
    expect(text).toBe("Comment by Kim: &lt;script&gt;alert(1)&lt;/script&gt; @\u200bchannel");
    expect(blocks[0]).toEqual({
      type: "section",
      text: {
        type: "mrkdwn",
        verbatim: true,
        text: "💬 *Comment on @brand's reel*\n> Summer drop ☀️ &amp; more\n<https://www.instagram.com/p/abc/|Open on Instagram>",
      },
      accessory: { type: "image", image_url: "https://cdn.example/thumb.jpg", alt_text: "reel thumbnail" },
    });
    const shown = all(blocks);
    expect(shown).toContain("&lt;script&gt;alert(1)&lt;/script&gt; @\u200bchannel");
    expect(shown).not.toContain("<script>");
    expect(shown).toContain("*Kim* · <https://www.instagram.com/kim|@kim>");

    const actions = blocks.find((b) => b.type === "actions");
    expect(actions).toMatchObject({
      elements: [
        { action_id: "ig_comment_hide", value: "c1", text: { text: "Hide" } },
        {
          action_id: "ig_comment_delete",
          value: "c1",
          style: "danger",
          confirm: { confirm: { text: "Delete" } },
        },
        { action_id: "ig_comment_reply_public", value: "c1" },
        { action_id: "ig_comment_reply_private", value: "c1" },
      ],
    });
  });

  it("strikes a deleted comment through, notes hidden and private-reply states, and omits empty actions", () => {
    const { blocks } = renderHeader(
      comment({
        comment: {
          id: "c2",
          text: "line one\nline two",
          author: { id: "901", username: "kim" },
          at: UNTIL,
          hidden: true,
          deleted: true,
        },
        privateReplyUsed: true,
        actions: [],
        live: true,
      }),
    );
    const shown = all(blocks);
    expect(shown).toContain("~line one~\n~line two~\n_deleted_");
    expect(shown).toContain("🙈 Hidden on Instagram · 🗑 Deleted · ✉️ Private reply used");
    expect(shown).toContain("Comment on @brand's live video");
    expect(blocks.some((b) => b.type === "actions" && b.block_id === "ig_comment_actions")).toBe(false);
  });

  it("truncates a long caption", () => {
    const { blocks } = renderHeader(comment({ media: { id: "m", caption: "x".repeat(1000) } }));
    const first = texts(blocks)[0] ?? "";
    expect(first).toContain(`${"x".repeat(299)}…`);
    expect(first).toContain("'s post*");
  });
});

function post(over: Partial<MirrorPost> = {}): MirrorPost {
  return { author: { kind: "customer", name: "Jo" }, attachments: [], context: [], ...over };
}

describe("mirrored posts", () => {
  it("escapes Instagram text so it can neither format links nor ping anyone", () => {
    const { text, blocks } = renderPost(post({ text: "<!channel> <@U123> a & b @here <https://x.y|click>" }));
    const body = "&lt;!channel&gt; &lt;@U123&gt; a &amp; b @\u200bhere &lt;https://x.y|click&gt;";
    expect(blocks).toEqual([{ type: "section", text: { type: "mrkdwn", text: body, verbatim: true } }]);
    expect(text).toBe(`Jo: ${body}`);
  });

  it("renders the quote, each attachment kind, context lines and the attribution", () => {
    const { blocks } = renderPost(
      post({
        text: "see these",
        quote: { author: "Ana", text: "our <new> range" },
        attachments: [
          { kind: "image", url: "https://cdn.example/a.jpg", alt: "photo" },
          { kind: "link", label: "Video", url: "https://cdn.example/v.mp4?a=1&b=2" },
          { kind: "link", label: "Voice message", url: "https://cdn.example/a.m4a" },
          {
            kind: "card",
            title: "Shared reel",
            subtitle: "by @kim",
            url: "https://ig.example/r/1",
            imageUrl: "https://cdn.example/r.jpg",
          },
          { kind: "placeholder", text: "Story no longer available" },
        ],
        context: ["quick reply: YES"],
        attribution: "sent from Instagram",
      }),
    );
    expect(blocks).toEqual([
      { type: "section", text: { type: "mrkdwn", verbatim: true, text: "> *Ana*: our &lt;new&gt; range" } },
      { type: "section", text: { type: "mrkdwn", verbatim: true, text: "see these" } },
      { type: "image", image_url: "https://cdn.example/a.jpg", alt_text: "photo" },
      {
        type: "section",
        text: { type: "mrkdwn", verbatim: true, text: "🎬 <https://cdn.example/v.mp4?a=1&amp;b=2|Video>" },
      },
      {
        type: "section",
        text: { type: "mrkdwn", verbatim: true, text: "🎧 <https://cdn.example/a.m4a|Voice message>" },
      },
      {
        type: "section",
        text: { type: "mrkdwn", verbatim: true, text: "*<https://ig.example/r/1|Shared reel>*\nby @kim" },
        accessory: { type: "image", image_url: "https://cdn.example/r.jpg", alt_text: "Shared reel" },
      },
      {
        type: "context",
        elements: [{ type: "mrkdwn", verbatim: true, text: "_Story no longer available_" }],
      },
      { type: "context", elements: [{ type: "mrkdwn", verbatim: true, text: "quick reply: YES" }] },
      { type: "context", elements: [{ type: "mrkdwn", verbatim: true, text: "_sent from Instagram_" }] },
    ]);
  });

  it("refuses to link a non-http URL", () => {
    const { blocks } = renderPost(
      post({ attachments: [{ kind: "link", label: "x", url: "javascript:alert(1)" }] }),
    );
    expect(texts(blocks)).toEqual(["🔗 x"]);
  });

  it("splits text over 3000 characters into several sections without cutting an entity", () => {
    const long = `${"a".repeat(2998)}&&${"b".repeat(100)}`;
    const { blocks } = renderPost(post({ text: long }));
    const pieces = texts(blocks);
    expect(pieces.length).toBe(2);
    expect(pieces.every((p) => p.length <= 3000)).toBe(true);
    expect(pieces.join("")).toBe(escapeText(long));
    expect(pieces[1]?.startsWith("&amp;")).toBe(true);
  });

  it("shows a removed message as such", () => {
    const { blocks, text } = renderPost(post({ text: "secret", removed: true, attribution: "unsent" }));
    expect(texts(blocks)).toEqual(["_message removed_", "_unsent_"]);
    expect(text).not.toContain("secret");
  });
});

describe("notices", () => {
  it("mentions user groups by id, and nothing that is not one", () => {
    const { text } = renderNotice({ text: "waiting", mentionGroups: ["S0DUTY", "<!channel>"] });
    expect(text).toBe("<!subteam^S0DUTY> waiting");
  });

  it("mentions people, escapes the text and offers Retry", () => {
    const { text, blocks } = renderNotice({
      text: "Delivery failed: <window closed>",
      retryMessageId: 42,
      mention: ["U0AGENT1"],
    });
    expect(text).toBe("<@U0AGENT1> Delivery failed: &lt;window closed&gt;");
    expect(blocks).toEqual([
      { type: "context", elements: [{ type: "mrkdwn", verbatim: true, text: `ℹ️ ${text}` }] },
      {
        type: "actions",
        elements: [
          {
            type: "button",
            action_id: "ig_retry",
            value: "42",
            text: { type: "plain_text", text: "Retry", emoji: true },
          },
        ],
      },
    ]);
  });
});

describe("mrkdwn → Instagram text", () => {
  const names = (id: string) => ({ U1: "Ana" })[id];
  it("turns mentions, links and entities into plain text", () => {
    expect(toPlainText("Hi <@U1>, <@U9|bo> and <@U2>!", names)).toBe("Hi @Ana, @bo and !");
    expect(toPlainText("see <https://shop.example/x?a=1&amp;b=2|our shop>", names)).toBe(
      "see our shop (https://shop.example/x?a=1&b=2)",
    );
    expect(toPlainText("<https://shop.example/> and <https://a.example|a.example>", names)).toBe(
      "https://shop.example/ and https://a.example",
    );
    expect(toPlainText("<mailto:help@x.example|help@x.example>", names)).toBe("help@x.example");
    expect(toPlainText("<#C1|support> <!here> <!date^1^{date}|Nov 1>", names)).toBe("#support @here Nov 1");
    expect(toPlainText("1 &lt; 2 &amp;&amp; *bold* _it_", names)).toBe("1 < 2 && *bold* _it_");
  });

  it("splits at line breaks when it can", () => {
    expect(splitMrkdwn(`${"a".repeat(8)}\n${"b".repeat(8)}`, 10)).toEqual([
      `${"a".repeat(8)}\n`,
      "b".repeat(8),
    ]);
  });
});

describe("reaction names", () => {
  it("maps Unicode emoji and Instagram's names to Slack names, with a fallback", () => {
    expect(slackReactionName("❤️")).toBe("heart");
    expect(slackReactionName("love")).toBe("heart");
    expect(slackReactionName("😂")).toBe("joy");
    expect(slackReactionName("👍🏽")).toBe("+1");
    expect(slackReactionName("🦩")).toBe(FALLBACK_REACTION);
    expect(slackReactionName("fire")).toBe("fire");
  });
});

describe("/ig parsing", () => {
  it("maps subcommands to actions", () => {
    expect(parseIgCommand("pause")).toEqual({
      kind: "command",
      command: "pause",
      args: { account: undefined },
    });
    expect(parseIgCommand("  PAUSE @brand.co ")).toEqual({
      kind: "command",
      command: "pause",
      args: { account: "brand.co" },
    });
    expect(parseIgCommand("resume 17841400000000001")).toEqual({
      kind: "command",
      command: "resume",
      args: { account: "17841400000000001" },
    });
    expect(parseIgCommand("status")).toEqual({ kind: "command", command: "status", args: {} });
  });

  it("answers help, and precise errors for bad arguments", () => {
    const help = parseIgCommand("");
    expect(help.kind === "reply" && help.text).toContain("`/ig pause [account]`");
    expect(parseIgCommand("help")).toEqual(help);
    expect(parseIgCommand("foo")).toEqual({ kind: "reply", text: "unknown subcommand `foo`; try /ig help" });
    expect(parseIgCommand("status now")).toEqual({
      kind: "reply",
      text: "`status` takes no arguments; got `now`\nusage: `/ig status`",
    });
    expect(parseIgCommand("pause a b")).toMatchObject({
      text: expect.stringContaining("takes at most one account"),
    });
    expect(parseIgCommand("pause <bad>")).toMatchObject({
      text: expect.stringContaining("`&lt;bad&gt;` is not an Instagram account"),
    });
  });
});
