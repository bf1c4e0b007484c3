// The web inbox's rendering of what the core asks to show: a root, a mirrored post, a notice, as a
// WebView (view.ts). Like every adapter it decides how things look; the wording shared by every
// platform comes from the core (src/chat/header-text.ts).

import type {
  CommentAction,
  ConversationStatus,
  Digest,
  DmHeader,
  MirrorPost,
  Person,
  ThreadHeader,
} from "../../src/chat/chat-port.ts";
import {
  accountLabel,
  CONVERSATION_ACTION_IDS,
  controlSummary,
  conversationButtons,
  customerContextLines,
  earlierLinks,
  followerSummary,
  MENTION_NOTE,
  mediaKind,
  mentionTitle,
  QUEUE_BADGES,
  SNOOZE_CHOICES,
  SNOOZE_PLACEHOLDER,
  windowSummary,
} from "../../src/chat/header-text.ts";
import type { WebButton, WebView } from "./view.ts";

const COMMENT_BUTTONS: Record<CommentAction, { id: string; label: string; confirm?: string }> = {
  hide: { id: "ig_comment_hide", label: "Hide" },
  unhide: { id: "ig_comment_unhide", label: "Unhide" },
  delete: { id: "ig_comment_delete", label: "Delete", confirm: "Delete this comment on Instagram?" },
  reply_public: { id: "ig_comment_reply_public", label: "Reply publicly" },
  reply_private: { id: "ig_comment_reply_private", label: "Reply privately" },
};

const when = (at: Date) => `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
const shown = (p: Person) => p.name ?? (p.username ? `@${p.username}` : p.id);
// "Jo · @jo", or "@jo" alone when Instagram gave no name (not "@jo · @jo").
const who = (p: Person) => (p.name && p.username ? `${p.name} · @${p.username}` : shown(p));
const https = (url: string | undefined): url is string => url !== undefined && /^https:\/\//i.test(url);

function conversationControls(status: ConversationStatus, control?: DmHeader["control"]): WebButton[] {
  return [
    ...conversationButtons(status, control).map(({ op, label }) => ({
      id: CONVERSATION_ACTION_IDS[op],
      label,
    })),
    {
      id: CONVERSATION_ACTION_IDS.snooze,
      label: SNOOZE_PLACEHOLDER,
      options: SNOOZE_CHOICES.map((c) => ({ label: c.label, value: String(c.minutes) })),
    },
  ];
}

export function renderHeader(header: ThreadHeader): WebView {
  const lines: (string | undefined)[] = [];
  const links = header.links.map((l) => ({ label: l.label, url: l.url }));
  if (header.kind === "mention") {
    // Read here, answered on Instagram: no buttons.
    lines.push(mentionTitle(header), header.text ?? header.unresolved, header.media.permalink, MENTION_NOTE);
    return {
      kind: "root",
      text: lines.filter(Boolean).join("\n"),
      buttons: [],
      links,
      ...(https(header.media.thumbnailUrl)
        ? { images: [{ url: header.media.thumbnailUrl, alt: "media" }] }
        : {}),
      summary: { title: mentionTitle(header) },
    };
  }
  const status = [`Status: ${header.status}`];
  if (header.assignee) status.push(`assigned to ${header.assignee}`);
  if (header.kind === "dm" && header.queue) status.unshift(QUEUE_BADGES[header.queue]);
  if (header.kind === "dm") {
    const window = windowSummary(header.window, when);
    lines.push(`Instagram DM with ${who(header.customer)}`, followerSummary(header.customer));
    if (header.consent === "revoked") lines.push("⛔ Consent revoked: no automated messages");
    if (header.control) lines.push(controlSummary(header.control));
    if (header.held) lines.push(`⏸️ Replies held: ${header.held}`);
    if (header.entry) lines.push(header.entry.title, ...header.entry.lines);
    lines.push(...customerContextLines(header.context, when, (t) => t));
    links.push(...earlierLinks(header.context?.earlier, when));
    lines.push(window);
    lines.push([...status, `Instagram DM to ${accountLabel(header.account)}`].join(" · "));
    if (header.seenAt) lines.push(`👁 Seen ${when(header.seenAt)}`);
    return {
      kind: "root",
      text: lines.filter(Boolean).join("\n"),
      buttons: conversationControls(header.status, header.control),
      links,
      ...(https(header.customer.pictureUrl)
        ? { as: { name: shown(header.customer), icon: header.customer.pictureUrl } }
        : {}),
      summary: {
        title: `DM with ${who(header.customer)}`,
        status: header.status,
        ...(header.assignee ? { assignee: header.assignee } : {}),
        window,
      },
    };
  }
  const { media, comment } = header;
  lines.push(`💬 Comment on ${accountLabel(header.account)}'s ${mediaKind(header)}`);
  if (media.caption) lines.push(`> ${media.caption}`);
  if (media.permalink) lines.push(media.permalink);
  lines.push(`${who(comment.author)} · ${when(comment.at)}`);
  lines.push(comment.deleted ? `~${comment.text ?? ""}~ (deleted)` : (comment.text ?? "(no text)"));
  const state: string[] = [];
  if (comment.hidden) state.push("🙈 Hidden on Instagram");
  if (comment.deleted) state.push("🗑 Deleted");
  if (header.privateReplyUsed) state.push("✉️ Private reply used");
  lines.push([...state, ...status].join(" · "));
  lines.push(...customerContextLines(header.context, when, (t) => t));
  links.push(...earlierLinks(header.context?.earlier, when));
  if (header.held) lines.push(`⏸️ Replies held: ${header.held}`);
  return {
    kind: "root",
    text: lines.join("\n"),
    buttons: [
      ...header.actions.map((a) => ({ ...COMMENT_BUTTONS[a], value: comment.id })),
      ...conversationControls(header.status),
    ],
    links,
    ...(https(media.thumbnailUrl) ? { images: [{ url: media.thumbnailUrl, alt: "media" }] } : {}),
    summary: {
      title: `Comment by ${who(comment.author)}`,
      status: header.status,
      ...(header.assignee ? { assignee: header.assignee } : {}),
    },
  };
}

export function renderPost(post: MirrorPost): WebView {
  const as = { name: post.author.name, ...(https(post.author.iconUrl) ? { icon: post.author.iconUrl } : {}) };
  if (post.removed)
    return {
      kind: "post",
      as,
      text: ["message removed", post.attribution].filter(Boolean).join("\n"),
      buttons: [],
      removed: true,
    };
  const lines: (string | undefined)[] = [];
  const images: { url: string; alt: string }[] = [];
  const links: { label: string; url: string }[] = [];
  if (post.quote) lines.push(`> ${post.quote.author}: ${post.quote.text}`);
  lines.push(post.text);
  for (const a of post.attachments) {
    if (a.kind === "image") {
      lines.push(`[image ${a.url}]`);
      if (https(a.url)) images.push({ url: a.url, alt: a.alt });
    } else if (a.kind === "link") {
      lines.push(`[${a.label} ${a.url}]`);
      links.push({ label: a.label, url: a.url });
    } else if (a.kind === "card") {
      lines.push(
        `[${a.title}${a.url ? ` ${a.url}` : ""}]`,
        ...(a.subtitle ? [a.subtitle] : []),
        ...(a.facts ?? []),
      );
      if (a.url) links.push({ label: a.title, url: a.url });
      if (https(a.imageUrl)) images.push({ url: a.imageUrl, alt: a.title });
    } else lines.push(`[${a.text}]`);
  }
  lines.push(...post.context, post.attribution);
  return {
    kind: "post",
    as,
    text: lines.filter((l) => l !== undefined && l !== "").join("\n"),
    buttons: [],
    ...(images.length ? { images } : {}),
    ...(links.length ? { links } : {}),
  };
}

export function renderNotice(text: string, mention: string[], retryMessageId?: number): WebView {
  return {
    kind: "notice",
    text: `ℹ️ ${mention.map((id) => `@${id} `).join("")}${text}`,
    buttons:
      retryMessageId === undefined ? [] : [{ id: "ig_retry", label: "Retry", value: String(retryMessageId) }],
  };
}

export function renderDigest(digest: Digest, chart?: { name: string; alt: string }): WebView {
  const c = digest.conversations;
  return {
    kind: "digest",
    text: [
      `📊 Digest for ${accountLabel(digest.account)}`,
      `opened ${c.opened}, closed ${c.closed}, waiting ${c.waiting}`,
      ...(chart ? [`(chart: ${chart.alt})`] : []),
    ].join("\n"),
    buttons: [],
  };
}
