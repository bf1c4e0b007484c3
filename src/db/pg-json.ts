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

/** Text for a Postgres text parameter (every statement's, through `storableParams`): U+0000 is
 * refused there too, made U+FFFD. (Lone surrogates need nothing: the driver's UTF-8 encoding
 * already writes them as U+FFFD.) */
function pgText(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\ufffd") : text;
}

/**
 * Statement parameters as Postgres can take them: U+0000 in a text parameter, or in an array of
 * them, made U+FFFD as `pgText` does. Postgres refuses the character in text outright (22021), so a
 * stranger's NUL in any field that reaches a statement (a Slack `thread_ts` in a thread's lookup,
 * found by fuzzing; a Discord id; a command's argument) failed the statement and answered the
 * platform 500, which it retries. As a lookup it now finds nothing; as a value it is stored visibly
 * replaced. The same array when nothing needed it: the hot path pays one scan of its strings.
 */
export function storableParams(params: unknown[] | undefined): unknown[] | undefined {
  if (params === undefined) return params;
  let out: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    const fixed = typeof p === "string" ? pgText(p) : Array.isArray(p) ? storableParams(p) : p;
    if (fixed !== p) {
      out ??= params.slice();
      out[i] = fixed;
    }
  }
  return out ?? params;
}
