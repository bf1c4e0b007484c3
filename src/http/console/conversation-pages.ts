import type { AuditRow } from "../../audit/audit-query.ts";
import type {
  CommentThreadDetail,
  ConversationDetail,
  ConversationMessage,
  ConversationPage,
  RuleFiring,
  StoredAttachment,
} from "../../conversations/conversation-list.ts";
import type { AccountSummary } from "../../instagram/accounts.ts";
import type { WindowState } from "../../instagram/windows.ts";
import { auditTable } from "./audit-pages.ts";
import { type Html, html, time } from "./html.ts";
import { layout } from "./layout.ts";
import type { ConsoleSession } from "./session.ts";

// The conversations list and one conversation (issue 20): read-only pages, so no forms but GET
// filters. Attachments are linked (and images shown small) from Meta's CDN, never copied.

const KIND_LABEL: Record<string, string> = {
  "": "DMs and comments",
  dm: "DMs",
  comment: "Comment threads",
};

const STATE_LABEL: Record<string, string> = {
  "": "Any",
  open: "Open",
  waiting: "Waiting on us",
  snoozed: "Snoozed",
  closed: "Closed",
};

export function accountName(a: { accountUsername?: string | null; accountId: string }): string {
  return a.accountUsername ? `@${a.accountUsername}` : a.accountId;
}

function customerName(c: { username: string | null; customerId: string }): string {
  return c.username ? `@${c.username}` : c.customerId || "someone unknown";
}

/** Where a listed row opens: a DM conversation's page or a comment thread's. */
function rowHref(c: { kind: string; id: number }): string {
  return c.kind === "comment" ? `/comment-threads/${c.id}` : `/conversations/${c.id}`;
}

function statusBadge(status: string, waiting: boolean): Html {
  if (waiting) return html`<span class="badge warn">waiting on us</span>`;
  return html`<span class="badge ${status === "open" ? "ok" : ""}">${status}</span>`;
}

/** The query string of `filter` with `changes`, for links that keep the other filters. */
export function filterQuery(filter: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export interface ConversationsView {
  accounts: AccountSummary[];
  assignees: string[];
  /** The filters as given (form values). */
  form: { account?: string; kind?: string; state?: string; assignee?: string; q?: string };
  page: ConversationPage;
  /** Whether this is a later page (show the way back to the first). */
  paged: boolean;
}

export function conversationsPage(session: ConsoleSession, view: ConversationsView): string {
  const f = view.form;
  const option = (value: string, label: string, chosen: string | undefined) =>
    html`<option value="${value}"${value === (chosen ?? "") ? html` selected` : ""}>${label}</option>`;
  const rows = view.page.rows.map(
    (c) => html`<tr>
<th scope="row"><a href="${rowHref(c)}">${customerName(c)}</a>${
      c.kind === "comment"
        ? html`<br><span class="muted">comment thread</span>`
        : c.username
          ? html`<br><span class="muted">${c.customerId}</span>`
          : ""
    }</th>
<td>${accountName(c)}</td>
<td>${statusBadge(c.status, c.waiting)}</td>
<td>${c.assignee ?? html`<span class="muted">nobody</span>`}</td>
<td>${time(c.lastCustomerAt, "—")}</td>
<td>${time(c.lastBusinessAt, "—")}</td>
</tr>`,
  );
  const base = { account: f.account, kind: f.kind, state: f.state, assignee: f.assignee, q: f.q };
  return layout(
    { title: "Conversations", session, current: "conversations" },
    html`<form method="get" action="/conversations" class="filters" role="search">
<div><label for="f-account">Account</label><select id="f-account" name="account">${option("", "Every account", f.account)}${view.accounts.map(
      (a) => option(a.id, a.username ? `@${a.username}` : a.id, f.account),
    )}</select></div>
<div><label for="f-kind">Kind</label><select id="f-kind" name="kind">${Object.entries(KIND_LABEL).map(([v, l]) => option(v, l, f.kind))}</select></div>
<div><label for="f-state">State</label><select id="f-state" name="state">${Object.entries(STATE_LABEL).map(([v, l]) => option(v, l, f.state))}</select></div>
<div><label for="f-assignee">Assignee</label><select id="f-assignee" name="assignee">${option("", "Anyone", f.assignee)}${option("-", "Nobody", f.assignee)}${view.assignees.map(
      (a) => option(a, a, f.assignee),
    )}</select></div>
<div><label for="f-q">Username or message text</label><input type="text" id="f-q" name="q" value="${f.q ?? ""}" autocomplete="off" spellcheck="false"></div>
<div><button type="submit">Show</button></div>
</form>
${
  view.page.rows.length === 0
    ? html`<p>${view.paged ? "No more conversations." : "No conversation matches."}</p>`
    : html`<table>
<caption>Conversations and comment threads, the latest activity first</caption>
<thead><tr><th scope="col">Customer</th><th scope="col">Account</th><th scope="col">State</th><th scope="col">Assignee</th><th scope="col">Customer wrote</th><th scope="col">We wrote</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}
<nav class="pager" aria-label="Pages">${view.paged ? html`<a href="/conversations${filterQuery(base)}">Newest</a>` : ""}${
      view.page.next
        ? html`<a href="/conversations${filterQuery({ ...base, after: view.page.next })}" rel="next">Older conversations</a>`
        : ""
    }</nav>`,
  );
}

export interface ConversationView {
  conversation: ConversationDetail;
  window: WindowState;
  messages: ConversationMessage[];
  /** The id to page back from, when earlier messages exist. */
  earlier?: number | undefined;
  firings: RuleFiring[];
  audit: AuditRow[];
  /** The platform's label, and a link into its client when it gives one. */
  thread?: { label: string; link?: string | undefined } | undefined;
}

function windowLine(w: WindowState): Html {
  switch (w.kind) {
    case "open":
      return html`<span class="badge ok">open</span> anyone may reply until ${time(w.until)}${
        w.entry ? ` (opened from an ${w.entry === "ad" ? "ad" : w.entry})` : ""
      }`;
    case "human_agent":
      return html`<span class="badge warn">human agent</span> only a person may reply (with the HUMAN_AGENT tag) until ${time(w.until)}`;
    case "closed":
      return html`<span class="badge bad">closed</span> nobody can reply until the customer writes again${
        w.since ? html` (since ${time(w.since)})` : ""
      }`;
    case "none":
      return html`<span class="badge">none</span> the customer has not written yet`;
  }
}

const SAFE_URL = /^https:\/\//i;

function attachment(a: StoredAttachment): Html {
  const label = a.title ?? a.kind ?? "attachment";
  if (!a.url || !SAFE_URL.test(a.url)) return html`<p class="muted">[${label}]</p>`;
  if (a.kind === "image")
    return html`<p><a href="${a.url}" rel="noreferrer noopener"><img class="thumb" src="${a.url}" alt="Image sent in the conversation" loading="lazy" referrerpolicy="no-referrer"></a></p>`;
  return html`<p><a href="${a.url}" rel="noreferrer noopener">${a.kind ?? "attachment"}${a.title ? `: ${a.title}` : ""}</a></p>`;
}

const AUTHOR: Record<string, string> = {
  customer: "Customer",
  business: "The business (Instagram app)",
  agent: "Agent",
  rule: "Rule",
};

function delivery(m: ConversationMessage): Html {
  if (m.direction === "inbound" || !m.deliveryState) return html``;
  const tone = m.deliveryState === "sent" ? "ok" : m.deliveryState === "failed" ? "bad" : "warn";
  return html` · <span class="badge ${tone}">${m.deliveryState}</span>${m.messagingTag ? html` <span class="muted">${m.messagingTag}</span>` : ""}${
    m.deliveryError ? html`<br><span>Reason: ${m.deliveryError}</span>` : ""
  }`;
}

const ROUTE: Record<string, string> = {
  public_reply: "public reply",
  private_reply: "private reply",
};

function author(m: ConversationMessage, comments: boolean): string {
  if (comments && m.authorKind === "customer")
    return m.authorUsername ? `@${m.authorUsername}` : `Instagram user ${m.authorId ?? "unknown"}`;
  return `${AUTHOR[m.authorKind] ?? m.authorKind}${m.authorId && m.authorKind !== "customer" ? ` ${m.authorId}` : ""}`;
}

function message(m: ConversationMessage, comments = false): Html {
  return html`<li class="${m.direction}" id="m${m.id}">
<p class="meta">${author(m, comments)}${m.sendRoute && ROUTE[m.sendRoute] ? ` (${ROUTE[m.sendRoute]})` : ""} · ${time(m.occurredAt)}${
    m.editCount > 0 ? html` · edited` : ""
  }${delivery(m)}</p>
${m.deletedAt ? html`<p class="muted">Unsent ${time(m.deletedAt)}.</p>` : ""}
${m.text ? html`<p>${m.text}</p>` : ""}
${m.attachments.map(attachment)}
</li>`;
}

export function conversationPage(session: ConsoleSession, view: ConversationView): string {
  const c = view.conversation;
  return layout(
    { title: `${customerName(c)} on ${accountName(c)}`, session, current: "conversations" },
    html`<dl class="counts">
<dt>Customer</dt><dd>${c.name ? `${c.name} ` : ""}${customerName(c)} <span class="muted">${c.customerId}</span></dd>
<dt>State</dt><dd>${c.status}${c.snoozedUntil && c.status === "snoozed" ? html` until ${time(c.snoozedUntil)}` : ""}</dd>
<dt>Assignee</dt><dd>${c.assignee ?? "nobody"}</dd>
${c.tags.length > 0 ? html`<dt>Tags</dt><dd>${c.tags.join(", ")}</dd>` : ""}
<dt>Window</dt><dd>${windowLine(view.window)}</dd>
<dt>Chat thread</dt><dd>${chatThread(c.thread, view.thread)}</dd>
</dl>
<h2>Messages</h2>
${view.earlier ? html`<p><a href="/conversations/${c.id}?before=${view.earlier}">Earlier messages</a></p>` : ""}
${view.messages.length === 0 ? html`<p>No message stored.</p>` : html`<ol class="messages">${view.messages.map((m) => message(m))}</ol>`}
<h2>Rule firings</h2>
${
  view.firings.length === 0
    ? html`<p>No rule fired for this customer.</p>`
    : html`<table>
<caption>Rules fired for this customer, newest first</caption>
<thead><tr><th scope="col">Rule</th><th scope="col">Event</th><th scope="col">When</th></tr></thead>
<tbody>${view.firings.map(
        (f) =>
          html`<tr><th scope="row"><a href="/rules#rule-${f.ruleId}">${f.ruleId}</a></th><td>${f.eventId ?? "—"}</td><td>${time(f.firedAt)}</td></tr>`,
      )}</tbody>
</table>`
}
<h2>Audit entries</h2>
${
  view.audit.length === 0
    ? html`<p>Nothing recorded about this customer.</p>`
    : auditTable(view.audit, "What was done in this conversation, newest first")
}
<p><a href="/audit?account=${encodeURIComponent(c.accountId)}">The account's whole audit log</a></p>`,
  );
}

/** The chat thread's line: a link into the platform's client, or its ids where it gives none. */
function chatThread(
  stored: { platform: string; channel: string; thread: string } | undefined,
  shown: { label: string; link?: string | undefined } | undefined,
): Html {
  if (!stored) return html`<span class="muted">not mirrored yet</span>`;
  if (shown?.link) return html`<a href="${shown.link}" rel="noreferrer noopener">Open in ${shown.label}</a>`;
  return html`${shown?.label ?? stored.platform} <code>${stored.channel}</code> thread <code>${stored.thread}</code>`;
}

export interface CommentThreadView {
  thread: CommentThreadDetail;
  messages: ConversationMessage[];
  earlier?: number | undefined;
  audit: AuditRow[];
  chat?: { label: string; link?: string | undefined } | undefined;
}

function moderationLine(t: CommentThreadDetail): Html {
  if (t.deletedAt) return html`<span class="badge bad">deleted</span> ${time(t.deletedAt)}`;
  if (t.hidden)
    return html`<span class="badge warn">hidden</span> on Instagram: the public no longer sees it`;
  if (t.live)
    return html`<span class="badge">live</span> on a live broadcast: Instagram allows no moderation`;
  return html`<span class="badge ok">visible</span>`;
}

/** One comment thread (issue 20): the post, every comment both ways with delivery states, its
 * moderation state and audit entries. */
export function commentThreadPage(session: ConsoleSession, view: CommentThreadView): string {
  const t = view.thread;
  const who = t.authorUsername
    ? `@${t.authorUsername}`
    : t.authorId
      ? `Instagram user ${t.authorId}`
      : "a comment";
  const post = t.media.permalink && SAFE_URL.test(t.media.permalink) ? t.media.permalink : undefined;
  const picture =
    t.media.thumbnailUrl && SAFE_URL.test(t.media.thumbnailUrl) ? t.media.thumbnailUrl : undefined;
  return layout(
    { title: `Comments of ${who} on ${accountName(t)}`, session, current: "conversations" },
    html`<dl class="counts">
<dt>Post</dt><dd>${post ? html`<a href="${post}" rel="noreferrer noopener">${t.media.caption ? t.media.caption.slice(0, 140) : "Open on Instagram"}</a>` : t.media.caption ? t.media.caption.slice(0, 140) : ""} <span class="muted">media ${t.mediaId}${t.media.mediaProductType ? ` · ${t.media.mediaProductType.toLowerCase()}` : ""}</span>${
      picture
        ? html`<br><img class="thumb" src="${picture}" alt="The post's picture" loading="lazy" referrerpolicy="no-referrer">`
        : ""
    }</dd>
<dt>Top-level comment</dt><dd>${who} <span class="muted">${t.rootCommentId}</span>${t.rootCommentedAt ? html` · ${time(t.rootCommentedAt)}` : ""}</dd>
<dt>Moderation</dt><dd>${moderationLine(t)}</dd>
<dt>Private reply</dt><dd>${t.privateReplySentAt ? html`sent ${time(t.privateReplySentAt)}` : html`<span class="muted">none sent</span>`}</dd>
<dt>State</dt><dd>${t.status}${t.snoozedUntil && t.status === "snoozed" ? html` until ${time(t.snoozedUntil)}` : ""}</dd>
<dt>Assignee</dt><dd>${t.assignee ?? "nobody"}</dd>
${t.tags.length > 0 ? html`<dt>Tags</dt><dd>${t.tags.join(", ")}</dd>` : ""}
<dt>Chat thread</dt><dd>${chatThread(t.thread, view.chat)}</dd>
</dl>
<h2>Comments</h2>
${view.earlier ? html`<p><a href="/comment-threads/${t.id}?before=${view.earlier}">Earlier comments</a></p>` : ""}
${view.messages.length === 0 ? html`<p>No comment stored.</p>` : html`<ol class="messages">${view.messages.map((m) => message(m, true))}</ol>`}
<h2>Audit entries</h2>
${
  view.audit.length === 0
    ? html`<p>Nothing recorded about this comment thread.</p>`
    : auditTable(view.audit, "What was done in this comment thread, newest first")
}
<p><a href="/audit?account=${encodeURIComponent(t.accountId)}">The account's whole audit log</a></p>`,
  );
}
