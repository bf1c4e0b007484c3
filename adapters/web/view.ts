// What one message of the web inbox shows, as stored in `web_posts.view` and sent to the page: plain
// text and structured parts, never markup (pages.ts escapes everything when it renders them).

export const PLATFORM = "web";

export interface WebButton {
  /** The action id, the same on every platform (`ig_conversation_close`, `ig_comment_hide`…). */
  id: string;
  label: string;
  /** What it acts on (a comment id, an outbound message id). */
  value?: string;
  /** A menu's choices (the snooze menu). */
  options?: { label: string; value: string }[];
  /** Asks before acting (delete). */
  confirm?: string;
}

export interface WebView {
  kind: "root" | "post" | "notice" | "message" | "alert" | "digest";
  /** Everything it says as plain text, one line per line. */
  text: string;
  /** The name and picture it is posted under (mirrored posts). */
  as?: { name: string; icon?: string };
  /** Pictures shown inline (https only). */
  images?: { url: string; alt: string }[];
  links?: { label: string; url: string }[];
  buttons: WebButton[];
  /** Files an agent attached (served to signed-in users by the inbox's router). */
  files?: { id: string; name: string; mimeType: string }[];
  /** The line that marks it as a removed message. */
  removed?: boolean;
  /** A thread root's state, for the inbox's thread list. */
  summary?: { title: string; status?: string; assignee?: string; window?: string };
}

/** A stored message of the inbox. */
export interface WebPost {
  id: string;
  channel: string;
  /** The root's id; undefined for a top-level message. */
  thread: string | undefined;
  author: { kind: "bridge" } | { kind: "person"; id: string };
  view: WebView;
  /** Emoji → who put it there (`bridge` for the adapter). */
  reactions: Record<string, string[]>;
  mark: "pending" | "held" | "sent" | "failed" | undefined;
  edited: boolean;
  at: Date;
}

export const MARK_EMOJI = { pending: "⏳", held: "⏸️", sent: "✅", failed: "⚠️" } as const;
export const MARK_TEXT = {
  pending: "sending…",
  held: "held",
  sent: "delivered",
  failed: "not delivered",
} as const;

/** The inbox's addresses, on the console's origin. */
export const BASE = "/inbox";
export const inboxHref = (channel: string) => `${BASE}/${encodeURIComponent(channel)}`;
export const threadHref = (channel: string, thread: string) => `${inboxHref(channel)}/t/${thread}`;
