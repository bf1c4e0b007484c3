import type { Database, SqlClient } from "../../src/db/database.ts";
import type { WebPost, WebView } from "./view.ts";

// The web inbox's rows (migrations/20261223000000_web_inbox.ts): plain SQL over `web_posts` and
// `web_files`. Ids are the rows' bigserial ids as strings, as the core stores chat refs.

interface Row {
  id: string;
  channel: string;
  thread_id: string | null;
  author_kind: string;
  author_id: string | null;
  view: WebView | string;
  reactions: Record<string, string[]> | string;
  mark: string | null;
  edited: boolean;
  created_at: Date | string;
}

const json = <T>(v: T | string): T => (typeof v === "string" ? (JSON.parse(v) as T) : v);

function toPost(r: Row): WebPost {
  return {
    id: String(r.id),
    channel: r.channel,
    thread: r.thread_id === null ? undefined : String(r.thread_id),
    author: r.author_kind === "person" ? { kind: "person", id: r.author_id ?? "" } : { kind: "bridge" },
    view: json(r.view),
    reactions: json(r.reactions),
    mark: (r.mark ?? undefined) as WebPost["mark"],
    edited: r.edited,
    at: new Date(r.created_at),
  };
}

const COLUMNS =
  "id::text, channel, thread_id::text, author_kind, author_id, view, reactions, mark, edited, created_at";
const ID = /^\d{1,18}$/;
const ERASED = "(erased after the retention period)";

export interface NewPost {
  channel: string;
  /** A thread's root id; `root`: the post opens a thread of its own; undefined: top level. */
  thread: string | "root" | undefined;
  author: WebPost["author"];
  view: WebView;
  key?: string | undefined;
}

export class WebStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async add(p: NewPost, client: SqlClient = this.#db): Promise<WebPost> {
    const params = [
      p.channel,
      p.thread === "root" || p.thread === undefined ? null : p.thread,
      p.author.kind,
      p.author.kind === "person" ? p.author.id : null,
      JSON.stringify(p.view),
      p.key ?? null,
      p.thread === "root",
    ];
    // A root is its own thread: its id is taken first so both columns get it in one statement.
    const { rows } = await client.query<Row>(
      `WITH n AS (SELECT nextval(pg_get_serial_sequence('web_posts', 'id')) AS id)
       INSERT INTO web_posts (id, channel, thread_id, author_kind, author_id, view, idem_key)
       SELECT n.id, $1, CASE WHEN $7::boolean THEN n.id ELSE $2::bigint END, $3, $4, $5::jsonb, $6 FROM n
       RETURNING ${COLUMNS}`,
      params,
    );
    if (p.thread !== "root" && p.thread !== undefined)
      await client.query("UPDATE web_posts SET updated_at = now() WHERE id = $1", [p.thread]);
    return toPost(rows[0] as Row);
  }

  async get(id: string): Promise<WebPost | undefined> {
    if (!ID.test(id)) return undefined;
    const { rows } = await this.#db.query<Row>(`SELECT ${COLUMNS} FROM web_posts WHERE id = $1`, [id]);
    return rows[0] ? toPost(rows[0]) : undefined;
  }

  async byKey(key: string): Promise<WebPost | undefined> {
    const { rows } = await this.#db.query<Row>(`SELECT ${COLUMNS} FROM web_posts WHERE idem_key = $1`, [key]);
    return rows[0] ? toPost(rows[0]) : undefined;
  }

  /** The thread, root first, oldest to newest (at most `limit` of the newest after the root). */
  async thread(thread: string, limit = 500): Promise<WebPost[]> {
    if (!ID.test(thread)) return [];
    const { rows } = await this.#db.query<Row>(
      `(SELECT ${COLUMNS} FROM web_posts WHERE id = $1 AND thread_id = id)
       UNION ALL
       (SELECT * FROM (SELECT ${COLUMNS} FROM web_posts WHERE thread_id = $1 AND id <> $1
         ORDER BY id DESC LIMIT $2) newest ORDER BY id)`,
      [thread, limit],
    );
    return rows.map(toPost);
  }

  /** The channel's thread roots, the most recently active first (a post touches its root). */
  async roots(channel: string, limit = 100): Promise<WebPost[]> {
    const { rows } = await this.#db.query<Row>(
      `SELECT ${COLUMNS} FROM web_posts WHERE channel = $1 AND thread_id = id ORDER BY updated_at DESC, id DESC LIMIT $2`,
      [channel, limit],
    );
    return rows.map(toPost);
  }

  /** The channel's top-level messages (alerts, digests), newest first. */
  async topLevel(channel: string, limit = 20): Promise<WebPost[]> {
    const { rows } = await this.#db.query<Row>(
      `SELECT ${COLUMNS} FROM web_posts WHERE channel = $1 AND thread_id IS NULL ORDER BY id DESC LIMIT $2`,
      [channel, limit],
    );
    return rows.map(toPost);
  }

  async setView(id: string, view: WebView, edited: boolean): Promise<WebPost | undefined> {
    const { rows } = await this.#db.query<Row>(
      `UPDATE web_posts SET view = $2::jsonb, edited = edited OR $3, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, JSON.stringify(view), edited],
    );
    return rows[0] ? toPost(rows[0]) : undefined;
  }

  /** Adds or takes away `who`'s `emoji`, in one statement so concurrent reactions both count. */
  async react(id: string, emoji: string, who: string, on: boolean): Promise<WebPost | undefined> {
    const { rows } = await this.#db.query<Row>(
      on
        ? `UPDATE web_posts SET reactions = jsonb_set(reactions, ARRAY[$2],
             (SELECT coalesce(jsonb_agg(DISTINCT x), '[]'::jsonb) FROM jsonb_array_elements_text(coalesce(reactions->$2, '[]'::jsonb) || to_jsonb($3::text)) x)),
             updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`
        : `UPDATE web_posts SET reactions = CASE
             WHEN (coalesce(reactions->$2, '[]'::jsonb) - $3::text) = '[]'::jsonb THEN reactions - $2
             ELSE jsonb_set(reactions, ARRAY[$2], (reactions->$2) - $3::text) END,
             updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, emoji, who],
    );
    return rows[0] ? toPost(rows[0]) : undefined;
  }

  async setMark(id: string, mark: string | null): Promise<WebPost | undefined> {
    const { rows } = await this.#db.query<Row>(
      `UPDATE web_posts SET mark = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, mark],
    );
    return rows[0] ? toPost(rows[0]) : undefined;
  }

  /** Deletes one message (a thread's root takes the thread with it). */
  async remove(id: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    const { rows } = await this.#db.query("DELETE FROM web_posts WHERE id = $1 RETURNING id", [id]);
    return rows.length > 0;
  }

  async addFile(post: string, file: { name: string; mimeType: string; data: Buffer }): Promise<string> {
    const { rows } = await this.#db.query<{ id: string }>(
      "INSERT INTO web_files (post_id, name, mime_type, data) VALUES ($1, $2, $3, $4) RETURNING id::text",
      [post, file.name, file.mimeType, file.data],
    );
    return String(rows[0]?.id);
  }

  async file(
    id: string,
  ): Promise<{ name: string; mimeType: string; data: Buffer; post: string } | undefined> {
    if (!ID.test(id)) return undefined;
    const { rows } = await this.#db.query<{ name: string; mime_type: string; data: Buffer; post_id: string }>(
      "SELECT name, mime_type, data, post_id::text FROM web_files WHERE id = $1",
      [id],
    );
    const r = rows[0];
    return r
      ? { name: r.name, mimeType: r.mime_type, data: Buffer.from(r.data), post: r.post_id }
      : undefined;
  }

  /** The retention pass (RETENTION_MESSAGE_DAYS): mirrored and typed messages older than `before`
   * keep their place in the thread but lose their text, pictures, links and files; the inbox's
   * top-level alerts and digests go. Roots and notices stay: the core re-renders roots from what
   * it still stores. */
  async purge(before: Date): Promise<number> {
    await this.#db.query(
      "DELETE FROM web_files f USING web_posts p WHERE f.post_id = p.id AND p.created_at < $1",
      [before],
    );
    const { rows: erased } = await this.#db.query(
      `UPDATE web_posts SET view = jsonb_strip_nulls(jsonb_build_object(
           'kind', view->'kind', 'text', $2::text, 'buttons', '[]'::jsonb, 'as', view->'as', 'removed', true)),
           updated_at = now()
        WHERE created_at < $1 AND thread_id IS NOT NULL AND thread_id <> id
          AND view->>'kind' IN ('post', 'message') AND view->>'text' <> $2
        RETURNING id`,
      [before, ERASED],
    );
    const { rows: top } = await this.#db.query(
      "DELETE FROM web_posts WHERE thread_id IS NULL AND created_at < $1 RETURNING id",
      [before],
    );
    return erased.length + top.length;
  }

  /** For a customer's export: every message of `threads` as a plain row (what it says, who wrote
   * it, when, the names of files attached), but those in `leaveOut`. */
  async export(
    threads: readonly { thread: string }[],
    leaveOut: ReadonlySet<string>,
  ): Promise<Record<string, unknown>[]> {
    const ids = threads.map((t) => t.thread).filter((t) => ID.test(t));
    if (ids.length === 0) return [];
    const { rows } = await this.#db.query<Row>(
      `SELECT ${COLUMNS} FROM web_posts WHERE thread_id = ANY($1::bigint[]) ORDER BY thread_id, id`,
      [ids],
    );
    return rows
      .map(toPost)
      .filter((p) => !leaveOut.has(p.id))
      .map((p) => ({
        inbox: p.channel,
        thread: p.thread,
        message: p.id,
        kind: p.view.kind,
        author: p.author.kind === "person" ? p.author.id : (p.view.as?.name ?? "threadbridge"),
        text: p.view.text,
        files: (p.view.files ?? []).map((f) => f.name),
        created_at: p.at,
      }));
  }

  /** The inboxes: channels accounts are routed to, and channels holding messages. */
  async channels(platform: string): Promise<string[]> {
    const { rows } = await this.#db.query<{ channel: string }>(
      `SELECT chat_channel AS channel FROM instagram_accounts WHERE chat_platform = $1 AND chat_channel IS NOT NULL
       UNION SELECT DISTINCT channel FROM web_posts ORDER BY 1`,
      [platform],
    );
    return rows.map((r) => r.channel);
  }
}
