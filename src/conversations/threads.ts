import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type {
  AgentFile,
  AgentIdentity,
  AgentMessage,
  ChatAdapter,
  ChatMessageRef,
  ChatPlatform,
  ThreadRef,
} from "../chat/chat-port.ts";
import { chatKey } from "../chat/ids.ts";
import type { Database, SqlClient } from "../db/database.ts";
import { pgJson } from "../db/pg-json.ts";
import type { GenericElement } from "../instagram/graph-client.ts";
import type { Mirror } from "../mirror/mirror.ts";
import { enqueueOutbound, outboundKey } from "../outbound/enqueue.ts";
import { checkFile, splitText } from "../outbound/parts.ts";

// A mirrored thread as the inbox's actions see it: which conversation or comment thread a chat
// thread stands for, its account's settings, and the few things every action does with one.

export interface ThreadSettings {
  /** Messages starting with it stay in chat. */
  notePrefix: string;
  /** With `internalByDefault`, only messages starting with it (or sent by the explicit shortcut)
   * reach the customer. */
  replyPrefix: string;
  internalByDefault: boolean;
  /** Who is speaking in a human reply: the brand alone (default), or the agent by name, as a last
   * line `— Ana` (signedText). */
  signature: "brand" | "name";
}

export const DEFAULT_THREAD_SETTINGS: ThreadSettings = {
  notePrefix: "//",
  replyPrefix: ">>",
  internalByDefault: false,
  signature: "brand",
};

export type Thread =
  | { kind: "dm"; id: number; accountId: string; customerId: string; settings: ThreadSettings }
  | { kind: "comment"; id: number; accountId: string; rootCommentId: string; settings: ThreadSettings };

/** Where a thread's chat copy lives, as the tables store it (any part may be missing). */
export interface ChatPlace {
  chat_platform: ChatPlatform | null;
  chat_channel: string | null;
  chat_thread: string | null;
}

export function threadSettings(raw: Partial<ThreadSettings> | null | undefined): ThreadSettings {
  return {
    notePrefix:
      typeof raw?.notePrefix === "string" && raw.notePrefix !== ""
        ? raw.notePrefix
        : DEFAULT_THREAD_SETTINGS.notePrefix,
    replyPrefix:
      typeof raw?.replyPrefix === "string" && raw.replyPrefix !== ""
        ? raw.replyPrefix
        : DEFAULT_THREAD_SETTINGS.replyPrefix,
    internalByDefault: raw?.internalByDefault === true,
    signature: raw?.signature === "name" ? "name" : "brand",
  };
}

/** What the customer receives for a human reply: with the account's `signature: name`, the text
 * and a last line "— Ana" (the agent's display name, as the chat shows it). A reply of files only
 * has no text to sign and goes as it is. */
export function signedText(settings: ThreadSettings, agentName: string, text: string): string {
  const name = agentName.replace(/\s+/g, " ").trim();
  if (settings.signature !== "name" || text.trim() === "" || name === "") return text;
  return `${text}\n— ${name}`;
}

/** What an outbound message carries besides its text and an agent's uploads (outbound/parts.ts). */
export interface ReplyExtras {
  /** Quick replies under the last text part (text options only). */
  quickReplies?: { content_type: "text"; title: string; payload: string }[];
  /** Images or a document sent by their URL, before the text. */
  urlAttachments?: { type: "image" | "file"; url: string }[];
  /** A saved reply's cards, expanded: one generic template after the text. */
  cards?: GenericElement[];
  /** The saved reply it was expanded from (audit, digest). */
  snippet?: string;
  /** The chat post showing what a saved reply sent. */
  snippetPost?: string;
  /** The `!followup` timer that sent it (conversations/timers.ts): a retried timer finds it. */
  followup?: string;
  /** The Instagram message id (mid) the reply quotes; its first part carries it. */
  replyTo?: string;
}

/** An account's thread settings, for an action that reaches a thread without its chat copy. */
export async function accountThreadSettings(db: SqlClient, accountId: string): Promise<ThreadSettings> {
  const { rows } = await db.query<{ settings: Partial<ThreadSettings> | null }>(
    "SELECT settings FROM instagram_accounts WHERE id = $1",
    [accountId],
  );
  return threadSettings(rows[0]?.settings);
}

/** The conversation or comment thread mirrored in `ref`, or undefined for any other thread. */
export async function findThread(
  db: SqlClient,
  platform: ChatPlatform,
  ref: ThreadRef,
): Promise<Thread | undefined> {
  const { rows } = await db.query<{
    kind: "dm" | "comment";
    id: number;
    account_id: string;
    key: string;
    settings: Partial<ThreadSettings> | null;
  }>(
    `SELECT 'dm' AS kind, c.id, c.account_id, c.customer_id AS key, a.settings
       FROM conversations c JOIN instagram_accounts a ON a.id = c.account_id
      WHERE c.chat_platform = $1 AND c.chat_channel = $2 AND c.chat_thread = $3
     UNION ALL
     SELECT 'comment', t.id, t.account_id, t.root_comment_id, a.settings
       FROM comment_threads t JOIN instagram_accounts a ON a.id = t.account_id
      WHERE t.chat_platform = $1 AND t.chat_channel = $2 AND t.chat_thread = $3
     LIMIT 1`,
    [platform, ref.channel, ref.thread],
  );
  const r = rows[0];
  if (!r) return undefined;
  const settings = threadSettings(r.settings);
  return r.kind === "dm"
    ? { kind: "dm", id: r.id, accountId: r.account_id, customerId: r.key, settings }
    : { kind: "comment", id: r.id, accountId: r.account_id, rootCommentId: r.key, settings };
}

/** The audit target naming a thread's customer or comment. */
export function threadTarget(thread: Thread): string {
  return thread.kind === "dm" ? `customer:${thread.customerId}` : `comment:${thread.rootCommentId}`;
}

export function threadTable(thread: Thread): "conversations" | "comment_threads" {
  return thread.kind === "dm" ? "conversations" : "comment_threads";
}

export async function refreshHeader(mirror: Mirror, thread: Thread): Promise<void> {
  if (thread.kind === "dm") await mirror.refreshDmHeader(thread.accountId, thread.customerId);
  else await mirror.refreshCommentHeader(thread.accountId, thread.rootCommentId);
}

/** A system line in a thread's chat copy; nothing when the thread has none yet. */
export async function noticeIn(
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>,
  place: ChatPlace,
  text: string,
): Promise<void> {
  if (!place.chat_platform || !place.chat_channel || !place.chat_thread) return;
  await adapters
    .get(place.chat_platform)
    ?.notice({ channel: place.chat_channel, thread: place.chat_thread }, text);
}

/** Stores an agent's reply (signed as the account's settings say) and its outbound job in one
 * transaction; undefined when this chat message was taken already (a platform retry). */
export async function storeAgentReply(
  db: Database,
  boss: PgBoss,
  thread: Thread,
  agent: AgentIdentity,
  chatRef: ChatMessageRef,
  text: string,
  files: AgentMessage["files"],
  extras: ReplyExtras = {},
): Promise<number | undefined> {
  const sent = signedText(thread.settings, agent.name, text);
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO messages (account_id, conversation_id, comment_thread_id, direction, author_kind, author_id, client_id,
                             text, attachments, details, chat_ref, delivery_state, occurred_at)
       VALUES ($1, $2, $3, 'outbound', 'agent', $4, $5, $6, $7, $8, $9, 'pending', now())
       ON CONFLICT (account_id, chat_ref) WHERE chat_ref IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        thread.accountId,
        thread.kind === "dm" ? thread.id : null,
        thread.kind === "comment" ? thread.id : null,
        chatKey(agent.platform, agent.id),
        uuidv7(),
        // Text parameters reach Postgres storable (a NUL made U+FFFD) at the database layer.
        sent === "" ? null : sent,
        pgJson(files),
        pgJson({ agentName: agent.name, ...extras }),
        chatRef,
      ],
    );
    const id = rows[0]?.id;
    if (id === undefined) return undefined;
    await enqueueOutbound(
      tx,
      boss,
      id,
      outboundKey(
        thread.accountId,
        thread.kind === "dm" ? { customerId: thread.customerId } : { rootCommentId: thread.rootCommentId },
      ),
    );
    return id;
  });
}

/** Why a reply cannot go as it is (a file Instagram refuses, text over ten messages), or undefined. */
export function replyProblem(text: string, files: readonly AgentFile[]): string | undefined {
  for (const file of files) {
    const check = checkFile(file);
    if (!check.ok) return `${check.reason}. Nothing was sent.`;
  }
  if (splitText(text).length > 10)
    return "this reply is over 10,000 bytes; Instagram messages are 1,000 bytes each. Nothing was sent.";
  return undefined;
}

/** The Instagram message a reply may quote: the mid behind chat message `quoted` when it mirrors a
 * message of this conversation still on Instagram (not unsent), else undefined (a note, a notice,
 * a colleague's message, a reply not yet delivered: nothing on Instagram to point at). */
export async function quotedMid(
  db: SqlClient,
  thread: Thread,
  quoted: ChatMessageRef,
): Promise<string | undefined> {
  if (thread.kind !== "dm") return undefined;
  const { rows } = await db.query<{ ig_message_id: string }>(
    `SELECT ig_message_id FROM messages
      WHERE account_id = $1 AND chat_ref = $2 AND conversation_id = $3
        AND ig_message_id IS NOT NULL AND deleted_at IS NULL`,
    [thread.accountId, quoted, thread.id],
  );
  return rows[0]?.ig_message_id;
}

/** The customer opted out of messages (STOP). */
export async function optedOut(db: SqlClient, conversationId: number): Promise<boolean> {
  const { rows } = await db.query<{ consent: string }>("SELECT consent FROM conversations WHERE id = $1", [
    conversationId,
  ]);
  return rows[0]?.consent === "revoked";
}

/** One line for a notice: whitespace folded, at most 80 characters. */
export function preview(text: string): string {
  const t = text.trim().replace(/\s+/g, " ");
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
}
