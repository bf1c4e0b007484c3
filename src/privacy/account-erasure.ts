import type { ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import type { Database } from "../db/database.ts";
import { type ChatMirror, type MirrorRemoval, mirroredThreads, removeMirrors } from "./chat-mirrors.ts";

// Erasing a connected business account's data (Meta's data deletion callback, and deauthorized
// accounts after their grace period): its token, conversations, comment threads, messages,
// mentions, webhook events, rules and saved replies, then the chat threads that mirrored them. The
// account row stays as `removed` with no token and no name, so a late webhook is recognised rather
// than re-creating it.

export interface AccountErasureCounts extends MirrorRemoval {
  conversations: number;
  commentThreads: number;
  mentions: number;
  messages: number;
  events: number;
  rules: number;
}

export async function eraseAccount(
  db: Database,
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>,
  account: string,
  onFailure: (item: ChatMirror, err: unknown) => void,
): Promise<AccountErasureCounts> {
  const threads = await mirroredThreads(
    db,
    { conversations: "account_id = $1", commentThreads: "account_id = $1", mentions: "account_id = $1" },
    [account],
  );
  const counts = await db.transaction(async (tx) => {
    const del = async (sql: string) => (await tx.query(sql, [account])).rows.length;
    const messages = await del("DELETE FROM messages WHERE account_id = $1 RETURNING id");
    const conversations = await del("DELETE FROM conversations WHERE account_id = $1 RETURNING id");
    const commentThreads = await del("DELETE FROM comment_threads WHERE account_id = $1 RETURNING id");
    const mentions = await del("DELETE FROM mentions WHERE account_id = $1 RETURNING id");
    const events = await del("DELETE FROM inbound_events WHERE account_id = $1 RETURNING id");
    const rules = await del("DELETE FROM rules WHERE account_id = $1 RETURNING id");
    await tx.query("DELETE FROM rule_firings WHERE account_id = $1", [account]);
    // The account's own saved replies (shared ones belong to every account and stay).
    await tx.query("DELETE FROM snippets WHERE account_id = $1", [account]);
    await tx.query("DELETE FROM customer_notes WHERE account_id = $1", [account]);
    await tx.query("DELETE FROM customer_labels WHERE account_id = $1", [account]);
    // Whose turn it was: nothing about customers, but the account's all the same.
    await tx.query("DELETE FROM assignment_cursors WHERE account_id = $1", [account]);
    await tx.query(
      `UPDATE instagram_accounts SET status = 'removed', token_ciphertext = NULL, token_key_id = NULL, username = NULL,
              name = NULL, picture_url = NULL, rule_settings = NULL, updated_at = now()
        WHERE id = $1`,
      [account],
    );
    return { conversations, commentThreads, mentions, messages, events, rules };
  });
  return { ...counts, ...(await removeMirrors(adapters, { threads, messages: [] }, onFailure)) };
}
