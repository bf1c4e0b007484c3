import { DateTime } from "luxon";
import type { QueueState } from "../chat/chat-port.ts";
import { chatKey, parseChatKey } from "../chat/ids.ts";
import { QUEUE_STATE_LABELS } from "../conversations/queue-state.ts";
import type { Count, Digest } from "./digest.ts";

// The digest as chat shows it, the same on every platform: which figures and sections, in what
// order and wording, and which are left out because they have nothing to say. Adapters pass their
// markup (escaping, bold, mentions, thread links, dates) and lay the result out within their own
// limits (Block Kit fields and sections, embed fields), cutting long lists with `fitLines`.

/** How a platform writes things. Every function returns the platform's markup. */
export interface DigestMarkup {
  /** Plain text, escaped so it shows as written and pings nobody. */
  text(plain: string): string;
  bold(markup: string): string;
  code(plain: string): string;
  /** A person by the id the core stores (`slack:U…`, `discord:…`), or undefined when this
   * platform cannot show them (the stored label is used instead). */
  person(key: string): string | undefined;
  /** An overdue conversation's label (markup) as a link to its thread, or undefined. */
  thread(conversation: Overdue, label: string): string | undefined;
  /** A moment, shown in each reader's own time zone where the platform can. */
  date(at: Date): string;
}

export type Overdue = Digest["sla"]["overdue"][number];

export interface DigestFigure {
  /** Plain. */
  name: string;
  /** Markup. */
  value: string;
}

export interface DigestSection {
  /** Plain. */
  title: string;
  /** Markup, one item a line, the largest first. */
  lines: string[];
  /** Items the digest counted but does not list (overdue conversations past the ten listed). */
  unlisted: number;
}

export interface DigestView {
  /** Plain: "📊 @brand · Tue 24 Nov 2026". */
  title: string;
  /** Plain: "Daily digest · Europe/Berlin". */
  about: string;
  /** Markup: the expiring token, which an operator must act on. */
  warning?: string;
  /** Plain: the friendly line of a digest where nothing happened. */
  nothing?: string;
  figures: DigestFigure[];
  sections: DigestSection[];
  /** Plain, for notifications: the headline figures in a sentence. */
  summary: string;
}

/** A list longer than this reads as noise; the rest is counted in a last line. */
export const LIST_MAX = 10;
const NAME_MAX = 80;
const REASON_MAX = 200;

/** "45 s", "10 min", "1 h", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) {
    const h = Math.floor(minutes / 60);
    return minutes % 60 === 0 ? `${h} h` : `${h} h ${minutes % 60} min`;
  }
  const hours = Math.round(minutes / 60);
  const d = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${d} d` : `${d} d ${hours % 24} h`;
}

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/** Names and reasons as stored can be long; a digest line shows the start of them. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text.replace(/\s+/g, " ").trim());
  return chars.length <= max ? chars.join("") : `${chars.slice(0, max - 1).join("")}…`;
}

export function accountHandle(digest: Digest): string {
  return digest.account.username ? `@${digest.account.username}` : digest.account.id;
}

type PeriodKind = "daily" | "weekly" | "rolling";

function periodKind(digest: Digest): PeriodKind {
  const { kind } = digest.period;
  return kind === "24h" || kind === "7d" ? "rolling" : kind;
}

/** "yesterday", "last week", "in the last 24 hours", "on Tue 24 Nov 2026". */
function when(digest: Digest): string {
  const { period } = digest;
  const kind = periodKind(digest);
  if (kind === "rolling") return `in the ${period.label}`;
  const now = DateTime.fromJSDate(digest.generatedAt, { zone: period.timezone });
  const unit = kind === "daily" ? "day" : "week";
  if (now.startOf(unit).toMillis() === period.to.getTime())
    return kind === "daily" ? "yesterday" : "last week";
  return kind === "daily" ? `on ${period.label}` : `during ${period.label}`;
}

const ABOUT: Record<PeriodKind, string> = {
  daily: "Daily digest",
  weekly: "Weekly digest",
  rolling: "Digest",
};

const MODERATION: Record<string, (n: number) => string> = {
  hide: (n) => `${n} hidden`,
  unhide: (n) => `${n} unhidden`,
  delete: (n) => `${n} deleted`,
  reply_public: (n) => plural(n, "public reply", "public replies"),
  reply_private: (n) => plural(n, "private reply", "private replies"),
  comments_disabled: (n) => `comments turned off on ${plural(n, "post", "posts")}`,
  comments_enabled: (n) => `comments turned back on for ${plural(n, "post", "posts")}`,
};

const DEFERRAL_CLASSES: Record<string, string> = {
  send_text: "text replies",
  send_media: "audio and video replies",
  private_reply: "private replies to comments",
  private_reply_live: "private replies to live comments",
  conversations: "conversation look-ups",
  platform: "other Instagram calls",
};

/** A stored name reads best and pings nobody (a Slack mention notifies its person every day); a
 * mention only stands in when no name was stored. */
function who(markup: DigestMarkup, c: Count): string {
  if (c.label) return markup.text(clip(c.label, NAME_MAX));
  // Agents' keys are `platform:id`: without a name, the id alone.
  return markup.person(c.key) ?? markup.text(clip(parseChatKey(c.key)?.id ?? c.key, NAME_MAX));
}

function firstResponse(digest: Digest): DigestFigure {
  const f = digest.firstResponse;
  const name = f.businessHours ? "First response (within opening hours)" : "First response";
  const counts = [
    f.answered > 0 ? `${f.answered.toLocaleString("en-US")} answered` : undefined,
    f.unanswered > 0 ? `${f.unanswered.toLocaleString("en-US")} not answered yet` : undefined,
  ].filter((s) => s !== undefined);
  if (f.p50Ms === undefined) return { name, value: counts.join(" · ") || "no customer questions" };
  const speed = [`median ${formatDuration(f.p50Ms)}`];
  if (f.p90Ms !== undefined) speed.push(`90% within ${formatDuration(f.p90Ms)}`);
  return { name, value: `${speed.join(" · ")}\n${counts.join(" · ")}` };
}

function slaName(digest: Digest): string {
  return `Waiting past the ${formatDuration(digest.sla.minutes * 60_000)} SLA`;
}

function figures(digest: Digest): DigestFigure[] {
  const c = digest.conversations;
  const n = (v: number) => v.toLocaleString("en-US");
  const out: DigestFigure[] = [
    { name: "New conversations", value: n(c.opened) },
    { name: "Closed", value: n(c.closed) },
    { name: "Waiting for an answer now", value: n(c.waiting) },
  ];
  if (c.commentThreads > 0) out.push({ name: "New comment threads", value: n(c.commentThreads) });
  out.push(firstResponse(digest));
  // SLA_MINUTES=0 turns the SLA off: every wait would count as past it.
  if (digest.sla.minutes > 0)
    out.push({ name: slaName(digest), value: digest.sla.total > 0 ? n(digest.sla.total) : "none ✅" });
  return out;
}

function overdueLine(markup: DigestMarkup, o: Overdue): string {
  const label = markup.text(o.username ? `@${o.username}` : `customer ${o.customerId}`);
  const parts = [`${markup.thread(o, label) ?? label} waiting ${formatDuration(o.waitedMs)}`];
  const assignee =
    o.assigneeRef && o.thread ? markup.person(chatKey(o.thread.platform, o.assigneeRef)) : undefined;
  if (assignee) parts.push(`assigned to ${assignee}`);
  else if (o.assignee) parts.push(`assigned to ${markup.text(clip(o.assignee, NAME_MAX))}`);
  else parts.push("nobody assigned");
  return parts.join(" · ");
}

function moderationLine(markup: DigestMarkup, m: Digest["moderationByModerator"][number]): string {
  const actions = Object.entries(m.actions)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([action, n]) => MODERATION[action]?.(n) ?? `${n} ${action.replace(/_/g, " ")}`);
  return `${who(markup, m)} — ${markup.text(actions.join(", "))}`;
}

function privacyLines(digest: Digest): string[] {
  const { consent, dataRequests: d } = digest;
  const lines: string[] = [];
  if (consent.revoked > 0)
    lines.push(`${plural(consent.revoked, "customer", "customers")} opted out of automated messages`);
  if (consent.granted > 0)
    lines.push(`${plural(consent.granted, "customer", "customers")} opted in to automated messages`);
  if (d.exports > 0) lines.push(`${plural(d.exports, "data export", "data exports")} (/ig export)`);
  if (d.erasures > 0) lines.push(`${plural(d.erasures, "customer", "customers")} erased (/ig forget)`);
  if (d.deletionRequested > 0)
    lines.push(`${plural(d.deletionRequested, "data deletion request", "data deletion requests")} from Meta`);
  if (d.deletionCompleted > 0)
    lines.push(`${plural(d.deletionCompleted, "data deletion", "data deletions")} completed`);
  return lines;
}

/** How the digest names each conversation timer (conversations/timers.ts). */
const TIMER_NAMES: Record<string, string> = {
  nudge_window: "nudges before the 24-hour window closed",
  nudge_human_agent: "nudges before the 7-day limit",
  auto_close: "conversations closed after the customer's silence",
  close_later: "closes set for later (!close 2h)",
  followup: "follow-ups sent (!followup)",
};

function sections(digest: Digest, markup: DigestMarkup): DigestSection[] {
  const out: DigestSection[] = [];
  const add = (title: string, lines: string[], unlisted = 0) => {
    if (lines.length + unlisted > 0) out.push({ title, lines: lines.map((l) => `• ${l}`), unlisted });
  };
  if (digest.sla.minutes > 0)
    add(
      `⏰ ${slaName(digest)}${digest.firstResponse.businessHours ? " (counted in opening hours)" : ""}`,
      digest.sla.overdue.map((o) => overdueLine(markup, o)),
      Math.max(0, digest.sla.total - digest.sla.overdue.length),
    );
  add(
    "📣 Conversations opened from ads",
    (digest.conversationsByAd ?? []).map((c) => {
      const ad = c.key === "unknown" ? "an ad without an id" : `ad ${c.key}`;
      const name = c.label
        ? `${markup.text(`“${clip(c.label, NAME_MAX)}”`)} (${markup.text(ad)})`
        : markup.text(ad);
      return `${name} — ${plural(c.count, "conversation", "conversations")}`;
    }),
  );
  add(
    "⏰ Timers that fired",
    (digest.timersFired ?? []).map(
      (c) => `${markup.text(TIMER_NAMES[c.key] ?? c.key)} — ${plural(c.count, "time", "times")}`,
    ),
  );
  add(
    "👥 Assignments (open now) and replies",
    (digest.assignments ?? [])
      .filter((a) => a.open > 0)
      .map(
        (a) =>
          `${who(markup, { key: a.key, count: a.open, ...(a.label ? { label: a.label } : {}) })} — ${plural(a.open, "open conversation", "open conversations")} assigned, ${plural(a.replies, "reply", "replies")} sent`,
      ),
  );
  add(
    "🚦 Conversations by queue state (now)",
    (digest.queueStates ?? []).map(
      (c) =>
        `${markup.text(QUEUE_STATE_LABELS[c.key as QueueState] ?? c.key)} — ${plural(c.count, "conversation", "conversations")}`,
    ),
  );
  add(
    "🏷️ Conversations by customer label",
    (digest.labels ?? []).map(
      (c) => `${markup.code(c.key)} — ${plural(c.count, "conversation", "conversations")}`,
    ),
  );
  add(
    "📎 Saved replies sent",
    (digest.savedReplies ?? []).map(
      (c) => `${markup.code(clip(c.key, NAME_MAX))} — ${plural(c.count, "time", "times")}`,
    ),
  );
  add(
    "💬 Replies by agent",
    digest.repliesByAgent.map((c) => `${who(markup, c)} — ${plural(c.count, "reply", "replies")}`),
  );
  add(
    "🤖 Auto-replies by rule",
    digest.autoRepliesByRule.map(
      (c) =>
        `${markup.text(clip(c.label ?? c.key, NAME_MAX))} — ${plural(c.count, "auto-reply", "auto-replies")}`,
    ),
  );
  add(
    "🛡️ Moderation",
    digest.moderationByModerator.map((m) => moderationLine(markup, m)),
  );
  add("🔐 Privacy", privacyLines(digest).map(markup.text));
  add(
    "⚠️ Replies that could not be delivered",
    digest.deliveryFailures.map(
      (c) => `${markup.text(clip(c.key, REASON_MAX))} — ${plural(c.count, "reply", "replies")}`,
    ),
  );
  add(
    "🐢 Held back by Instagram's rate limits",
    digest.rateLimitDeferrals.map(
      (c) => `${markup.text(DEFERRAL_CLASSES[c.key] ?? c.key)} — ${plural(c.count, "time", "times")}`,
    ),
  );
  return out;
}

function summary(digest: Digest): string {
  const c = digest.conversations;
  const parts = [
    plural(c.opened, "new conversation", "new conversations"),
    `${c.waiting.toLocaleString("en-US")} waiting`,
  ];
  if (digest.sla.minutes > 0 && digest.sla.total > 0) parts.push(`${digest.sla.total} past the SLA`);
  return `Digest for ${accountHandle(digest)}, ${digest.period.label}: ${parts.join(", ")}`;
}

export function digestView(digest: Digest, markup: DigestMarkup): DigestView {
  const handle = accountHandle(digest);
  const view: DigestView = {
    title: `📊 ${handle} · ${digest.period.label}`,
    about: `${ABOUT[periodKind(digest)]} · ${digest.period.timezone}`,
    figures: [],
    sections: [],
    summary: summary(digest),
  };
  if (digest.tokenExpiresAt)
    view.warning = [
      `🔑 ${markup.bold(markup.text(`The Instagram token of ${handle} expires`))} ${markup.date(digest.tokenExpiresAt)}.`,
      markup.text("Reconnect it before then, or replies will be held: an operator runs"),
      markup.code(`threadbridge accounts add --ig-user-id ${digest.account.id} …`),
      markup.text("with a new token."),
    ].join(" ");
  if (digest.empty) {
    view.nothing = `🌙 Nothing happened on ${handle} ${when(digest)}, and nobody is waiting for an answer.`;
    view.summary = view.nothing;
    return view;
  }
  view.figures = figures(digest);
  view.sections = sections(digest, markup);
  return view;
}

/**
 * The lines of a list that fit in `budget` characters (joined by newlines) and `LIST_MAX` lines,
 * with a last "… and N more" line counting what was cut and what was never listed (`unlisted`).
 */
export function fitLines(lines: readonly string[], budget: number, unlisted = 0): string[] {
  const more = (n: number) => `… and ${n.toLocaleString("en-US")} more`;
  const kept: string[] = [];
  let used = 0;
  for (const [i, line] of lines.entries()) {
    const left = lines.length - i - 1 + unlisted;
    const tail = left > 0 ? more(left).length + 1 : 0;
    const cost = (kept.length > 0 ? 1 : 0) + line.length;
    if (kept.length >= LIST_MAX || used + cost + tail > budget) {
      kept.push(more(lines.length - i + unlisted));
      return kept;
    }
    kept.push(line);
    used += cost;
  }
  if (unlisted > 0) kept.push(more(unlisted));
  return kept;
}
