// Mirrored posts and notices → Block Kit (pure functions; the adapter only sends what these return).

import type { CardButton, MirrorAttachment, MirrorPost } from "../../src/chat/chat-port.ts";
import { context, image, type KnownBlock, mrkdwn, plain, SECTION_MAX, section } from "./blocks.ts";
import { escapeText, link, splitMrkdwn, truncate } from "./mrkdwn.ts";

export interface RenderedMessage {
  /** Notification and fallback text. */
  text: string;
  blocks: KnownBlock[];
}

const REMOVED = "_message removed_";
// A message holds 50 blocks; Instagram texts are far shorter, so this only guards the limit.
const MAX_TEXT_SECTIONS = 10;
const QUOTE_MAX = 200;

function quoteBlock(quote: { author: string; text: string }): KnownBlock {
  const lines = escapeText(truncate(quote.text, QUOTE_MAX)).split("\n");
  const body = lines.map((line, i) => (i === 0 ? `> *${escapeText(quote.author)}*: ${line}` : `> ${line}`));
  return section(body.join("\n"));
}

function linkIcon(label: string): string {
  if (/video|reel|clip/i.test(label)) return "🎬";
  if (/audio|voice/i.test(label)) return "🎧";
  if (/file|document|pdf/i.test(label)) return "📎";
  return "🔗";
}

/** A template's button as what it does: Instagram's buttons are never clickable from chat. */
function buttonLine(b: CardButton): string {
  if (b.url) return `🔘 ${link(b.url, truncate(b.label, 80))}`;
  const sends = b.payload ? ` (sends \`${escapeText(truncate(b.payload, 100)).replace(/`/g, "'")}\`)` : "";
  return `🔘 ${escapeText(truncate(b.label, 80))}${sends}`;
}

function attachmentBlock(attachment: MirrorAttachment): KnownBlock {
  switch (attachment.kind) {
    case "image":
      return { type: "image", image_url: attachment.url, alt_text: attachment.alt.slice(0, 2000) || "image" };
    case "link":
      return section(`${linkIcon(attachment.label)} ${link(attachment.url, attachment.label)}`);
    case "card": {
      const lines = [
        `*${attachment.url ? link(attachment.url, attachment.title) : escapeText(attachment.title)}*`,
      ];
      if (attachment.subtitle) lines.push(escapeText(truncate(attachment.subtitle, 500)));
      for (const fact of attachment.facts ?? []) lines.push(`_${escapeText(truncate(fact, 200))}_`);
      for (const b of attachment.buttons ?? []) lines.push(buttonLine(b));
      const accessory = attachment.imageUrl ? image(attachment.imageUrl, attachment.title) : undefined;
      return section(lines.join("\n"), accessory);
    }
    case "placeholder":
      return context(mrkdwn(`_${escapeText(attachment.text)}_`));
  }
}

function attachmentSummary(attachment: MirrorAttachment): string {
  switch (attachment.kind) {
    case "image":
      return "[image]";
    case "link":
      return `[${attachment.label}]`;
    case "card":
      return `[${attachment.title}]`;
    case "placeholder":
      return `[${attachment.text}]`;
  }
}

export function renderPost(post: MirrorPost): RenderedMessage {
  const blocks: KnownBlock[] = [];
  if (post.removed) {
    blocks.push(section(REMOVED));
  } else {
    if (post.quote) blocks.push(quoteBlock(post.quote));
    const text = post.text?.trim() ? escapeText(post.text) : "";
    for (const piece of splitMrkdwn(text, SECTION_MAX).slice(0, MAX_TEXT_SECTIONS))
      blocks.push(section(piece));
    for (const attachment of post.attachments) blocks.push(attachmentBlock(attachment));
    if (post.context.length > 0)
      blocks.push(context(...post.context.map((line) => mrkdwn(escapeText(line)))));
  }
  if (post.attribution) blocks.push(context(mrkdwn(`_${escapeText(post.attribution)}_`)));
  if (blocks.length === 0) blocks.push(context(mrkdwn("_(empty message)_")));

  const summary = post.removed
    ? "message removed"
    : [post.text ?? "", ...post.attachments.map(attachmentSummary)].join(" ").trim() || "(empty message)";
  return { text: escapeText(truncate(`${post.author.name}: ${summary}`, 300)), blocks };
}

export interface NoticeContent {
  text: string;
  retryMessageId?: number;
  mention?: string[];
  mentionGroups?: string[];
}

/** A system line in the thread; the core writes notices as plain text. */
export function renderNotice(notice: NoticeContent): RenderedMessage {
  const mentions = [
    ...(notice.mention ?? []).filter((id) => /^[UW][A-Z0-9]+$/.test(id)).map((id) => `<@${id}>`),
    ...(notice.mentionGroups ?? []).filter((id) => /^S[A-Z0-9]+$/.test(id)).map((id) => `<!subteam^${id}>`),
  ];
  const line = [...mentions, escapeText(truncate(notice.text, 2500))].join(" ");
  const blocks: KnownBlock[] = [context(mrkdwn(`ℹ️ ${line}`))];
  if (notice.retryMessageId !== undefined) {
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          action_id: "ig_retry",
          text: plain("Retry"),
          value: String(notice.retryMessageId),
        },
      ],
    });
  }
  // Mentions notify through the fallback text, so they go there too.
  return { text: line, blocks };
}

/** A top-level alert for the account's owners. */
export function renderAlert(text: string): RenderedMessage {
  const line = `⚠️ ${escapeText(truncate(text, 2500))}`;
  return { text: line, blocks: [section(line)] };
}
