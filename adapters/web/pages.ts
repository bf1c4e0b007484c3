// The web inbox's pages, in the console's frame (src/http/console/layout.ts) and with its escaping
// `html` template: everything stored is text, and only what a template literal here spells out is
// markup. A post renders the same way on a page load and in an event of the live stream.

import { type Html, html, time } from "../../src/http/console/html.ts";
import { csrfField, layout } from "../../src/http/console/layout.ts";
import type { ConsoleSession } from "../../src/http/console/session.ts";
import { EMOJI } from "./people.ts";
import { BASE, inboxHref, MARK_EMOJI, MARK_TEXT, threadHref, type WebButton, type WebPost } from "./view.ts";

/** Only web addresses (and the inbox's own pages) become links: a `javascript:` or `data:` URL a customer's message carried is
 * shown as text (the pages' policy would block it anyway). */
const web = (url: string) => /^https?:\/\//i.test(url) || url.startsWith(`${BASE}/`);

function lines(text: string): Html[] {
  return text.split("\n").map((line, i) => (i === 0 ? html`${line}` : html`<br>${line}`));
}

function button(session: ConsoleSession, post: WebPost, b: WebButton): Html {
  const action = `${threadHref(post.channel, post.thread ?? post.id)}/posts/${post.id}/press`;
  const replying = b.id === "ig_comment_reply_public" || b.id === "ig_comment_reply_private";
  return html`<form method="post" action="${action}" class="act" data-live${b.confirm ? html` data-confirm="${b.confirm}"` : ""}>${csrfField(session)}<input type="hidden" name="action" value="${b.id}">${
    b.options
      ? html`<label class="visually-hidden" for="pick-${post.id}-${b.id}">${b.label}</label><select name="pick" id="pick-${post.id}-${b.id}" required><option value="">${b.label}</option>${b.options.map(
          (o) => html`<option value="${o.value}">${o.label}</option>`,
        )}</select><button type="submit" class="secondary">Snooze</button>`
      : replying
        ? html`<label class="visually-hidden" for="reply-${post.id}-${b.id}">${b.label}</label><input name="text" id="reply-${post.id}-${b.id}" placeholder="${b.label}…" maxlength="2000" required><button type="submit" class="secondary">${b.label}</button>`
        : html`<button type="submit"${b.id.includes("delete") ? html` class="danger"` : ""}>${b.label}</button>`
  }</form>`;
}

/** One message: its author, text, pictures, links, files, delivery mark, emoji and buttons. */
export function postHtml(session: ConsoleSession, post: WebPost): Html {
  const v = post.view;
  const author = v.as?.name ?? (post.author.kind === "person" ? post.author.id : "threadbridge");
  const thread = post.thread ?? post.id;
  const reactions = Object.entries(post.reactions).filter(([, who]) => who.length > 0);
  const mine = (emoji: string) => (post.reactions[emoji] ?? []).includes(session.user ?? "");
  return html`<li class="post post-${v.kind}${post.author.kind === "person" ? " post-person" : ""}" id="post-${post.id}" data-id="${post.id}">
<p class="who">${v.as?.icon ? html`<img class="avatar" src="${v.as.icon}" alt="" width="24" height="24">` : ""}<strong>${author}</strong> ${time(post.at)}${post.edited ? html` <span class="hint">(edited)</span>` : ""}</p>
<p class="text${v.removed ? " removed" : ""}">${lines(v.text)}</p>
${v.images?.length ? html`<p class="images">${v.images.filter((i) => web(i.url)).map((i) => html`<a href="${i.url}" rel="noopener noreferrer" target="_blank"><img src="${i.url}" alt="${i.alt}" loading="lazy"></a>`)}</p>` : ""}
${v.links?.length ? html`<ul class="links">${v.links.map((l) => (web(l.url) ? html`<li><a href="${l.url}" rel="noopener noreferrer" target="_blank">${l.label}</a></li>` : html`<li>${l.label}: ${l.url}</li>`))}</ul>` : ""}
${v.files?.length ? html`<ul class="files">${v.files.map((f) => html`<li><a href="${BASE}/files/${f.id}">${f.name}</a></li>`)}</ul>` : ""}
${post.mark ? html`<p class="mark mark-${post.mark}" role="status"><span aria-hidden="true">${MARK_EMOJI[post.mark]}</span> ${MARK_TEXT[post.mark]}</p>` : ""}
${v.buttons.length ? html`<div class="buttons">${v.buttons.map((b) => button(session, post, b))}</div>` : ""}
${
  post.author.kind === "person" && post.author.id === session.user && post.thread
    ? html`<form method="post" action="${threadHref(post.channel, thread)}/posts/${post.id}/delete" class="act" data-live data-confirm="Delete your message? A reply already sent stays with the customer.">${csrfField(session)}<button type="submit" class="secondary">Delete</button></form>`
    : ""
}
${
  post.thread
    ? html`<form method="post" action="${threadHref(post.channel, thread)}/posts/${post.id}/react" class="reactions" data-live>${csrfField(session)}${EMOJI.map(
        (e) => {
          const n = post.reactions[e]?.length ?? 0;
          return html`<button type="submit" name="emoji" value="${e}" class="emoji${mine(e) ? " mine" : ""}" aria-pressed="${mine(e) ? "true" : "false"}" title="${(post.reactions[e] ?? []).join(", ")}">${e}${n ? html` <span>${n}</span>` : ""}</button>`;
        },
      )}${reactions
        .filter(([e]) => !(EMOJI as readonly string[]).includes(e))
        .map(
          ([e, who]) => html`<span class="emoji" title="${who.join(", ")}">${e} ${who.length}</span>`,
        )}</form>`
    : ""
}
${
  // A mirrored message can be answered with a quote: Instagram shows the reply under it.
  post.thread && v.kind === "message" && post.author.kind !== "person"
    ? html`<details class="quote"><summary>Quote in a reply</summary><form method="post" action="${threadHref(post.channel, thread)}/messages" class="composer stack" data-live data-reset>${csrfField(session)}<input type="hidden" name="quote" value="${post.id}"><textarea name="text" rows="2" maxlength="4000" required aria-label="Your reply, quoting this message"></textarea><div class="row"><button type="submit">Send</button></div></form></details>`
    : ""
}
</li>`;
}

/** A thread in the inbox's list. */
export function threadItemHtml(root: WebPost): Html {
  const s = root.view.summary;
  const title = s?.title ?? root.view.text.split("\n")[0] ?? root.id;
  return html`<li id="thread-${root.id}" class="thread-item${s?.status ? ` status-${s.status}` : ""}"><a href="${threadHref(root.channel, root.id)}">${title}</a>
<span class="hint">${[s?.status, s?.assignee ? `assigned to ${s.assignee}` : undefined, s?.window].filter(Boolean).join(" · ")}</span> <span class="hint">· started ${time(root.at)}</span></li>`;
}

const head = html`<link rel="stylesheet" href="${BASE}/inbox.css"><script src="${BASE}/inbox.js" defer></script>`;

function page(session: ConsoleSession, title: string, body: Html, notice?: string): string {
  // The console's frame; the inbox's own stylesheet and script come in through the body's head
  // tags (browsers take <link> and <script> anywhere).
  return layout({ title, session, currentPage: BASE, notice }, html`${head}${body}`);
}

export function inboxesPage(session: ConsoleSession, channels: string[]): string {
  return page(
    session,
    "Inbox",
    channels.length
      ? html`<ul>${channels.map((c) => html`<li><a href="${inboxHref(c)}">${c}</a></li>`)}</ul>`
      : html`<p>No account is routed to the web inbox yet. Route one with <code>threadbridge accounts add … --web-channel support</code>, or from the accounts page.</p>`,
  );
}

function composer(session: ConsoleSession, action: string, label: string, hint: Html): Html {
  return html`<form method="post" action="${action}" class="composer stack" data-live data-reset>${csrfField(session)}
<label for="composer-text">${label}</label>
<textarea id="composer-text" name="text" rows="3" maxlength="4000" required aria-describedby="composer-hint"></textarea>
<p class="hint" id="composer-hint">${hint}</p>
<div class="row"><input type="file" name="files" multiple aria-label="Attach files" data-files><button type="submit">Send</button></div>
</form>`;
}

export function inboxPage(
  session: ConsoleSession,
  channel: string,
  roots: WebPost[],
  top: WebPost[],
): string {
  return page(
    session,
    `Inbox ${channel}`,
    html`<div class="inbox" data-stream="${inboxHref(channel)}/events" data-channel="${channel}">
<p class="live hint" aria-live="polite" data-told></p>
<h2>Threads</h2>
${roots.length ? "" : html`<p class="hint" data-empty>No threads yet: they appear here as customers write.</p>`}
<ul class="threads" data-threads>${roots.map(threadItemHtml)}</ul>
${top.length ? html`<h2>Notices</h2><ul class="posts">${top.map((p) => postHtml(session, p))}</ul>` : ""}
<h2>Commands</h2>
<form method="post" action="${inboxHref(channel)}/commands" class="composer stack" data-live data-reset>${csrfField(session)}
<label for="command-text">/ig</label>
<input id="command-text" name="text" placeholder="queue mine" maxlength="2000" required>
<div><button type="submit" class="secondary">Run</button></div>
</form>
</div>`,
  );
}

export function threadPage(session: ConsoleSession, posts: WebPost[], told?: string): string {
  const root = posts[0] as WebPost;
  const title = root.view.summary?.title ?? "Thread";
  return page(
    session,
    title,
    html`<p><a href="${inboxHref(root.channel)}">← ${root.channel}</a></p>
<div class="thread" data-stream="${inboxHref(root.channel)}/events?thread=${root.id}" data-thread="${root.id}">
<p class="live hint" aria-live="polite" data-told>${told ?? ""}</p>
<ol class="posts" data-posts>${posts.map((p) => postHtml(session, p))}</ol>
${composer(
  session,
  `${threadHref(root.channel, root.id)}/messages`,
  "Reply",
  html`What you write here reaches the customer. <code>!help</code> lists what else you can type (notes, saved replies with <code>!!name</code>); <code>/ig …</code> runs a command.`,
)}
</div>`,
  );
}

/** The answer to a form posted without the page's script: what the person is told, and the way back. */
export function toldPage(session: ConsoleSession, told: string, back: string): string {
  return page(
    session,
    "Done",
    html`<p class="notice" role="status">${lines(told || "Done.")}</p><p><a href="${back}">Back</a></p>`,
  );
}
