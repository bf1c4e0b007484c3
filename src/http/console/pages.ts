import type { PlatformDescriptor } from "../../chat/platform.ts";
import { platformLabel } from "../../chat/platforms.ts";
import type { DoctorCheck } from "../../health/doctor.ts";
import type { AccountSummary, ChatPlatform } from "../../instagram/accounts.ts";
import type { DeadLetter } from "../../queue/dead-letters.ts";
import { type Html, html, time } from "./html.ts";
import { csrfField, layout } from "./layout.ts";
import type { PendingAccount } from "./pending-logins.ts";
import type { ConsoleSession } from "./session.ts";

// The console's pages. Every value shown goes through `html`, which escapes it; no page ever
// receives a token to show.

const OR = new Intl.ListFormat("en", { type: "disjunction" });

function statusBadge(status: string): Html {
  const tone =
    status === "active" ? "ok" : status === "token_invalid" || status === "revoked" ? "bad" : "warn";
  return html`<span class="badge ${tone}">${status.replace("_", " ")}</span>`;
}

function destination(a: AccountSummary, platforms: readonly PlatformDescriptor[]): Html {
  if (!a.chat) return html`<span class="muted">none</span>`;
  return html`${platformLabel(platforms, a.chat.platform)} <code>${a.chat.channel}</code>${
    a.digestChannel ? html`<br><span class="muted">digest <code>${a.digestChannel}</code></span>` : ""
  }`;
}

function tokenExpiry(a: AccountSummary): Html {
  if (!a.hasToken) return html`<span class="muted">no token</span>`;
  if (!a.tokenExpiresAt) return html`<span class="muted">unknown</span>`;
  const days = Math.floor((a.tokenExpiresAt.getTime() - Date.now()) / 86_400_000);
  const soon = days < 7;
  return html`${time(a.tokenExpiresAt)}<br><span class="${soon ? "badge bad" : "muted"}">${
    days < 0 ? "expired" : `in ${days} day${days === 1 ? "" : "s"}`
  }</span>`;
}

export interface AccountsView {
  accounts: AccountSummary[];
  /** Every chat platform of this build, for the destinations' labels. */
  platforms: readonly PlatformDescriptor[];
  /** How to turn Business Login on, when it is off. */
  businessLoginOff?: string | undefined;
}

export function accountsPage(session: ConsoleSession, view: AccountsView, notice?: string): string {
  const connect = view.businessLoginOff
    ? html`<p class="info" role="note">Connecting from here is off: ${view.businessLoginOff}</p>`
    : html`<p><a class="button" href="/oauth/instagram/start">Connect an Instagram account</a></p>`;
  const rows = view.accounts.map((a) => {
    const name = a.username ? `@${a.username}` : a.id;
    const connected = a.hasToken && a.status !== "removed";
    return html`<tr>
<th scope="row">${name}<br><span class="muted">${a.id}</span></th>
<td>${statusBadge(a.status)}${a.tokenProblem ? html`<br><span class="muted">${a.tokenProblem}</span>` : ""}</td>
<td>${destination(a, view.platforms)}</td>
<td>${tokenExpiry(a)}</td>
<td>${time(a.lastEventAt)}</td>
<td class="actions">${
      a.status !== "removed"
        ? html`<a href="/conversations?account=${encodeURIComponent(a.id)}">Conversations<span class="visually-hidden"> of ${name}</span></a><br><a href="/accounts/${encodeURIComponent(a.id)}/route">Route<span class="visually-hidden"> ${name}</span></a><br>`
        : ""
    }${
      connected
        ? html`<a href="/accounts/${encodeURIComponent(a.id)}/disconnect">Disconnect<span class="visually-hidden"> ${name}</span></a>`
        : view.businessLoginOff
          ? ""
          : html`<a href="/oauth/instagram/start">${a.status === "unconfigured" ? "Connect" : "Reconnect"}<span class="visually-hidden"> ${name}</span></a>`
    }</td>
</tr>`;
  });
  return layout(
    { title: "Instagram accounts", session, current: "accounts", notice },
    html`${connect}
${
  view.accounts.length === 0
    ? html`<p>No account is connected yet.</p>`
    : html`<table>
<caption>Connected Instagram professional accounts</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Status</th><th scope="col">Threads go to</th><th scope="col">Token expires</th><th scope="col">Last event</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}`,
  );
}

export function disconnectPage(session: ConsoleSession, a: AccountSummary): string {
  const name = a.username ? `@${a.username}` : a.id;
  return layout(
    { title: `Disconnect ${name}?`, session, current: "accounts", narrow: true },
    html`<p>threadbridge deletes this account's token and asks Instagram to stop sending its events. Its
conversations and history stay, and its chat threads stay where they are. You can connect it again later.</p>
<form method="post" action="/accounts/${encodeURIComponent(a.id)}/disconnect" class="row">
${csrfField(session)}
<button type="submit" class="danger">Disconnect ${name}</button>
<a href="/">Cancel</a>
</form>`,
  );
}

export interface QueueView {
  queued: number;
  dead: DeadLetter[];
  deadTotal: number;
  outbound: Array<{ account: string; pending: number; held: number }>;
}

export function queuePage(session: ConsoleSession, view: QueueView, notice?: string): string {
  const dead = view.dead.map(
    (d) => html`<tr>
<th scope="row">${d.id}</th>
<td>${d.accountId}</td>
<td>${d.kind}</td>
<td><code>${d.threadKey}</code></td>
<td>${d.attempts}</td>
<td>${time(d.receivedAt)}</td>
<td>${d.lastError ?? ""}</td>
<td class="actions">
<form method="post" action="/queue/replay">${csrfField(session)}<input type="hidden" name="id" value="${d.id}"><button type="submit" class="secondary">Replay<span class="visually-hidden"> event ${d.id}</span></button></form>
<form method="post" action="/queue/discard">${csrfField(session)}<input type="hidden" name="id" value="${d.id}"><button type="submit" class="secondary">Discard<span class="visually-hidden"> event ${d.id}</span></button></form>
</td>
</tr>`,
  );
  return layout(
    { title: "Queue", session, current: "queue", notice },
    html`<dl class="counts">
<dt>Inbound events waiting</dt><dd>${view.queued}</dd>
<dt>Dead letters</dt><dd>${view.deadTotal}</dd>
${view.outbound.map(
  (o) =>
    html`<dt>Replies to send for <code>${o.account}</code></dt><dd>${o.pending} pending, ${o.held} held</dd>`,
)}
</dl>
<h2>Dead letters</h2>
<p class="hint">Events that failed past their retries. Replay puts one back in line, in its conversation's order;
discard lets its conversation move on without it.</p>
${
  view.dead.length === 0
    ? html`<p>None.</p>`
    : html`<form method="post" action="/queue/replay">${csrfField(session)}<input type="hidden" name="all" value="1"><button type="submit">Replay all ${view.deadTotal}</button></form>
<table>
<caption>Dead letters, oldest first${view.deadTotal > view.dead.length ? ` (first ${view.dead.length} of ${view.deadTotal})` : ""}</caption>
<thead><tr><th scope="col">Event</th><th scope="col">Account</th><th scope="col">Kind</th><th scope="col">Thread</th><th scope="col">Attempts</th><th scope="col">Received</th><th scope="col">Last error</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${dead}</tbody>
</table>`
}`,
  );
}

export interface DeletionRequest {
  code: string;
  status: string;
  requestedAt: Date;
  completedAt: Date | null;
}

const DELETION_STATUS: Record<string, string> = {
  pending: "in progress",
  completed: "completed",
  nothing_stored: "nothing stored",
};

export function privacyPage(session: ConsoleSession, requests: DeletionRequest[], error?: string): string {
  return layout(
    { title: "Data deletion requests", session, current: "privacy" },
    html`<p>Meta sends these when someone asks Instagram to delete their data. Each has a public status page at
<code>/privacy/deletion/CODE</code>, the address Meta shows that person.</p>
<form method="get" action="/privacy/lookup" class="row">
<label for="code">Confirmation code</label>
<input type="text" id="code" name="code" autocomplete="off" spellcheck="false"${
      error ? html` aria-describedby="code-error" aria-invalid="true"` : ""
    }>
<button type="submit">Open status page</button>
</form>
${error ? html`<p class="error" role="alert" id="code-error">${error}</p>` : ""}
${
  requests.length === 0
    ? html`<p>No request yet.</p>`
    : html`<table>
<caption>The latest requests</caption>
<thead><tr><th scope="col">Confirmation code</th><th scope="col">Status</th><th scope="col">Received</th><th scope="col">Completed</th></tr></thead>
<tbody>${requests.map(
        (r) => html`<tr>
<th scope="row"><a href="/privacy/deletion/${encodeURIComponent(r.code)}">${r.code}</a></th>
<td>${DELETION_STATUS[r.status] ?? r.status}</td>
<td>${time(r.requestedAt)}</td>
<td>${time(r.completedAt, "—")}</td>
</tr>`,
      )}</tbody>
</table>`
}`,
  );
}

export interface ConnectForm {
  platform?: ChatPlatform | undefined;
  channel?: string | undefined;
  digest?: string | undefined;
}

export function connectPage(
  session: ConsoleSession,
  pending: PendingAccount,
  chat: { offered: readonly PlatformDescriptor[]; all: readonly PlatformDescriptor[] },
  form: ConnectForm,
  error?: string,
): string {
  const name = `@${pending.username}`;
  const platforms = chat.offered;
  if (platforms.length === 0)
    return layout(
      { title: `Where should ${name} go?`, session, current: "accounts", narrow: true },
      html`<p class="error" role="alert">No chat platform (${OR.format(chat.all.map((p) => p.label))}) is
configured, so there is nowhere to send its threads. Set ${chat.all.map(
        (p, i) =>
          html`${i === 0 ? "" : ", or "}${p.credentials.map(
            (v, j) =>
              html`${j === 0 ? "" : j === p.credentials.length - 1 ? " and " : ", "}<code>${v}</code>`,
          )}`,
      )}, restart, and connect the account again.</p>`,
    );
  const chosen = form.platform ?? (platforms.length === 1 ? platforms[0]?.name : undefined);
  const described = error ? "channel-hint connect-error" : "channel-hint";
  return layout(
    { title: `Where should ${name} go?`, session, current: "accounts", narrow: true },
    html`<p>Instagram connected <strong>${name}</strong> (<code>${pending.igUserId}</code>); its token is stored
encrypted and expires ${time(pending.tokenExpiresAt)}. Choose the channel its conversations and comment threads
go to.</p>
${error ? html`<p class="error" role="alert" id="connect-error">${error}</p>` : ""}
<form method="post" action="/oauth/instagram/connect" class="stack">
${csrfField(session)}
<fieldset>
<legend>Chat platform</legend>
${platforms.map(
  (p) =>
    html`<div class="choice"><input type="radio" id="platform-${p.name}" name="platform" value="${p.name}" required${
      p.name === chosen ? html` checked` : ""
    }><label for="platform-${p.name}">${p.label}</label></div>`,
)}
</fieldset>
<div>
<label for="channel">Channel id</label>
<p class="hint" id="channel-hint">${platforms.map((p, i) => html`${i === 0 ? "" : " "}${p.label}: ${p.channel.hint}`)}</p>
<input type="text" id="channel" name="channel" required autocomplete="off" spellcheck="false" value="${form.channel ?? ""}" aria-describedby="${described}">
</div>
<div>
<label for="digest">Digest channel (optional)</label>
<p class="hint" id="digest-hint">Where the managers' digest goes; its own channel when empty.</p>
<input type="text" id="digest" name="digest" autocomplete="off" spellcheck="false" value="${form.digest ?? ""}" aria-describedby="digest-hint">
</div>
<div class="row"><button type="submit">Connect ${name}</button><a href="/">Cancel</a></div>
</form>`,
  );
}

/** `threadbridge doctor`'s checks, run now inside the service: read-only, so no form. */
export function doctorPage(session: ConsoleSession, checks: readonly DoctorCheck[], ranAt: Date): string {
  const failing = checks.filter((c) => !c.ok).length;
  const rows = checks.map((c) => {
    const [tone, mark, word] = !c.ok
      ? ["bad", "✗", "failing"]
      : c.warning
        ? ["warn", "⚠", "soon"]
        : ["ok", "✓", "ok"];
    return html`<tr>
<td><span class="badge ${tone}"><span aria-hidden="true">${mark}</span> ${word}</span></td>
<th scope="row">${c.check}</th>
<td>${c.detail}${c.fix && (!c.ok || c.warning) ? html`<br><strong>Fix:</strong> ${c.fix}` : ""}</td>
</tr>`;
  });
  return layout(
    { title: "Doctor", session, current: "doctor" },
    html`<p role="status">${
      failing === 0
        ? "Every check passes."
        : `${failing} of ${checks.length} check${checks.length === 1 ? "" : "s"} failing.`
    } Run ${time(ranAt)}; reload the page to check again (the same as <code>threadbridge doctor</code>).</p>
<table>
<caption>Checks of the database, Redis, each Instagram account, the webhook URL and each chat platform and channel</caption>
<thead><tr><th scope="col">Result</th><th scope="col">Check</th><th scope="col">Found</th></tr></thead>
<tbody>${rows}</tbody>
</table>`,
  );
}
