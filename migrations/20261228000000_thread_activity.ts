import type { Knex } from "knex";

// The thread list (issue 23): the console and the web inbox list conversations and comment threads
// newest activity first, a page at a time. The activity of a comment thread was read from its
// messages (max(occurred_at) per direction) for every thread, so each page sorted every thread
// there is: 80–180 ms a page with 120,000 threads, and growing with them. A comment thread now
// keeps its last customer and business times as a conversation does, and both tables have an
// index in the list's own order, so a page reads its rows from the two indexes merged (1–4 ms a
// page with 120,000 threads; conversations/conversation-list.ts).
//
// The two times are kept by a trigger on messages rather than by each write: five places insert
// comment messages (the recording, moderation, rules, an agent's reply, the private reply) and a
// time missed by one of them would put a thread out of place for good. It fires only for rows of
// a comment thread (the WHEN clauses), so a DM message pays nothing; an insert moves the times
// forward, and the rare delete or change of a message's time, direction or thread reads the
// thread's messages again.

/** A thread's two times as its messages say them: the backfill's, and the trigger's on a change. */
const READ_TIMES = `
      last_customer_at = (SELECT max(m.occurred_at) FROM messages m
                           WHERE m.comment_thread_id = t.id AND m.direction = 'inbound'),
      last_business_at = (SELECT max(m.occurred_at) FROM messages m
                           WHERE m.comment_thread_id = t.id AND m.direction = 'outbound')`;

const ACTIVITY_INDEXES = [
  `CREATE INDEX conversations_activity ON conversations
     ((COALESCE(GREATEST(last_customer_message_at, last_business_message_at), created_at)) DESC, id DESC)`,
  `CREATE INDEX comment_threads_activity ON comment_threads
     ((COALESCE(GREATEST(last_customer_at, last_business_at), created_at)) DESC, id DESC)`,
];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("comment_threads", (t) => {
    t.timestamp("last_customer_at", { useTz: true });
    t.timestamp("last_business_at", { useTz: true });
  });
  await knex.raw(`UPDATE comment_threads t SET ${READ_TIMES}`);
  await knex.raw(`
    CREATE FUNCTION comment_thread_times() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      threads bigint[];
    BEGIN
      IF TG_OP = 'INSERT' THEN
        UPDATE comment_threads SET
          last_customer_at = CASE WHEN NEW.direction = 'inbound'
                               THEN GREATEST(last_customer_at, NEW.occurred_at) ELSE last_customer_at END,
          last_business_at = CASE WHEN NEW.direction = 'outbound'
                               THEN GREATEST(last_business_at, NEW.occurred_at) ELSE last_business_at END
         WHERE id = NEW.comment_thread_id;
        RETURN NULL;
      END IF;
      -- A delete, or a message whose time, direction or thread changed: its threads read again.
      IF TG_OP = 'DELETE' THEN
        threads := ARRAY[OLD.comment_thread_id];
      ELSE
        threads := ARRAY[OLD.comment_thread_id, NEW.comment_thread_id];
      END IF;
      UPDATE comment_threads t SET ${READ_TIMES}
       WHERE t.id = ANY (threads);
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER comment_thread_times_insert AFTER INSERT ON messages
      FOR EACH ROW WHEN (NEW.comment_thread_id IS NOT NULL) EXECUTE FUNCTION comment_thread_times()`);
  await knex.raw(`
    CREATE TRIGGER comment_thread_times_change AFTER UPDATE OF occurred_at, direction, comment_thread_id ON messages
      FOR EACH ROW WHEN (OLD.comment_thread_id IS NOT NULL OR NEW.comment_thread_id IS NOT NULL)
      EXECUTE FUNCTION comment_thread_times()`);
  await knex.raw(`
    CREATE TRIGGER comment_thread_times_delete AFTER DELETE ON messages
      FOR EACH ROW WHEN (OLD.comment_thread_id IS NOT NULL) EXECUTE FUNCTION comment_thread_times()`);
  for (const index of ACTIVITY_INDEXES) await knex.raw(index);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS comment_threads_activity");
  await knex.raw("DROP INDEX IF EXISTS conversations_activity");
  for (const trigger of [
    "comment_thread_times_insert",
    "comment_thread_times_change",
    "comment_thread_times_delete",
  ])
    await knex.raw(`DROP TRIGGER IF EXISTS ${trigger} ON messages`);
  await knex.raw("DROP FUNCTION IF EXISTS comment_thread_times()");
  await knex.schema.alterTable("comment_threads", (t) => {
    t.dropColumn("last_business_at");
    t.dropColumn("last_customer_at");
  });
}
