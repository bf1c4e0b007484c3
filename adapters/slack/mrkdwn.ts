// Text crossing between Instagram (plain text) and Slack (mrkdwn, where `&`, `<` and `>` are
// control characters and `<!channel>`-style tokens notify people).

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

// A zero-width space after the `@` keeps Slack from ever reading a customer's "@channel" as a
// broadcast, even where it parses bare mentions (fallback text, non-verbatim blocks).
const BROADCASTS = /@(channel|here|everyone)\b/gi;

/** Instagram text → mrkdwn that shows exactly what the customer wrote and can ping nobody. */
export function escapeText(text: string): string {
  return text.replace(/[&<>]/g, (c) => ENTITIES[c] ?? c).replace(BROADCASTS, "@\u200b$1");
}

/** A URL safe inside `<url|label>`, or undefined when it is not http(s). */
export function safeUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return undefined;
  return parsed.href.replace(/[&<>|]/g, (c) => (c === "|" ? "%7C" : (ENTITIES[c] ?? c)));
}

/** `<url|label>`, or the escaped label alone when the URL is unusable. */
export function link(url: string | undefined, label: string): string {
  const safe = url === undefined ? undefined : safeUrl(url);
  return safe ? `<${safe}|${escapeText(label)}>` : escapeText(label);
}

/** Cuts escaped mrkdwn into pieces of at most `max` characters, preferring line and word breaks and
 * never splitting an entity or a surrogate pair. */
export function splitMrkdwn(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = max;
    const lineBreak = rest.lastIndexOf("\n", max);
    const space = rest.lastIndexOf(" ", max);
    if (lineBreak > max / 2) cut = lineBreak + 1;
    else if (space > max / 2) cut = space + 1;
    const amp = rest.lastIndexOf("&", cut - 1);
    if (amp >= 0 && amp > cut - 6 && !rest.slice(amp, cut).includes(";")) cut = amp;
    const before = rest.charCodeAt(cut - 1);
    if (before >= 0xd800 && before <= 0xdbff) cut -= 1;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0) pieces.push(rest);
  return pieces;
}

/** Shortens plain text to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/** Every `<@U…>` user id mentioned in agent mrkdwn, to resolve names before `toPlainText`. */
export function mentionedUsers(mrkdwn: string): string[] {
  return [...new Set(Array.from(mrkdwn.matchAll(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g), (m) => m[1] as string))];
}

function unescapeEntities(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

const SPECIAL: Record<string, string> = { here: "@here", channel: "@channel", everyone: "@everyone" };

/**
 * Agent mrkdwn → what the customer reads on Instagram. Mentions become `@name`, links
 * `label (url)` (or the bare URL when the label is the URL), entities are unescaped; `*bold*` and
 * other formatting characters stay, since Instagram shows them literally and they still read well.
 */
export function toPlainText(mrkdwn: string, userName: (id: string) => string | undefined): string {
  const replaced = mrkdwn.replace(/<([^<>]*)>/g, (_whole, inner: string) => {
    const bar = inner.indexOf("|");
    const target = bar < 0 ? inner : inner.slice(0, bar);
    const label = bar < 0 ? undefined : inner.slice(bar + 1);
    if (target.startsWith("@")) {
      const name = label?.replace(/^@/, "") || userName(target.slice(1));
      return name ? `@${name}` : "";
    }
    if (target.startsWith("#")) return label ? `#${label}` : "#channel";
    if (target.startsWith("!")) {
      const keyword = target.slice(1).split("^")[0] ?? "";
      return SPECIAL[keyword] ?? label ?? "";
    }
    const url = target.startsWith("mailto:") ? target.slice("mailto:".length) : target;
    if (!label) return url;
    const bareUrl = url.replace(/^https?:\/\//, "").replace(/\/$/, "");
    const bareLabel = label.replace(/^https?:\/\//, "").replace(/\/$/, "");
    return bareLabel === bareUrl ? url : `${label} (${url})`;
  });
  return unescapeEntities(replaced);
}
