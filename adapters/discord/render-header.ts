// Thread roots → embeds (pure). A DM root tells agents who the customer is and whether they may
// write now; a comment root shows the comment in its post and the moderation buttons. Also the
// thread's name and its forum tags.

import {
  type APIActionRowComponent,
  type APIButtonComponentWithCustomId,
  type APIComponentInMessageActionRow,
  type APIEmbed,
  type APIStringSelectComponent,
  ButtonStyle,
  ComponentType,
} from "discord.js";
import type {
  CommentAction,
  CommentHeader,
  ConversationStatus,
  DmHeader,
  EntryCard,
  Link,
  MentionHeader,
  Person,
  QueueState,
  ThreadHeader,
  WindowState,
} from "../../src/chat/chat-port.ts";
import {
  accountLabel,
  COMMENT_ACTION_IDS,
  COMMENT_ACTION_LABELS,
  CONVERSATION_ACTION_IDS,
  controlSummary,
  conversationButtons,
  customerContextLines,
  followerSummary,
  MENTION_NOTE,
  mediaKind,
  mentionTitle,
  QUEUE_BADGES,
  SNOOZE_CHOICES,
  SNOOZE_PLACEHOLDER,
  windowSummary,
} from "../../src/chat/header-text.ts";
import {
  EMBED_TITLE_MAX,
  escapeMarkdown,
  maskedLink,
  oneLine,
  safeUrl,
  THREAD_NAME_MAX,
  truncate,
} from "./markdown.ts";
import { description, NO_MENTIONS, type RenderedMessage } from "./render.ts";

/** Discord's component limits: 5 action rows a message, 5 buttons a row (a select fills one). */
const ROWS_MAX = 5;
const BUTTONS_PER_ROW = 5;

type ActionRow = APIActionRowComponent<APIComponentInMessageActionRow>;

const BUTTON_STYLES: Record<CommentAction, APIButtonComponentWithCustomId["style"]> = {
  hide: ButtonStyle.Secondary,
  unhide: ButtonStyle.Secondary,
  delete: ButtonStyle.Danger,
  reply_public: ButtonStyle.Primary,
  reply_private: ButtonStyle.Primary,
};

const COLORS = {
  open: 0x2ecc71,
  human_agent: 0xf1c40f,
  closed: 0xe74c3c,
  none: 0x95a5a6,
  comment: 0xc13584,
  held: 0xf39c12,
  revoked: 0x992d22,
};

const CAPTION_MAX = 300;
const COMMENT_MAX = 2500;

export function profileUrl(username: string): string {
  return `https://www.instagram.com/${encodeURIComponent(username)}`;
}

export function displayName(person: Person): string {
  return oneLine(person.name ?? "") || (person.username ? `@${person.username}` : person.id);
}

/** Discord shows this in each reader's own time zone. */
export function discordDate(at: Date, style: "f" | "R" = "f"): string {
  return `<t:${Math.floor(at.getTime() / 1000)}:${style}>`;
}

function identityLine(person: Person): string {
  const parts = [`**${escapeMarkdown(displayName(person))}**`];
  if (person.username) parts.push(maskedLink(profileUrl(person.username), `@${person.username}`));
  if (person.verified) parts.push("✔︎ verified");
  return parts.join(" · ");
}

const followerLine = followerSummary;

function windowLine(window: WindowState): string {
  const line = windowSummary(window, (at) => discordDate(at));
  // Discord also shows how far off the end is ("in 5 hours").
  return window.kind === "open" ? `${line} (${discordDate(window.until, "R")})` : line;
}

function linksLine(links: Link[]): string | undefined {
  const shown = links.filter((l) => safeUrl(l.url)).map((l) => maskedLink(l.url, l.label));
  return shown.length > 0 ? shown.join(" · ") : undefined;
}

function heldLine(held: string | undefined): string | undefined {
  return held ? `⏸️ **Replies held**: ${escapeMarkdown(held)}` : undefined;
}

function author(person: Person): APIEmbed["author"] {
  const result: NonNullable<APIEmbed["author"]> = { name: truncate(displayName(person), 256) };
  if (person.username) result.url = profileUrl(person.username);
  const icon = safeUrl(person.pictureUrl);
  if (icon) result.icon_url = icon;
  return result;
}

function compact(lines: (string | undefined)[]): string {
  return lines.filter((l): l is string => l !== undefined && l.length > 0).join("\n");
}

function row(components: APIComponentInMessageActionRow[]): ActionRow {
  return { type: ComponentType.ActionRow, components };
}

/** Close or Reopen and Take in one row, the snooze menu in its own. */
function conversationRows(status: ConversationStatus, control?: DmHeader["control"]): ActionRow[] {
  const buttons: APIButtonComponentWithCustomId[] = conversationButtons(status, control).map(
    ({ op, label }) => ({
      type: ComponentType.Button,
      style: op === "take" || op === "take_control" ? ButtonStyle.Primary : ButtonStyle.Secondary,
      label,
      custom_id: CONVERSATION_ACTION_IDS[op],
    }),
  );
  const snooze: APIStringSelectComponent = {
    type: ComponentType.StringSelect,
    custom_id: CONVERSATION_ACTION_IDS.snooze,
    placeholder: SNOOZE_PLACEHOLDER,
    options: SNOOZE_CHOICES.map((c) => ({ label: c.label, value: String(c.minutes) })),
  };
  return [row(buttons), row([snooze])];
}

/** The rows a root may carry, within Discord's limits (extra rows and buttons are left out, never
 * refused with the whole message). */
function withinLimits(rows: ActionRow[]): ActionRow[] {
  return rows
    .filter((r) => r.components.length > 0)
    .map((r) => row(r.components.slice(0, BUTTONS_PER_ROW)))
    .slice(0, ROWS_MAX);
}

/** The referral card as an embed of its own: what opened the conversation. */
function entryEmbed(card: EntryCard): APIEmbed {
  const embed: APIEmbed = { title: truncate(card.title, EMBED_TITLE_MAX), color: COLORS.none };
  const url = safeUrl(card.url);
  if (url) embed.url = url;
  if (card.lines.length > 0)
    embed.description = description(
      card.lines.map((l) => escapeMarkdown(oneLine(truncate(l, 300)))).join("\n"),
    );
  const image = safeUrl(card.imageUrl);
  if (image) embed.thumbnail = { url: image };
  return embed;
}

function renderDm(header: DmHeader): RenderedMessage {
  const { customer } = header;
  const status = [`Status: ${header.status}`];
  if (header.queue) status.unshift(QUEUE_BADGES[header.queue]);
  if (header.assignee) status.push(`assigned to ${escapeMarkdown(oneLine(header.assignee))}`);
  status.push(`Instagram DM to ${escapeMarkdown(accountLabel(header.account))}`);
  const embed: APIEmbed = {
    author: author(customer),
    color:
      header.consent === "revoked" ? COLORS.revoked : header.held ? COLORS.held : COLORS[header.window.kind],
    description: description(
      compact([
        identityLine(customer),
        followerLine(customer),
        header.consent === "revoked"
          ? "⛔ **Consent revoked**: no automated messages; think before replying"
          : undefined,
        heldLine(header.held),
        header.control ? escapeMarkdown(controlSummary(header.control)) : undefined,
        windowLine(header.window),
        ...contextLines(header.context),
        `-# ${status.join(" · ")}`,
        header.seenAt ? `-# 👁 Seen ${discordDate(header.seenAt, "R")}` : undefined,
        linksLine(header.links),
      ]),
    ),
  };
  const thumbnail = safeUrl(customer.pictureUrl);
  if (thumbnail) embed.thumbnail = { url: thumbnail };
  return {
    content: "",
    embeds: header.entry ? [embed, entryEmbed(header.entry)] : [embed],
    components: withinLimits(conversationRows(header.status, header.control)),
    allowed_mentions: NO_MENTIONS,
  };
}

const productLabel = mediaKind;

function commentText(comment: CommentHeader["comment"]): string {
  const text = comment.text?.trim() ? escapeMarkdown(truncate(comment.text, COMMENT_MAX)) : "*(no text)*";
  if (!comment.deleted) return text;
  const struck = text
    .split("\n")
    .map((line) => (line.trim() ? `~~${line}~~` : line))
    .join("\n");
  return `${struck}\n*deleted*`;
}

function button(action: CommentAction, commentId: string): APIButtonComponentWithCustomId {
  const label = COMMENT_ACTION_LABELS[action];
  const style = BUTTON_STYLES[action];
  return {
    type: ComponentType.Button,
    style,
    label,
    custom_id: `${COMMENT_ACTION_IDS[action]}:${commentId}`,
  };
}

/** The customer's notes, labels and other threads, linked as masked links. */
function contextLines(ctx: DmHeader["context"]): string[] {
  return customerContextLines(
    ctx,
    (at) => discordDate(at),
    (t) => escapeMarkdown(oneLine(t)),
    (url, label) => (safeUrl(url) ? maskedLink(url, label) : ""),
  );
}

function renderComment(header: CommentHeader): RenderedMessage {
  const { media, comment } = header;
  const kind = productLabel(header);
  const post: APIEmbed = {
    title: truncate(`💬 Comment on ${accountLabel(header.account)}'s ${kind}`, EMBED_TITLE_MAX),
    color: COLORS.comment,
  };
  const permalink = safeUrl(media.permalink);
  if (permalink) post.url = permalink;
  if (media.caption?.trim())
    post.description = `> ${escapeMarkdown(truncate(media.caption, CAPTION_MAX)).replace(/\n/g, "\n> ")}`;
  const thumbnail = safeUrl(media.thumbnailUrl);
  if (thumbnail) post.thumbnail = { url: thumbnail };

  const state: string[] = [];
  if (comment.hidden) state.push("🙈 Hidden on Instagram");
  if (comment.deleted) state.push("🗑 Deleted");
  if (header.privateReplyUsed) state.push("✉️ Private reply used");
  state.push(`Status: ${header.status}`);
  if (header.assignee) state.push(`assigned to ${escapeMarkdown(oneLine(header.assignee))}`);
  const commentEmbed: APIEmbed = {
    author: author(comment.author),
    color: header.held ? COLORS.held : comment.deleted ? COLORS.closed : COLORS.comment,
    description: description(
      compact([
        commentText(comment),
        `-# ${state.join(" · ")}`,
        ...contextLines(header.context),
        heldLine(header.held),
        linksLine(header.links),
      ]),
    ),
    timestamp: comment.at.toISOString(),
  };
  const components = withinLimits([
    row(header.actions.map((action) => button(action, comment.id))),
    ...conversationRows(header.status),
  ]);
  return { content: "", embeds: [post, commentEmbed], components, allowed_mentions: NO_MENTIONS };
}

function renderMention(header: MentionHeader): RenderedMessage {
  const { media } = header;
  const embed: APIEmbed = {
    title: truncate(mentionTitle(header), EMBED_TITLE_MAX),
    color: COLORS.comment,
    description: description(
      compact([
        header.text?.trim()
          ? escapeMarkdown(truncate(header.text, COMMENT_MAX))
          : `*${escapeMarkdown(header.unresolved ?? "(no text)")}*`,
        header.where === "comment" && media.caption?.trim()
          ? `-# On the post: ${escapeMarkdown(oneLine(truncate(media.caption, CAPTION_MAX)))}`
          : undefined,
        `-# ${escapeMarkdown(MENTION_NOTE)}`,
        linksLine(header.links),
      ]),
    ),
    timestamp: header.at.toISOString(),
  };
  const permalink = safeUrl(media.permalink);
  if (permalink) embed.url = permalink;
  const thumbnail = safeUrl(media.thumbnailUrl);
  if (thumbnail) embed.thumbnail = { url: thumbnail };
  if (header.author) embed.author = author(header.author);
  return { content: "", embeds: [embed], components: [], allowed_mentions: NO_MENTIONS };
}

export function renderHeader(header: ThreadHeader): RenderedMessage {
  switch (header.kind) {
    case "dm":
      return renderDm(header);
    case "comment":
      return renderComment(header);
    case "mention":
      return renderMention(header);
  }
}

/** The thread's (or forum post's) title, 1–100 characters on one line. */
export function threadName(header: ThreadHeader): string {
  let name: string;
  if (header.kind === "dm") {
    const { customer } = header;
    const shown = displayName(customer);
    name = customer.username && !shown.startsWith("@") ? `${shown} (@${customer.username})` : shown;
  } else if (header.kind === "mention") {
    const text = oneLine(header.text ?? "");
    name = `${mentionTitle(header)}${text ? `: ${text}` : ""}`;
  } else {
    const text = oneLine(header.comment.text ?? "");
    name = `💬 ${displayName(header.comment.author)}${text ? `: ${text}` : ""}`;
  }
  return truncate(oneLine(name), THREAD_NAME_MAX) || "Instagram";
}

/** Every name an earlier attempt may have given this header's thread. A customer's profile can be
 * read between two attempts (a retry, a worker killed after Discord made the thread): the first
 * may have named the thread from their id or username alone, and the retry must still find it. */
export function threadNames(header: ThreadHeader): string[] {
  if (header.kind !== "dm") return [threadName(header)];
  const { customer } = header;
  const { name: _name, ...withoutName } = customer;
  const variants = [
    header,
    { ...header, customer: withoutName },
    { ...header, customer: { id: customer.id } },
  ];
  return [...new Set(variants.map((h) => threadName(h)))];
}

/** The forum tags a thread carries: its kind, whether it is still open and, for a DM, its queue
 * state while open (Discord applies at most 5 tags to a post; a forum has at most 20). */
export type TagName =
  | "DM"
  | "comment"
  | "open"
  | "closed"
  | "new"
  | "waiting on us"
  | "waiting on customer"
  | "snoozed";
export const TAG_NAMES: TagName[] = [
  "DM",
  "comment",
  "open",
  "closed",
  "new",
  "waiting on us",
  "waiting on customer",
  "snoozed",
];

const QUEUE_TAGS: Partial<Record<QueueState, TagName>> = {
  new: "new",
  waiting_on_us: "waiting on us",
  waiting_on_customer: "waiting on customer",
  snoozed: "snoozed",
};

export function headerTags(header: ThreadHeader): TagName[] {
  if (header.kind === "dm") {
    const queue = header.queue && QUEUE_TAGS[header.queue];
    return ["DM", header.status === "closed" ? "closed" : "open", ...(queue ? [queue] : [])];
  }
  // A mention is read like a comment, and stays open: there is nothing to close.
  if (header.kind === "mention") return ["comment", "open"];
  return ["comment", header.comment.deleted || header.status === "closed" ? "closed" : "open"];
}
