import type { ChatAdapter, ChatPlatform, ThreadRef } from "../chat/chat-port.ts";
import type { SqlClient } from "../db/database.ts";

// The chat side of an erasure. The rows are erased first and the chat copies after, from a list
// read beforehand: the stored copy is gone even while a platform is down, and what the platform
// refused is counted and reported rather than dropped in silence.

export interface ChatMirror {
  platform: ChatPlatform;
  ref: ThreadRef;
}

export interface MirrorList {
  /** Threads that are wholly about what is erased: they go whole. */
  threads: ChatMirror[];
  /** Single messages in threads that stay (someone's reply under another person's comment). */
  messages: (ChatMirror & { message: string })[];
}

export interface MirrorRemoval {
  chatThreads: number;
  chatMessages: number;
  /** Items a platform refused or could not be reached for; they need deleting by hand. */
  chatFailures: number;
}

/** The mirrored threads of an account's conversations, comment threads and mentions matching
 * `where` (a condition on the table's rows, `$1` being the account). */
export async function mirroredThreads(
  sql: SqlClient,
  where: { conversations: string; commentThreads: string; mentions: string },
  params: unknown[],
): Promise<ChatMirror[]> {
  const { rows } = await sql.query<{ platform: ChatPlatform; channel: string; thread: string }>(
    `SELECT chat_platform AS platform, chat_channel AS channel, chat_thread AS thread FROM conversations
      WHERE chat_thread IS NOT NULL AND ${where.conversations}
     UNION
     SELECT chat_platform, chat_channel, chat_thread FROM comment_threads
      WHERE chat_thread IS NOT NULL AND ${where.commentThreads}
     UNION
     SELECT chat_platform, chat_channel, chat_thread FROM mentions
      WHERE chat_thread IS NOT NULL AND ${where.mentions}`,
    params,
  );
  return rows.map((r) => ({ platform: r.platform, ref: { channel: r.channel, thread: r.thread } }));
}

export async function removeMirrors(
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>,
  list: MirrorList,
  onFailure: (item: ChatMirror, err: unknown) => void,
): Promise<MirrorRemoval> {
  const result: MirrorRemoval = { chatThreads: 0, chatMessages: 0, chatFailures: 0 };
  const attempt = async (item: ChatMirror, run: (adapter: ChatAdapter) => Promise<void>) => {
    const adapter = adapters.get(item.platform);
    if (!adapter) {
      // The platform is no longer configured: nothing can reach it from here.
      result.chatFailures++;
      onFailure(item, new Error(`${item.platform} is not configured`));
      return false;
    }
    try {
      await run(adapter);
      return true;
    } catch (err) {
      result.chatFailures++;
      onFailure(item, err);
      return false;
    }
  };
  for (const m of list.messages)
    if (await attempt(m, (a) => a.remove(m.ref, m.message))) result.chatMessages++;
  for (const t of list.threads) if (await attempt(t, (a) => a.removeThread(t.ref))) result.chatThreads++;
  return result;
}
