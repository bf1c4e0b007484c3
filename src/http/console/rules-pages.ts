import type { StoredRule } from "../../rules/store.ts";
import { type Html, html } from "./html.ts";
import { csrfField, layout } from "./layout.ts";
import type { ConsoleSession } from "./session.ts";

// The auto-reply rules (issue 20): the list `threadbridge rules list` prints, a switch per rule, and
// the dry run of `threadbridge rules test` against the stored rules.

export interface DryRun {
  /** What was tested, for the heading: "the pasted webhook", "event 42". */
  subject: string;
  /** One block per event: its kind and account, and one line per decision. */
  events: Array<{ title: string; lines: string[] }>;
}

export interface RulesView {
  rules: StoredRule[];
  form: { webhook?: string; event?: string };
  dryRun?: DryRun | undefined;
  error?: string | undefined;
}

function ruleRow(session: ConsoleSession, { rule, source, enabled }: StoredRule): Html {
  const verb = enabled ? "Disable" : "Enable";
  return html`<tr id="rule-${rule.id}">
<td><span class="badge ${enabled ? "ok" : ""}">${enabled ? "on" : "off"}</span></td>
<th scope="row">${rule.id}<br><span class="muted">${rule.name}</span></th>
<td>${rule.account === "*" ? "every account" : rule.account}</td>
<td>${rule.priority}</td>
<td>${rule.trigger.type}</td>
<td>${rule.actions.map((a) => a.type).join(", ")}</td>
<td>${source ? html`<code>${source}</code>` : html`<span class="muted">—</span>`}</td>
<td class="actions"><form method="post" action="/rules/${encodeURIComponent(rule.id)}/${enabled ? "disable" : "enable"}">${csrfField(session)}<button type="submit" class="secondary">${verb}<span class="visually-hidden"> ${rule.id}</span></button></form></td>
</tr>`;
}

export function rulesPage(session: ConsoleSession, view: RulesView, notice?: string): string {
  return layout(
    { title: "Rules", session, current: "rules", notice },
    html`${
      view.rules.length === 0
        ? html`<p class="info" role="note">No rule is stored yet. Write a rule file and load it with
<code>threadbridge rules import FILE</code>.</p>`
        : html`<table>
<caption>The rules, in the order they are considered per account</caption>
<thead><tr><th scope="col">State</th><th scope="col">Rule</th><th scope="col">Account</th><th scope="col">Priority</th><th scope="col">Trigger</th><th scope="col">Actions</th><th scope="col">File</th><th scope="col"><span class="visually-hidden">Switch</span></th></tr></thead>
<tbody>${view.rules.map((r) => ruleRow(session, r))}</tbody>
</table>`
    }
<h2 id="dry-run">Dry run</h2>
<p>Which stored rules would fire on an event, and what they would send: the same as
<code>threadbridge rules test</code>. Nothing is sent or stored.</p>
${view.error ? html`<p class="error" role="alert" id="dry-run-error">${view.error}</p>` : ""}
${
  view.dryRun
    ? html`<section aria-labelledby="dry-run-result"><h3 id="dry-run-result">Result for ${view.dryRun.subject}</h3>${view.dryRun.events.map(
        (e) => html`<p><strong>${e.title}</strong></p><ul>${e.lines.map((l) => html`<li>${l}</li>`)}</ul>`,
      )}</section>`
    : ""
}
<form method="post" action="/rules/test" class="stack">
${csrfField(session)}
<div>
<label for="webhook">A webhook body, as Instagram sends it (JSON)</label>
<textarea id="webhook" name="webhook" rows="8" spellcheck="false"${view.error ? html` aria-describedby="dry-run-error"` : ""}>${view.form.webhook ?? ""}</textarea>
</div>
<div>
<label for="event">Or a stored event's id</label>
<p class="hint" id="event-hint">As the queue's dead letters and the logs name them.</p>
<input type="text" id="event" name="event" inputmode="numeric" autocomplete="off" value="${view.form.event ?? ""}" aria-describedby="event-hint">
</div>
<div><button type="submit">Test the rules</button></div>
</form>`,
  );
}
