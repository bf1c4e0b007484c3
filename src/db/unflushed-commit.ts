// Commits that need not wait for the disk.
//
// A commit waits until its WAL is flushed (synchronous_commit = on): on this machine kind an
// fdatasync per commit, and the worker committed four times per mirrored event (the job's fetch,
// the recording, the post's ref, the processed mark with the job's completion). Postgres can
// instead commit a transaction asynchronously: visible to everyone at once, durable at the next
// flush (any synchronous commit of any session flushes the WAL before it, which is one sequence;
// otherwise the WAL writer's, within three wal_writer_delay, 600 ms by default). A Postgres crash
// can lose a suffix of such commits; nothing else can (a process crash, a client gone, a restart
// with a checkpoint keep them), and the database stays consistent either way.
//
// So a statement may commit without a flush only when losing it leaves a state that a worker
// killed just before sending it leaves too, which the job's expiry and retry already recover
// without a duplicate: the inbound job's fetch (the job is fetched again; the recording's commit,
// which comes before any chat call, flushes it anyway), the ref of a chat post (the retry finds the
// post by its idempotency key, chat-port.ts Idempotency) and the processed mark with its job's
// completion (the retry finds the event recorded and posted, and repeats nothing). Anything before
// an outside call (the recording, whose `handling_started_at` is what tells a retry to look for a
// post) and anything answering an outside caller (the webhook's insert) keeps the synchronous
// commit.
//
// The setting is the statement's own: `set_config(…, true)` lasts until its transaction ends, and
// an autocommit statement is a transaction of its own, so the session's setting is untouched and
// a connection pooler in transaction mode passes nothing on to the next client.

/**
 * A `RETURNING` (or select-list) expression that makes the statement's own commit asynchronous
 * when evaluated (for at least one row). Only for statements whose loss a retry recovers (above).
 */
export const UNFLUSHED_COMMIT = "set_config('synchronous_commit', 'off', true)";
