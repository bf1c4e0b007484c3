import type { AuditRow } from "../../audit/audit-query.ts";
import { type Html, html, time } from "./html.ts";
import { layout } from "./layout.ts";
import type { ConsoleSession } from "./session.ts";

// The audit log with `threadbridge audit`'s filters (account, since, actor, action, limit), read
// through the same query.

export const AUDIT_LIMITS = [50, 200, 1000] as const;

export function auditTable(rows: readonly AuditRow[], caption: string): Html {
  return html`<table>
<caption>${caption}</caption>
<thead><tr><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Account</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr>
<td>${time(r.at)}</td>
<td>${r.actorId ?? r.actorKind}${typeof r.details.actorName === "string" ? html`<br><span class="muted">${r.details.actorName}</span>` : ""}</td>
<td>${r.account ?? ""}</td>
<th scope="row">${r.action}</th>
<td>${r.target ?? ""}</td>
<td>${Object.keys(r.details).length > 0 ? html`<code>${JSON.stringify(r.details)}</code>` : ""}</td>
</tr>`,
  )}</tbody>
</table>`;
}

export interface AuditView {
  form: { account?: string; since?: string; actor?: string; action?: string; limit: number };
  rows: AuditRow[];
  error?: string | undefined;
}

export function auditPage(session: ConsoleSession, view: AuditView): string {
  const f = view.form;
  const field = (name: "account" | "since" | "actor" | "action", label: string, hint: string) =>
    html`<div><label for="a-${name}">${label}</label><input type="text" id="a-${name}" name="${name}" value="${f[name] ?? ""}" autocomplete="off" spellcheck="false" aria-describedby="a-${name}-hint"><br><span class="muted" id="a-${name}-hint">${hint}</span></div>`;
  return layout(
    { title: "Audit log", session, current: "audit" },
    html`<p>What the team, the rules and the service did, newest first: the same entries and filters as
<code>threadbridge audit</code>.</p>
<form method="get" action="/audit" class="filters" role="search">
${field("account", "Account", "Instagram user id")}
${field("since", "Since", "30m, 24h, 7d, 2w or 2026-11-01")}
${field("actor", "Actor", "platform:id (web:ana), a rule id; * ends a prefix")}
${field("action", "Action", "e.g. comment_* or reply_sent")}
<div><label for="a-limit">At most</label><select id="a-limit" name="limit">${AUDIT_LIMITS.map(
      (n) => html`<option value="${n}"${n === f.limit ? html` selected` : ""}>${n}</option>`,
    )}</select></div>
<div><button type="submit">Show</button></div>
</form>
${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ""}
${view.rows.length === 0 ? html`<p>No audit entry matches.</p>` : auditTable(view.rows, `${view.rows.length} entr${view.rows.length === 1 ? "y" : "ies"}, newest first`)}`,
  );
}
