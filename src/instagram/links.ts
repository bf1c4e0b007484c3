// What people paste to name a post or a comment: an id, or an Instagram link as the app's "Copy
// link" gives it. Post links carry the post's shortcode, never its media id, so a post is found
// by matching the shortcode against the permalinks Graph gave for the stored media.

export type InstagramTarget =
  /** A bare Graph id: a comment's or a media's, depending on what the command acts on. */
  | { kind: "id"; id: string }
  /** A post or reel: `/p/<shortcode>/`, `/reel/<shortcode>/`. */
  | { kind: "post"; shortcode: string }
  /** One comment under a post: `/p/<shortcode>/c/<comment id>/`, and a reply to it
   * `/p/<shortcode>/c/<comment id>/r/<reply id>/` (the reply's id is the one acted on). */
  | { kind: "comment"; shortcode: string; commentId: string };

const ID = /^\d{1,32}$/;
const SHORTCODE = /^[A-Za-z0-9_-]{1,64}$/;
const POST_KINDS = new Set(["p", "reel", "reels", "tv"]);
const HOSTS = new Set([
  "instagram.com",
  "www.instagram.com",
  "m.instagram.com",
  "instagr.am",
  "www.instagr.am",
]);

/** Slack may wrap a pasted link as `<url>` or `<url|label>`. */
function unwrap(text: string): string {
  const t = text.trim();
  const wrapped = /^<([^|>]+)(?:\|[^>]*)?>$/.exec(t);
  return wrapped?.[1] ?? t;
}

function asUrl(text: string): URL | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  try {
    const url = new URL(withScheme);
    return url.protocol === "https:" || url.protocol === "http:" ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The post or comment `text` names, or undefined when it is neither an id nor such a link. */
export function parseInstagramTarget(text: string): InstagramTarget | undefined {
  const typed = unwrap(text);
  if (ID.test(typed)) return { kind: "id", id: typed };
  const url = asUrl(typed);
  if (!url || !HOSTS.has(url.hostname.toLowerCase())) return undefined;
  const segments = url.pathname.split("/").filter((s) => s !== "");
  // Newer share links put the author first: /<username>/p/<shortcode>/.
  const at = POST_KINDS.has(segments[0] ?? "") ? 0 : POST_KINDS.has(segments[1] ?? "") ? 1 : -1;
  if (at < 0) return undefined;
  const shortcode = segments[at + 1];
  if (shortcode === undefined || !SHORTCODE.test(shortcode)) return undefined;
  const rest = segments.slice(at + 2);
  if (rest.length === 0) return { kind: "post", shortcode };
  const [c, commentId, r, replyId, ...more] = rest;
  if (c !== "c" || commentId === undefined || !ID.test(commentId)) return undefined;
  if (r === undefined) return { kind: "comment", shortcode, commentId };
  if (r !== "r" || replyId === undefined || !ID.test(replyId) || more.length > 0) return undefined;
  return { kind: "comment", shortcode, commentId: replyId };
}

/** The shortcode of a stored permalink, for matching a pasted post link. */
export function shortcodeOf(permalink: string): string | undefined {
  const target = parseInstagramTarget(permalink);
  return target && target.kind !== "id" ? target.shortcode : undefined;
}
