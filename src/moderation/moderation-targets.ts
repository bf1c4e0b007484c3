import type { ChatPlace } from "../conversations/threads.ts";
import type { SqlClient } from "../db/database.ts";
import { shortcodeOf } from "../instagram/links.ts";

// The comments and posts moderation can act on, found in what is stored: a comment by its id, a
// post by its media id or by the shortcode of its link. Only media with a stored comment thread
// is known, and that thread names the account that owns it.

export interface StoredComment extends ChatPlace {
  id: number;
  account_id: string;
  media_id: string;
  root_comment_id: string;
  private_reply_sent_at: Date | null;
  live: boolean;
}

export interface StoredMedia {
  accountId: string;
  mediaId: string;
  /** A live broadcast: Instagram allows no moderation on it. */
  live: boolean;
  permalink?: string;
}

/** The comment thread holding comment `commentId`, as its root or as one of its replies. */
export async function commentThreadOf(db: SqlClient, commentId: string): Promise<StoredComment | undefined> {
  const { rows } = await db.query<StoredComment>(
    `SELECT t.id, t.account_id, t.media_id, t.root_comment_id, t.private_reply_sent_at, t.live,
            t.chat_platform, t.chat_channel, t.chat_thread
       FROM comment_threads t
      WHERE t.root_comment_id = $1
         OR t.id = (SELECT comment_thread_id FROM messages WHERE ig_message_id = $1 AND comment_thread_id IS NOT NULL LIMIT 1)
      LIMIT 1`,
    [commentId],
  );
  return rows[0];
}

const MEDIA_COLUMNS = `account_id, media_id,
       bool_or(live OR upper(COALESCE(media->>'mediaProductType', media_product_type, '')) = 'LIVE') AS live,
       max(media->>'permalink') AS permalink`;

interface MediaRow {
  account_id: string;
  media_id: string;
  live: boolean;
  permalink: string | null;
}

function toMedia(r: MediaRow): StoredMedia {
  return {
    accountId: r.account_id,
    mediaId: r.media_id,
    live: r.live,
    ...(r.permalink ? { permalink: r.permalink } : {}),
  };
}

export async function mediaById(db: SqlClient, mediaId: string): Promise<StoredMedia | undefined> {
  const { rows } = await db.query<MediaRow>(
    `SELECT ${MEDIA_COLUMNS} FROM comment_threads WHERE media_id = $1 GROUP BY account_id, media_id LIMIT 1`,
    [mediaId],
  );
  return rows[0] && toMedia(rows[0]);
}

/** The stored media whose permalink has `shortcode` (a post link names no media id). */
export async function mediaByShortcode(db: SqlClient, shortcode: string): Promise<StoredMedia | undefined> {
  const { rows } = await db.query<MediaRow>(
    `SELECT ${MEDIA_COLUMNS} FROM comment_threads WHERE strpos(media->>'permalink', $1) > 0
      GROUP BY account_id, media_id`,
    [shortcode],
  );
  // strpos only narrows: "abc" is inside ".../p/xabcd/" too.
  const row = rows.find((r) => r.permalink !== null && shortcodeOf(r.permalink) === shortcode);
  return row && toMedia(row);
}

/** The posts, most recently active first, whose link is not stored (Instagram did not answer
 * when their first thread opened). */
export async function mediaWithoutLink(
  db: SqlClient,
  limit: number,
): Promise<Array<{ accountId: string; mediaId: string }>> {
  const { rows } = await db.query<{ account_id: string; media_id: string }>(
    `SELECT account_id, media_id FROM comment_threads WHERE media->>'permalink' IS NULL
      GROUP BY account_id, media_id ORDER BY max(updated_at) DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ accountId: r.account_id, mediaId: r.media_id }));
}

/** The chat threads of a media's most recent comment threads, where "who did what" is told. */
export async function recentThreadsOf(
  db: SqlClient,
  media: StoredMedia,
  limit: number,
): Promise<ChatPlace[]> {
  const { rows } = await db.query<ChatPlace>(
    `SELECT chat_platform, chat_channel, chat_thread FROM comment_threads
      WHERE account_id = $1 AND media_id = $2 AND chat_thread IS NOT NULL
      ORDER BY root_commented_at DESC NULLS LAST, id DESC LIMIT $3`,
    [media.accountId, media.mediaId, limit],
  );
  return rows;
}
