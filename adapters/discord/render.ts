// Mirrored posts, notices and alerts → Discord messages (pure functions; the adapter only sends
// what these return). A post is the customer's text as content (split at 2,000 characters) with
// its images and cards as embeds on the last part.

import {
  type APIActionRowComponent,
  type APIAllowedMentions,
  type APIComponentInMessageActionRow,
  type APIEmbed,
  ButtonStyle,
  ComponentType,
  MessageFlags,
} from "discord.js";
import type { CardButton, MirrorAttachment, MirrorPost } from "../../src/chat/chat-port.ts";
import {
  CONTENT_MAX,
  EMBED_DESCRIPTION_MAX,
  EMBED_TITLE_MAX,
  EMBEDS_MAX,
  escapeMarkdown,
  maskedLink,
  oneLine,
  safeUrl,
  splitMarkdown,
  truncate,
  truncateMarkdown,
} from "./markdown.ts";

export interface RenderedPart {
  content: string;
  embeds: APIEmbed[];
}

/** Mentions never notify from mirrored text. */
export const NO_MENTIONS: APIAllowedMentions = { parse: [] };

/** Parts after the first are posted silently; the flag also tells them apart from the next post,
 * so an edit or an unsend reaches every part of a long message. */
export const CONTINUATION_FLAG = MessageFlags.SuppressNotifications;

const REMOVED = "*message removed*";
const EMPTY = "*(empty message)*";
const QUOTE_MAX = 200;
/** A long text rarely needs more; it only bounds what one Instagram message can post. */
const MAX_PARTS = 5;

export const RETRY_PREFIX = "ig_retry:";

function quoteLines(quote: { author: string; text: string }): string[] {
  const lines = escapeMarkdown(truncate(quote.text, QUOTE_MAX)).split("\n");
  const author = escapeMarkdown(oneLine(quote.author)) || "someone";
  return lines.map((line, i) => (i === 0 ? `> **${author}**: ${line}` : `> ${line}`));
}

function linkIcon(label: string): string {
  if (/video|reel|clip/i.test(label)) return "🎬";
  if (/audio|voice/i.test(label)) return "🎧";
  if (/file|document|pdf/i.test(label)) return "📎";
  return "🔗";
}

/** A template's button as what it does: Instagram's buttons are never clickable from chat. */
function buttonLine(b: CardButton): string {
  if (b.url) return `🔘 ${maskedLink(b.url, truncate(oneLine(b.label), 80))}`;
  // In a code span, where nothing is markdown; a backtick would close it.
  const sends = b.payload ? ` (sends \`${oneLine(truncate(b.payload, 100)).replace(/`/g, "'")}\`)` : "";
  return `🔘 ${escapeMarkdown(oneLine(truncate(b.label, 80)))}${sends}`;
}

function attachmentEmbed(attachment: MirrorAttachment): APIEmbed | undefined {
  switch (attachment.kind) {
    case "image": {
      const url = safeUrl(attachment.url);
      if (!url) return undefined;
      const embed: APIEmbed = { image: { url } };
      const alt = oneLine(attachment.alt);
      if (alt && alt.toLowerCase() !== "image") embed.footer = { text: truncate(alt, 200) };
      return embed;
    }
    case "card": {
      const embed: APIEmbed = {
        title: truncate(oneLine(attachment.title) || "Shared post", EMBED_TITLE_MAX),
      };
      const url = safeUrl(attachment.url);
      if (url) embed.url = url;
      const lines: string[] = [];
      if (attachment.subtitle?.trim()) lines.push(escapeMarkdown(truncate(attachment.subtitle, 500)));
      for (const fact of attachment.facts ?? [])
        lines.push(`-# ${escapeMarkdown(oneLine(truncate(fact, 200)))}`);
      for (const b of attachment.buttons ?? []) lines.push(buttonLine(b));
      if (lines.length > 0) embed.description = truncateMarkdown(lines.join("\n"), 1500);
      const image = safeUrl(attachment.imageUrl);
      if (image) embed.thumbnail = { url: image };
      return embed;
    }
    default:
      return undefined;
  }
}

/** What an attachment shows as a content line when it is not an embed. */
function attachmentLine(attachment: MirrorAttachment): string {
  switch (attachment.kind) {
    case "image":
      return `🖼️ ${maskedLink(attachment.url, attachment.alt || "image")}`;
    case "link":
      return `${linkIcon(attachment.label)} ${maskedLink(attachment.url, attachment.label)}`;
    case "card":
      return `🔗 ${maskedLink(attachment.url, attachment.title)}`;
    case "placeholder":
      return `*${escapeMarkdown(oneLine(attachment.text))}*`;
  }
}

/** The post as one or more messages, first to last. Never empty. */
export function renderPost(post: MirrorPost): RenderedPart[] {
  const body: string[] = [];
  const footer: string[] = [];
  const embeds: APIEmbed[] = [];
  if (post.removed) {
    body.push(REMOVED);
  } else {
    if (post.quote) body.push(...quoteLines(post.quote));
    if (post.text?.trim()) body.push(escapeMarkdown(post.text));
    for (const attachment of post.attachments) {
      const embed = embeds.length < EMBEDS_MAX ? attachmentEmbed(attachment) : undefined;
      if (embed) embeds.push(embed);
      else body.push(attachmentLine(attachment));
    }
    for (const line of post.context) footer.push(`-# ${escapeMarkdown(oneLine(line))}`);
  }
  if (post.attribution) footer.push(`-# *${escapeMarkdown(oneLine(post.attribution))}*`);
  if (body.length === 0 && embeds.length === 0) body.push(EMPTY);

  const content = [...body, ...footer].join("\n");
  const pieces = splitMarkdown(content, CONTENT_MAX);
  if (pieces.length > MAX_PARTS) {
    pieces.length = MAX_PARTS;
    pieces[MAX_PARTS - 1] = truncateMarkdown(pieces[MAX_PARTS - 1] ?? "", CONTENT_MAX);
  }
  if (pieces.length === 0) pieces.push("");
  return pieces.map((piece, i) => ({ content: piece, embeds: i === pieces.length - 1 ? embeds : [] }));
}

export interface NoticeContent {
  text: string;
  retryMessageId?: number;
  mention?: string[];
  mentionGroups?: string[];
}

export interface RenderedMessage {
  content: string;
  embeds?: APIEmbed[];
  components?: APIActionRowComponent<APIComponentInMessageActionRow>[];
  allowed_mentions: APIAllowedMentions;
}

const SNOWFLAKE = /^\d{15,25}$/;

/** A system line in the thread, pinging only the people and roles named in it. */
export function renderNotice(notice: NoticeContent): RenderedMessage {
  const users = (notice.mention ?? []).filter((id) => SNOWFLAKE.test(id));
  const roles = (notice.mentionGroups ?? []).filter((id) => SNOWFLAKE.test(id));
  const mentions = [...users.map((id) => `<@${id}>`), ...roles.map((id) => `<@&${id}>`)];
  const line = truncateMarkdown([`ℹ️`, ...mentions, escapeMarkdown(notice.text)].join(" "), CONTENT_MAX);
  const message: RenderedMessage = { content: line, allowed_mentions: { parse: [], users, roles } };
  if (notice.retryMessageId !== undefined) {
    message.components = [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.Button,
            style: ButtonStyle.Primary,
            label: "Retry",
            custom_id: `${RETRY_PREFIX}${notice.retryMessageId}`,
          },
        ],
      },
    ];
  }
  return message;
}

/** A top-level alert for the account's owners. */
export function renderAlert(text: string): RenderedMessage {
  return {
    content: truncateMarkdown(`⚠️ ${escapeMarkdown(text)}`, CONTENT_MAX),
    allowed_mentions: NO_MENTIONS,
  };
}

export const ALERT_THREAD_NAME = "threadbridge alert";

/** An embed description within Discord's limit. */
export function description(text: string): string {
  return truncateMarkdown(text, EMBED_DESCRIPTION_MAX);
}
