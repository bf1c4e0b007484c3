// Thread roots → Block Kit (pure). A DM root tells agents who the customer is and whether they
// may write now; a comment root shows the comment in its post and the moderation buttons.

import type { types } from "@slack/bolt";
import type {
  CommentAction,
  CommentHeader,
  ConversationStatus,
  DmHeader,
  EntryCard,
  Link,
  MentionHeader,
  Person,
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
import { context, image, type KnownBlock, mrkdwn, plain, section, slackDate } from "./blocks.ts";
import { escapeText, link, truncate } from "./mrkdwn.ts";
import type { RenderedMessage } from "./render.ts";

const CAPTION_MAX = 300;

export function profileUrl(username: string): string {
  return `https://www.instagram.com/${encodeURIComponent(username)}`;
}

function displayName(person: Person): string {
  return person.name ?? (person.username ? `@${person.username}` : person.id);
}

function identityLine(person: Person): string {
  const parts = [`*${escapeText(displayName(person))}*`];
  if (person.username) parts.push(link(profileUrl(person.username), `@${person.username}`));
  if (person.verified) parts.push("✔︎ verified");
  return parts.join(" · ");
}

const followerLine = followerSummary;

const windowLine = (window: WindowState): string => windowSummary(window, (at) => slackDate(at));

function linksBlock(links: Link[]): KnownBlock | undefined {
  const shown = links.map((l) => link(l.url, l.label)).filter((l) => l.length > 0);
  return shown.length > 0 ? context(mrkdwn(shown.join(" · "))) : undefined;
}

function heldBlock(held: string | undefined): KnownBlock | undefined {
  return held ? section(`⏸️ *Replies held*: ${escapeText(held)}`) : undefined;
}

/** The referral card: what opened the conversation (the ad, the ig.me link, the story, the post). */
function entryBlock(card: EntryCard | undefined): KnownBlock | undefined {
  if (!card) return undefined;
  const lines = [`*${escapeText(card.title)}*`, ...card.lines.map((l) => escapeText(truncate(l, 300)))];
  if (card.url) lines.push(link(card.url, card.point === "ad" ? "The ad's media" : "Open"));
  return section(lines.join("\n"), card.imageUrl ? image(card.imageUrl, card.title) : undefined);
}

function contextBlock(ctx: DmHeader["context"]): KnownBlock | undefined {
  const lines = customerContextLines(
    ctx,
    (at) => slackDate(at),
    escapeText,
    (url, label) => link(url, label),
  );
  return lines.length > 0 ? section(lines.join("\n")) : undefined;
}

function controlBlock(control: DmHeader["control"]): KnownBlock | undefined {
  return control ? section(escapeText(controlSummary(control))) : undefined;
}

function conversationActions(status: ConversationStatus, control?: DmHeader["control"]): KnownBlock {
  const buttons: types.Button[] = conversationButtons(status, control).map(({ op, label }) => ({
    type: "button",
    action_id: CONVERSATION_ACTION_IDS[op],
    text: plain(label),
    value: op,
  }));
  const snooze: types.StaticSelect = {
    type: "static_select",
    action_id: CONVERSATION_ACTION_IDS.snooze,
    placeholder: plain(SNOOZE_PLACEHOLDER),
    options: SNOOZE_CHOICES.map((c) => ({ text: plain(c.label), value: String(c.minutes) })),
  };
  return { type: "actions", block_id: "ig_conversation_actions", elements: [...buttons, snooze] };
}

function renderDm(header: DmHeader): RenderedMessage {
  const { customer } = header;
  const identity = customer.pictureUrl
    ? context(image(customer.pictureUrl, displayName(customer)), mrkdwn(identityLine(customer)))
    : context(mrkdwn(identityLine(customer)));
  const followers = followerLine(customer);
  const status = [`Status: ${header.status}`];
  if (header.queue) status.unshift(`*${QUEUE_BADGES[header.queue]}*`);
  if (header.assignee) status.push(`assigned to ${escapeText(header.assignee)}`);

  const blocks: (KnownBlock | undefined)[] = [
    identity,
    followers ? context(mrkdwn(followers)) : undefined,
    header.consent === "revoked"
      ? section("⛔ *Consent revoked*: no automated messages; think before replying")
      : undefined,
    heldBlock(header.held),
    controlBlock(header.control),
    section(windowLine(header.window)),
    entryBlock(header.entry),
    contextBlock(header.context),
    context(mrkdwn(`${status.join(" · ")} · Instagram DM to ${escapeText(accountLabel(header.account))}`)),
    header.seenAt ? context(mrkdwn(`👁 Seen ${slackDate(header.seenAt)}`)) : undefined,
    linksBlock(header.links),
    conversationActions(header.status, header.control),
  ];
  const handle = customer.username ? ` (@${customer.username})` : "";
  return {
    text: escapeText(truncate(`Instagram DM with ${displayName(customer)}${handle}`, 300)),
    blocks: blocks.filter((b) => b !== undefined),
  };
}

const productLabel = mediaKind;

function commentText(comment: CommentHeader["comment"]): string {
  const text = comment.text?.trim() ? escapeText(truncate(comment.text, 2500)) : "_(no text)_";
  if (!comment.deleted) return text;
  // Strike-through only spans a line in mrkdwn.
  const struck = text
    .split("\n")
    .map((line) => (line.trim() ? `~${line}~` : line))
    .join("\n");
  return `${struck}\n_deleted_`;
}

function button(action: CommentAction, commentId: string): types.Button {
  const base: types.Button = {
    type: "button",
    action_id: COMMENT_ACTION_IDS[action],
    text: plain(COMMENT_ACTION_LABELS[action]),
    value: commentId,
  };
  if (action !== "delete") return base;
  return {
    ...base,
    style: "danger",
    confirm: {
      title: plain("Delete this comment?"),
      text: plain("It is deleted on Instagram for everyone. This cannot be undone."),
      confirm: plain("Delete"),
      deny: plain("Cancel"),
      style: "danger",
    },
  };
}

function renderComment(header: CommentHeader): RenderedMessage {
  const { media, comment } = header;
  const kind = productLabel(header);
  const lines = [`💬 *Comment on ${escapeText(accountLabel(header.account))}'s ${kind}*`];
  if (media.caption?.trim())
    lines.push(`> ${escapeText(truncate(media.caption, CAPTION_MAX)).replace(/\n/g, "\n> ")}`);
  if (media.permalink) lines.push(link(media.permalink, "Open on Instagram"));
  const thumbnail = media.thumbnailUrl ? image(media.thumbnailUrl, `${kind} thumbnail`) : undefined;

  const author = comment.author;
  const authorLine = `${identityLine(author)} · ${slackDate(comment.at)}`;
  const state: string[] = [];
  if (comment.hidden) state.push("🙈 Hidden on Instagram");
  if (comment.deleted) state.push("🗑 Deleted");
  if (header.privateReplyUsed) state.push("✉️ Private reply used");
  state.push(`Status: ${header.status}`);
  if (header.assignee) state.push(`assigned to ${escapeText(header.assignee)}`);

  const blocks: (KnownBlock | undefined)[] = [
    section(lines.join("\n"), thumbnail),
    author.pictureUrl
      ? context(image(author.pictureUrl, displayName(author)), mrkdwn(authorLine))
      : context(mrkdwn(authorLine)),
    section(commentText(comment)),
    context(mrkdwn(state.join(" · "))),
    contextBlock(header.context),
    heldBlock(header.held),
    header.actions.length > 0
      ? {
          type: "actions",
          block_id: "ig_comment_actions",
          elements: header.actions.map((action) => button(action, comment.id)),
        }
      : undefined,
    linksBlock(header.links),
    conversationActions(header.status),
  ];
  const summary = `Comment by ${displayName(author)}: ${comment.text ?? ""}`;
  return {
    text: escapeText(truncate(summary, 300)),
    blocks: blocks.filter((b) => b !== undefined),
  };
}

function renderMention(header: MentionHeader): RenderedMessage {
  const { media } = header;
  const title = mentionTitle(header);
  const thumbnail = media.thumbnailUrl ? image(media.thumbnailUrl, "post thumbnail") : undefined;
  const lines = [`*${escapeText(title)}*`];
  if (header.where === "comment" && media.caption?.trim())
    lines.push(`On the post: > ${escapeText(truncate(media.caption, CAPTION_MAX)).replace(/\n/g, " ")}`);
  const body = header.text?.trim()
    ? section(escapeText(truncate(header.text, 2500)))
    : context(mrkdwn(`_${escapeText(header.unresolved ?? "(no text)")}_`));
  const blocks: (KnownBlock | undefined)[] = [
    section(lines.join("\n"), thumbnail),
    body,
    context(mrkdwn(`${slackDate(header.at)} · ${escapeText(MENTION_NOTE)}`)),
    linksBlock(header.links),
  ];
  return {
    text: escapeText(truncate(`${title}: ${header.text ?? ""}`, 300)),
    blocks: blocks.filter((b) => b !== undefined),
  };
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
