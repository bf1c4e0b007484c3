// Text crossing between Instagram (plain text) and Discord (markdown, where `<@id>`, `@everyone`,
// `# heading`, `[label](url)` and friends mean something). Pure functions.

/** Discord's limits (message content, embeds per message, thread names, webhook names). */
export const CONTENT_MAX = 2000;
export const EMBEDS_MAX = 10;
export const EMBED_DESCRIPTION_MAX = 4096;
export const EMBED_TITLE_MAX = 256;
export const EMBED_FIELD_VALUE_MAX = 1024;
export const EMBED_TOTAL_MAX = 6000;
export const THREAD_NAME_MAX = 100;
export const USERNAME_MAX = 80;

// URLs stay untouched: Discord links them before it reads escapes, so a backslash inside one
// would become part of the link.
const URL_PATTERN = /https?:\/\/[^\s<>]+/g;
// Inline markdown and mention syntax anywhere in a line.
const INLINE_SPECIAL = /[\\*_~`|<>[\]#]/g;
// Block syntax that only counts at the start of a line: lists, numbered lists, subtext (`-#`).
const LINE_START = /^(\s*)([-+]|\d+\.)(?=\s|#)/gm;
const BROADCASTS = /@(everyone|here)\b/gi;

function escapePlain(text: string): string {
  return text
    .replace(INLINE_SPECIAL, (c) => `\\${c}`)
    .replace(BROADCASTS, "@\u200b$1")
    .replace(LINE_START, (_whole, space: string, marker: string) =>
      marker.endsWith(".") ? `${space}${marker.slice(0, -1)}\\.` : `${space}\\${marker}`,
    );
}

/** Instagram text → Discord markdown that shows exactly what the customer wrote and pings nobody
 * (mentions are also switched off with `allowed_mentions`, this keeps them from even rendering). */
export function escapeMarkdown(text: string): string {
  let out = "";
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    out += escapePlain(text.slice(last, start)) + match[0];
    last = start + match[0].length;
  }
  return out + escapePlain(text.slice(last));
}

/** Text for places Discord shows without markdown (thread names, webhook usernames, embed
 * author names): one line, trimmed. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** A URL Discord will accept in an embed (http or https), or undefined. */
export function safeUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return undefined;
  return parsed.href;
}

/** `[label](<url>)` (a masked link without a preview), or the escaped label when the URL is
 * unusable. */
export function maskedLink(url: string | undefined, label: string): string {
  const safe = safeUrl(url);
  const shown = escapeMarkdown(oneLine(label)).replace(/[[\]]/g, "") || "link";
  return safe ? `[${shown}](<${safe.replace(/[<>()\s]/g, encodeURIComponent)}>)` : shown;
}

/** Shortens text to `max` characters (code points) with an ellipsis. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

/** Shortens already escaped markdown to at most `max` UTF-16 units without leaving a dangling
 * backslash, a split surrogate pair or a cut URL behind. */
export function truncateMarkdown(text: string, max: number): string {
  if (text.length <= max) return text;
  const [first] = splitMarkdown(text, max - 1);
  return `${first ?? ""}…`;
}

/** Cuts escaped markdown into pieces of at most `max` characters, preferring line breaks, then
 * spaces, and never splitting an escape, a surrogate pair or (when it can help it) a URL. */
export function splitMarkdown(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = max;
    const lineBreak = rest.lastIndexOf("\n", max - 1);
    const space = rest.lastIndexOf(" ", max - 1);
    if (lineBreak > max / 2) cut = lineBreak + 1;
    else if (space > max / 2) cut = space + 1;
    else {
      // No break in the second half: cut hard, but not inside a URL that started in it.
      const url = lastUrlStart(rest, cut);
      if (url > max / 2) cut = url;
    }
    // A trailing odd run of backslashes would escape the next piece's first character.
    let slashes = 0;
    while (cut - 1 - slashes >= 0 && rest[cut - 1 - slashes] === "\\") slashes += 1;
    if (slashes % 2 === 1) cut -= 1;
    const before = rest.charCodeAt(cut - 1);
    if (before >= 0xd800 && before <= 0xdbff) cut -= 1;
    pieces.push(rest.slice(0, cut).replace(/\n+$/, ""));
    rest = rest.slice(cut).replace(/^\n+/, "");
  }
  if (rest.length > 0) pieces.push(rest);
  return pieces.filter((p) => p.length > 0);
}

function lastUrlStart(text: string, before: number): number {
  let found = -1;
  for (const match of text.slice(0, before).matchAll(/https?:\/\/[^\s<>]*$/g)) found = match.index ?? -1;
  return found;
}

// ——— Inward: what an agent wrote on Discord → what the customer reads on Instagram ———

export interface MentionNames {
  user(id: string): string | undefined;
  role(id: string): string | undefined;
  channel(id: string): string | undefined;
}

function formatTimestamp(unix: string): string {
  const ms = Number(unix) * 1000;
  if (!Number.isFinite(ms)) return unix;
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * Agent markdown → plain text for Instagram. Mentions become `@name`, custom emoji `:name:`,
 * timestamps a UTC date, masked links `label (url)`, `<url>` the bare URL, and backslash escapes
 * are undone. Other formatting characters stay: Instagram shows them literally and they read well.
 */
export function toPlainText(markdown: string, names: MentionNames): string {
  return markdown
    .replace(/<(@[!&]?|#)(\d{5,25})>/g, (_whole, kind: string, id: string) => {
      if (kind === "#") return `#${names.channel(id) ?? "channel"}`;
      if (kind === "@&") return `@${names.role(id) ?? "role"}`;
      return `@${names.user(id) ?? "user"}`;
    })
    .replace(/<a?:([A-Za-z0-9_~]+):\d+>/g, ":$1:")
    .replace(/<t:(-?\d+)(?::[tTdDfFR])?>/g, (_whole, unix: string) => formatTimestamp(unix))
    .replace(/<\/([^:>]+):\d+>/g, "/$1")
    .replace(/\[([^\]\n]+)\]\(<?(https?:\/\/[^\s)>]+)>?\)/g, (_whole, label: string, url: string) => {
      const bare = (s: string) => s.replace(/^https?:\/\//, "").replace(/\/$/, "");
      return bare(label) === bare(url) ? url : `${label} (${url})`;
    })
    .replace(/<(https?:\/\/[^\s>]+)>/g, "$1")
    .replace(/\\([^\sA-Za-z0-9])/g, "$1");
}
