import type { DigestChart } from "../../chat/chat-port.ts";
import type { PlatformDescriptor } from "../../chat/platform.ts";
import type { DigestSpan } from "../../digest/digest-service.ts";
import type { AccountSummary } from "../../instagram/accounts.ts";
import type { PauseOverview } from "../../outbound/pause.ts";
import { type Html, html, time } from "./html.ts";
import { csrfField, layout } from "./layout.ts";
import type { ConnectForm } from "./pages.ts";
import type { ConsoleSession } from "./session.ts";

// The operator's switches (issue 20): pausing and resuming sends, routing an account to another
// channel or platform, and the digest as it would be posted now.

const accountLabel = (a: { username: string | null; id: string }) => (a.username ? `@${a.username}` : a.id);

export interface SendingView {
  pauses: PauseOverview;
  accounts: AccountSummary[];
  outbound: Map<string, { pending: number; held: number }>;
}

function switchForm(
  session: ConsoleSession,
  kind: "pause" | "resume",
  account: string | undefined,
  label: Html,
) {
  return html`<form method="post" action="/sending/${kind}">${csrfField(session)}${
    account ? html`<input type="hidden" name="account" value="${account}">` : ""
  }<button type="submit" class="${kind === "pause" ? "danger" : ""}">${label}</button></form>`;
}

export function sendingPage(session: ConsoleSession, view: SendingView, notice?: string): string {
  const g = view.pauses.global;
  const paused = new Map(view.pauses.accounts.map((p) => [p.account, p]));
  const rows = view.accounts.map((a) => {
    const p = paused.get(a.id);
    const q = view.outbound.get(a.id) ?? { pending: 0, held: 0 };
    const name = accountLabel(a);
    return html`<tr>
<th scope="row">${name}${a.username ? html`<br><span class="muted">${a.id}</span>` : ""}</th>
<td>${p ? html`<span class="badge warn">paused</span><br><span class="muted">by ${p.by}, ${time(p.since)}</span>` : g ? html`<span class="badge warn">held by the global pause</span>` : html`<span class="badge ok">sending</span>`}</td>
<td>${q.pending} pending, ${q.held} held</td>
<td class="actions">${
      p
        ? switchForm(session, "resume", a.id, html`Resume<span class="visually-hidden"> ${name}</span>`)
        : switchForm(session, "pause", a.id, html`Pause<span class="visually-hidden"> ${name}</span>`)
    }</td>
</tr>`;
  });
  return layout(
    { title: "Sending", session, current: "sending", notice },
    html`<p>While sending is paused nothing reaches Instagram: agents' replies wait as “held” in their threads and
go out in order on resume. The same switches as <code>threadbridge pause</code> and <code>resume</code>.</p>
<h2>Every account</h2>
${
  g
    ? html`<p role="status"><span class="badge warn">paused</span> by ${g.by} since ${time(g.since)}.</p>${switchForm(session, "resume", undefined, html`Resume every account`)}`
    : html`<p role="status"><span class="badge ok">sending</span> No global pause.</p>${switchForm(session, "pause", undefined, html`Pause every account`)}`
}
<h2>One account</h2>
${
  view.accounts.length === 0
    ? html`<p>No account is connected yet.</p>`
    : html`<table>
<caption>Each account's switch and its replies waiting to go out</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Sending</th><th scope="col">Replies waiting</th><th scope="col"><span class="visually-hidden">Switch</span></th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}`,
  );
}

export function routePage(
  session: ConsoleSession,
  account: AccountSummary,
  platforms: readonly PlatformDescriptor[],
  form: ConnectForm,
  error?: string,
): string {
  const name = accountLabel(account);
  if (platforms.length === 0)
    return layout(
      { title: `Route ${name}`, session, current: "accounts", narrow: true },
      html`<p class="info" role="note">No chat platform is configured here, so there is nowhere else to send its
threads. Set a platform's credentials and restart.</p>`,
    );
  const described = error ? "route-hint route-error" : "route-hint";
  return layout(
    { title: `Route ${name}`, session, current: "accounts", narrow: true },
    html`<p>Where its new conversations and comment threads go, the same as <code>threadbridge accounts route</code>.
Threads already open stay where they are.</p>
${error ? html`<p class="error" role="alert" id="route-error">${error}</p>` : ""}
<form method="post" action="/accounts/${encodeURIComponent(account.id)}/route" class="stack">
${csrfField(session)}
<fieldset>
<legend>Chat platform</legend>
${platforms.map(
  (p) =>
    html`<div class="choice"><input type="radio" id="platform-${p.name}" name="platform" value="${p.name}" required${
      p.name === form.platform ? html` checked` : ""
    }><label for="platform-${p.name}">${p.label}</label></div>`,
)}
</fieldset>
<div>
<label for="channel">Channel id</label>
<p class="hint" id="route-hint">${platforms.map((p, i) => html`${i === 0 ? "" : " "}${p.label}: ${p.channel.hint}`)}</p>
<input type="text" id="channel" name="channel" required autocomplete="off" spellcheck="false" value="${form.channel ?? ""}" aria-describedby="${described}">
</div>
<div>
<label for="digest">Digest channel (optional)</label>
<p class="hint" id="digest-hint">Where the managers' digest goes; unchanged when empty.</p>
<input type="text" id="digest" name="digest" autocomplete="off" spellcheck="false" value="${form.digest ?? ""}" aria-describedby="digest-hint">
</div>
<div class="row"><button type="submit">Route ${name}</button><a href="/">Cancel</a></div>
</form>`,
  );
}

export const DIGEST_SPANS: ReadonlyArray<[DigestSpan, string]> = [
  ["24h", "The last 24 hours"],
  ["7d", "The last 7 days"],
  ["daily", "Yesterday (as scheduled daily)"],
  ["weekly", "Last week (as scheduled weekly)"],
];

export interface DigestPreview {
  text: string;
  chart: DigestChart | undefined;
}

export function digestPage(
  session: ConsoleSession,
  view: {
    accounts: AccountSummary[];
    account?: string | undefined;
    span: DigestSpan;
    preview?: DigestPreview;
    error?: string;
  },
): string {
  const option = (value: string, label: string, chosen: string | undefined) =>
    html`<option value="${value}"${value === chosen ? html` selected` : ""}>${label}</option>`;
  const p = view.preview;
  return layout(
    { title: "Digest", session, current: "digest" },
    html`<p>The managers' digest as it would be posted now: the chart and the text of <code>threadbridge digest --print</code>,
the same view the chat platforms lay out. Nothing is posted from here.</p>
${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ""}
${
  view.accounts.length === 0
    ? html`<p class="info" role="note">No account is connected yet, so there is no digest to show.</p>`
    : html`<form method="get" action="/digest" class="filters">
<div><label for="d-account">Account</label><select id="d-account" name="account">${view.accounts.map((a) =>
        option(a.id, accountLabel(a), view.account),
      )}</select></div>
<div><label for="d-span">Period</label><select id="d-span" name="span">${DIGEST_SPANS.map(([v, l]) => option(v, l, view.span))}</select></div>
<div><button type="submit">Show</button></div>
</form>`
}
${
  p
    ? html`${
        p.chart
          ? html`<img class="chart" src="data:image/png;base64,${p.chart.png.toString("base64")}" alt="${p.chart.alt}" width="800" height="300">`
          : html`<p class="info" role="note">No chart: no message in this period.</p>`
      }
<pre>${p.text}</pre>`
    : ""
}`,
  );
}
