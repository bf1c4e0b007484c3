// JSON for a Postgres json/jsonb parameter. Postgres refuses the escape `\u0000` and lone UTF-16
// surrogates in jsonb; JSON.stringify writes both as `\uXXXX` escapes (a paired surrogate comes
// out as the character itself, so every surrogate escape it writes is a lone one). One such
// character in a webhook would fail its whole delivery's insert, and Meta would redeliver it
// forever; here it becomes U+FFFD, visibly replaced. An escaped backslash before `u` is data,
// not an escape: only an even run of backslashes may precede the match.

const UNSTORABLE = /(?<!\\)((?:\\\\)*)\\u(?:0000|[dD][89abAB][0-9a-fA-F]{2}|[dD][c-fC-F][0-9a-fA-F]{2})/g;

export function pgJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSTORABLE, "$1\\ufffd");
}

/** Text for a Postgres text parameter: U+0000 refused there too, made U+FFFD. (Lone surrogates
 * need nothing: the driver's UTF-8 encoding already writes them as U+FFFD.) */
export function pgText(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\ufffd") : text;
}
