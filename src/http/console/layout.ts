import { type Html, html } from "./html.ts";
import type { ConsoleSession } from "./session.ts";

// The frame every console page shares, and the pages shown to someone not signed in.

/** The console's sections, in the navigation's order: the one list every page's menu is drawn
 * from, so a new page is one line here (and its route). */
const SECTIONS = [
  ["conversations", "/conversations", "Conversations"],
  ["accounts", "/", "Accounts"],
  ["sending", "/sending", "Sending"],
  ["rules", "/rules", "Rules"],
  ["digest", "/digest", "Digest"],
  ["audit", "/audit", "Audit log"],
  ["queue", "/queue", "Queue"],
  ["privacy", "/privacy", "Deletion requests"],
  ["doctor", "/doctor", "Doctor"],
] as const satisfies ReadonlyArray<readonly [string, string, string]>;

export type Section = (typeof SECTIONS)[number][0];

/** Every section's address, for tests and documentation that visit them all. */
export const SECTION_PATHS: readonly string[] = SECTIONS.map(([, href]) => href);

export interface Chrome {
  title: string;
  /** The signed-in session: shows the navigation and the sign-out button. */
  session?: ConsoleSession | undefined;
  current?: Section;
  /** The current page when it is a platform's (`setPlatformPages`). */
  currentPage?: string;
  /** A one-time notice (role=status). */
  notice?: string | undefined;
  narrow?: boolean;
}

/** Pages the chat platforms add to the navigation (the web inbox), set once at start-up. */
let platformPages: readonly { href: string; label: string }[] = [];

export function setPlatformPages(pages: readonly { href: string; label: string }[]): void {
  platformPages = pages;
}

export function layout(chrome: Chrome, body: Html): string {
  const s = chrome.session?.user ? chrome.session : undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${chrome.title} · threadbridge</title>
<link rel="stylesheet" href="/console.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<p class="brand">threadbridge</p>
${
  s
    ? html`<nav aria-label="Console"><ul>${SECTIONS.map(
        ([key, href, label]) =>
          html`<li><a href="${href}"${key === chrome.current ? html` aria-current="page"` : ""}>${label}</a></li>`,
      )}${platformPages.map(
        ({ href, label }) =>
          html`<li><a href="${href}"${href === chrome.currentPage ? html` aria-current="page"` : ""}>${label}</a></li>`,
      )}</ul></nav>
<form method="post" action="/logout">${csrfField(s)}<button type="submit" class="secondary">Sign out <span class="visually-hidden">(${s.user})</span></button></form>`
    : ""
}
</header>
<main id="main" tabindex="-1"${chrome.narrow ? html` class="narrow"` : ""}>
<h1>${chrome.title}</h1>
${chrome.notice ? html`<p class="notice" role="status">${chrome.notice}</p>` : ""}
${body}
</main>
</body>
</html>`.value;
}

export function csrfField(session: ConsoleSession): Html {
  return html`<input type="hidden" name="_csrf" value="${session.csrf}">`;
}

/** Any refusal or failure, said plainly, with where to go next. */
export function problemPage(
  title: string,
  message: string,
  next: { href: string; label: string },
  session?: ConsoleSession,
): string {
  return layout(
    { title, session, narrow: true },
    html`<p class="error" role="alert">${message}</p><p><a href="${next.href}">${next.label}</a></p>`,
  );
}

/** No login is configured: say how to set one, and show nothing else. */
export function setupPage(): string {
  return layout(
    { title: "Set up the console login", narrow: true },
    html`<p>The console is closed until an administrator login is configured. Choose one:</p>
<h2>Named users</h2>
<p>Run <code>npx threadbridge console users add NAME --admin</code> and type the password (or pipe it in);
add each person of the team the same way (without <code>--admin</code> for agents). No restart is needed.</p>
<h2>A shared password</h2>
<ol>
<li>Run <code>npx threadbridge console hash-password</code> and type the password (or pipe it in).</li>
<li>Set the printed hash as <code>CONSOLE_PASSWORD_HASH</code> and restart.</li>
</ol>
<h2>Your single sign-on proxy</h2>
<p>Put an authenticating reverse proxy such as oauth2-proxy in front, set <code>CONSOLE_AUTH_HEADER</code> to the
header it names the user in (for example <code>X-Forwarded-Email</code>) and <code>CONSOLE_TRUSTED_PROXIES</code>
to its address, and optionally <code>CONSOLE_ALLOWED_USERS</code>.</p>
<p class="hint">With <code>DATABASE_URL</code> set, also set <code>CONSOLE_SESSION_SECRET</code> (<code>openssl rand -base64 32</code>).</p>`,
  );
}

/** The sign-in form. `asked.name`: there are named console users, so it asks for a name too;
 * `asked.shared`: the shared admin password works as well (an empty name, or `admin`). */
export function loginPage(
  session: ConsoleSession,
  error?: string,
  asked: { name: boolean; shared: boolean } = { name: false, shared: true },
): string {
  const invalid = error ? html` aria-describedby="login-error" aria-invalid="true"` : "";
  return layout(
    { title: "Sign in", narrow: true },
    html`${error ? html`<p class="error" role="alert" id="login-error">${error}</p>` : ""}
<form method="post" action="/login" class="stack">
${csrfField(session)}
${
  asked.name
    ? html`<div>
<label for="name">Name</label>
<input type="text" id="name" name="name" maxlength="32" autocomplete="username" autocapitalize="none" spellcheck="false"${
        asked.shared ? "" : html` required`
      }${
        asked.shared || error
          ? html` aria-describedby="${[asked.shared ? "name-hint" : "", error ? "login-error" : ""].filter(Boolean).join(" ")}"`
          : ""
      }${error ? html` aria-invalid="true"` : ""}>
${asked.shared ? html`<p class="hint" id="name-hint">Leave it empty for the shared administrator password.</p>` : ""}
</div>`
    : ""
}
<div>
<label for="password">${asked.name ? "Password" : "Administrator password"}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${invalid}>
</div>
<div><button type="submit">Sign in</button></div>
</form>`,
  );
}
