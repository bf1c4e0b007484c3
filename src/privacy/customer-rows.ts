// Which rows are "about" one Instagram user of one account. Erasure (`/ig forget`) and export
// (`/ig export`) both read these, so what a customer can ask to see is exactly what they can ask
// to have erased. Every predicate takes $1 = account id and $2 = the customer's IGSID.

/** Their DM conversation(s). */
export const CONVERSATION_ROWS = "account_id = $1 AND customer_id = $2";

/** Comment threads whose top-level comment they wrote. */
export const COMMENT_THREAD_ROWS = "account_id = $1 AND author_id = $2";

/** Mentions of the account they wrote (a comment or a caption naming it). */
export const MENTION_ROWS = "account_id = $1 AND author_id = $2";

/** Messages of their conversation and of their comment threads (every author, both directions). */
export const THREAD_MESSAGE_ROWS = `account_id = $1 AND (
    conversation_id IN (SELECT id FROM conversations WHERE ${CONVERSATION_ROWS})
    OR comment_thread_id IN (SELECT id FROM comment_threads WHERE ${COMMENT_THREAD_ROWS}))`;

/** Their comments in other people's comment threads: over `messages m, comment_threads t`. */
export const STRAY_COMMENT_ROWS = `m.comment_thread_id = t.id AND m.account_id = $1 AND m.author_id = $2
    AND t.author_id IS DISTINCT FROM $2`;

/** Stored webhook events of their conversation, or that they authored. */
export const EVENT_ROWS = `account_id = $1 AND (
    thread_key = 'dm:' || $2 OR event->>'customerId' = $2 OR event->'from'->>'id' = $2)`;

export const RULE_FIRING_ROWS = "account_id = $1 AND customer_id = $2";

/** Audit entries about them (consent changes, replies, moderation of their comments, exports).
 * It reads their messages and comment threads, so an erasure must use it before deleting those. */
export const AUDIT_TARGET_ROWS = `account_id = $1 AND (target = 'customer:' || $2 OR target IN (
    SELECT 'comment:' || ig_message_id FROM messages
     WHERE account_id = $1 AND author_id = $2 AND comment_thread_id IS NOT NULL AND ig_message_id IS NOT NULL
    UNION ALL
    SELECT 'comment:' || root_comment_id FROM comment_threads WHERE ${COMMENT_THREAD_ROWS}))`;

/** Audit entries of what they did themselves (STOP and START). */
export const AUDIT_ACTOR_ROWS = "account_id = $1 AND actor_kind = 'customer' AND actor_id = $2";
