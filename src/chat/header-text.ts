import type {
  AccountRef,
  CommentAction,
  CommentHeader,
  ConversationStatus,
  CustomerContext,
  EarlierThread,
  EntryPoint,
  Link,
  MentionHeader,
  Person,
  QueueState,
  ThreadControl,
  WindowState,
} from "./chat-port.ts";

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

/** What the commented media is, in a word: post, reel, story, ad or live video. */
export function mediaKind(header: CommentHeader): string {
  if (header.live) return "live video";
  switch (header.media.productType?.toUpperCase()) {
    case "REELS":
    case "REEL":
      return "reel";
    case "STORY":
      return "story";
    case "AD":
      return "ad";
    case "LIVE":
      return "live video";
    default:
      return "post";
  }
}

/** How each entry point opens a conversation, as the root's card titles it. */
export const ENTRY_TITLES: Record<EntryPoint, string> = {
  ad: "📣 Opened from an ad",
  link: "🔗 Opened from an ig.me link",
  story_reply: "📖 Opened by a reply to your story",
  story_mention: "📖 Opened by a mention in their story",
  post: "🖼️ Opened about a post they shared",
  comment: "💬 Opened by an answer to your private reply to their comment",
  message: "✉️ Opened by a message",
};

/** The messaging window in a line; `when` renders a time the platform's way. */
export function windowSummary(window: WindowState, when: (at: Date) => string): string {
  switch (window.kind) {
    case "open":
      return window.entry === "ad"
        ? `🟢 Reply window open until ${when(window.until)} (opened from an ad: the standard window lasts up to 7 days)`
        : `🟢 Reply window open until ${when(window.until)}`;
    case "human_agent":
      return `🟡 Human-agent window until ${when(window.until)} (tag HUMAN_AGENT)`;
    case "closed":
      return "🔴 Window closed — the customer must write first";
    case "none":
      return "⚪ Customer hasn't written yet";
  }
}

export function accountLabel(account: AccountRef): string {
  return account.username ? `@${account.username}` : account.id;
}

/** "📣 @jane_doe mentioned @brand in a comment" / "… in a post's caption". */
export function mentionTitle(header: MentionHeader): string {
  const who = header.author?.username
    ? `@${header.author.username}`
    : (header.author?.name ?? "Someone (Instagram did not say who)");
  const where = header.where === "comment" ? "in a comment" : "in a post's caption";
  return `📣 ${who} mentioned ${accountLabel(header.account)} ${where}`;
}

/** What a mention thread says about replying: it is read here and answered on Instagram. */
export const MENTION_NOTE = "Nothing typed in this thread is sent: answer on Instagram.";

/** The ids of the comment root's moderation buttons on every platform (a platform may add the
 * comment's id to them); listeners match on these. */
export const COMMENT_ACTION_IDS: Record<CommentAction, string> = {
  hide: "ig_comment_hide",
  unhide: "ig_comment_unhide",
  delete: "ig_comment_delete",
  reply_public: "ig_comment_reply_public",
  reply_private: "ig_comment_reply_private",
};

/** The comment root's button labels. */
export const COMMENT_ACTION_LABELS: Record<CommentAction, string> = {
  hide: "Hide",
  unhide: "Unhide",
  delete: "Delete",
  reply_public: "Reply publicly",
  reply_private: "Reply privately",
};

/** The ids of the root's state controls on every platform; the snooze menu's values are minutes. */
export const CONVERSATION_ACTION_IDS = {
  close: "ig_conversation_close",
  reopen: "ig_conversation_reopen",
  take: "ig_conversation_take",
  take_control: "ig_conversation_take_control",
  snooze: "ig_conversation_snooze",
} as const;

/** The state change a root button asks for, from its id (the snooze menu aside: its value carries
 * the minutes); undefined for any other id. */
export function conversationButtonOp(id: string): "close" | "reopen" | "take" | "take_control" | undefined {
  for (const op of ["close", "reopen", "take", "take_control"] as const)
    if (CONVERSATION_ACTION_IDS[op] === id) return op;
  return undefined;
}

/** The moderation action a comment button asks for, from its id (without any suffix a platform
 * adds); undefined for any other id. */
export function commentButtonAction(id: string): CommentAction | undefined {
  return (Object.keys(COMMENT_ACTION_IDS) as CommentAction[]).find((a) => COMMENT_ACTION_IDS[a] === id);
}

/** The root's state buttons, in order: Close (Reopen once closed or snoozed, so a snoozed thread
 * can be picked up before it wakes), Take, and Take control while another app holds the
 * conversation on Instagram. */
export function conversationButtons(
  status: ConversationStatus,
  control?: ThreadControl,
): { op: "close" | "reopen" | "take" | "take_control"; label: string }[] {
  return [
    status === "open" ? { op: "close", label: "Close" } : { op: "reopen", label: "Reopen" },
    { op: "take", label: "Take" },
    ...(control ? [{ op: "take_control" as const, label: "Take control" }] : []),
  ];
}

/** The root's line while another app holds the conversation on Instagram. */
export function controlSummary(control: ThreadControl): string {
  const asked = control.requested ? ` Control was requested from ${control.holder}; waiting for it.` : "";
  return `🔀 ${capitalised(control.holder)} holds this conversation on Instagram: replies written here wait until it passes the conversation back, or until someone takes control (the Take control button, or !control take).${asked}`;
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The root's snooze menu. */
export const SNOOZE_CHOICES: readonly { label: string; minutes: number }[] = [
  { label: "1 hour", minutes: 60 },
  { label: "4 hours", minutes: 240 },
  { label: "1 day", minutes: 1440 },
  { label: "3 days", minutes: 4320 },
];

export const SNOOZE_PLACEHOLDER = "Snooze…";

const EARLIER_KINDS: Record<EarlierThread["kind"], string> = {
  dm: "DM conversation",
  comment: "comment",
  mention: "mention",
};

/** The root's line about the customer's other threads: "🗂️ 3 other threads with this customer:
 * comment <date> (link) · …". `link` writes a link the platform's way; without it (a platform
 * that lists links apart, see `earlierLinks`) the line names the threads alone. */
export function earlierLine(
  earlier: CustomerContext["earlier"],
  when: (at: Date) => string,
  link?: (url: string, label: string) => string,
): string | undefined {
  if (!earlier || earlier.count === 0) return undefined;
  const items = earlier.threads.map((t) => {
    const what = `${EARLIER_KINDS[t.kind]}${t.status && t.status !== "open" ? ` (${t.status})` : ""} ${when(t.at)}`;
    return t.url && link ? `${what} ${link(t.url, "open")}` : what;
  });
  const more = earlier.count - earlier.threads.length;
  if (more > 0) items.push(`${more} more`);
  const n = earlier.count === 1 ? "1 other thread" : `${earlier.count} other threads`;
  return `🗂️ ${n} with this customer: ${items.join(" · ")}`;
}

/** The customer's other threads as links, for a platform that shows links apart from the text. */
export function earlierLinks(earlier: CustomerContext["earlier"], when: (at: Date) => string): Link[] {
  return (earlier?.threads ?? []).flatMap((t) =>
    t.url ? [{ label: `Earlier ${EARLIER_KINDS[t.kind]}, ${when(t.at)}`, url: t.url }] : [],
  );
}

/** The root's customer context as plain lines (labels, notes, then their other threads), the
 * same on every platform; `when` renders a time the platform's way, `link` a link (see
 * `earlierLine`). Empty when there is nothing to show. */
export function customerContextLines(
  ctx: CustomerContext | undefined,
  when: (at: Date) => string,
  plain: (text: string) => string,
  link?: (url: string, label: string) => string,
): string[] {
  if (!ctx) return [];
  const lines: string[] = [];
  if (ctx.labels.length > 0) lines.push(`🏷️ ${ctx.labels.join(" · ")}`);
  for (const n of ctx.notes) {
    // A root shows a note's start (the few shown stay inside the platforms' block limits).
    const text = n.text.length > NOTE_SHOWN_CHARS ? `${n.text.slice(0, NOTE_SHOWN_CHARS - 1)}…` : n.text;
    lines.push(`📝 ${plain(text.replace(/\s+/g, " "))} — ${plain(n.author)}, ${when(n.at)}`);
  }
  const earlier = earlierLine(ctx.earlier, when, link);
  if (earlier) lines.push(earlier);
  return lines;
}

const NOTE_SHOWN_CHARS = 300;

/** The root's queue badge: "🔴 Waiting on us" (conversations/queue-state.ts derives the state). */
export const QUEUE_BADGES: Record<QueueState, string> = {
  new: "🆕 New",
  waiting_on_us: "🔴 Waiting on us",
  waiting_on_customer: "🟢 Waiting on the customer",
  snoozed: "💤 Snoozed",
  closed: "✅ Closed",
};
