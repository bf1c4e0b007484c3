import type { Knex } from "knex";

// What every mirrored message writes, made smaller (issue 23, bench/README.md "Mirror capacity,
// eleventh pass"). A customer's message is inserted, then updated once its post is made (its chat
// ref); both wrote an entry into every one of the table's indexes.
//
// - A message has a conversation or a comment thread, never both (messages_one_parent), and only
//   an agent's or a rule's reply has a client id: three indexes held an entry for a NULL on every
//   row. Partial (IS NOT NULL), they hold only what is looked up; `col = $1` and the foreign keys'
//   cascades imply the predicate, so the same plans use them.
// - The chat ref's unique index made storing the ref a non-HOT update: the row written again with
//   an entry in every index, the text-search GIN's tsvector computed again. The lookup by ref moves
//   to message_chat_refs, kept by triggers (so every writer of `messages.chat_ref`, now and later,
//   keeps it, and a duplicate ref still fails its statement with a unique violation), and the
//   column stays where 40-odd readers read it. With room left on each page (fillfactor 90), storing
//   the ref is a HOT update: no index is written.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE message_chat_refs (
      account_id text NOT NULL,
      chat_ref text NOT NULL,
      message_id bigint NOT NULL,
      PRIMARY KEY (account_id, chat_ref)
    )`);
  await knex.raw(`
    INSERT INTO message_chat_refs (account_id, chat_ref, message_id)
    SELECT account_id, chat_ref, id FROM messages WHERE chat_ref IS NOT NULL`);
  // No foreign key: the delete trigger removes a message's ref with it, by the primary key, so a
  // cascade needs no index on message_id and an insert no check of messages.
  await knex.raw(`
    CREATE FUNCTION message_chat_refs_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP <> 'INSERT' AND OLD.chat_ref IS NOT NULL THEN
        DELETE FROM message_chat_refs WHERE account_id = OLD.account_id AND chat_ref = OLD.chat_ref;
      END IF;
      IF TG_OP <> 'DELETE' AND NEW.chat_ref IS NOT NULL THEN
        INSERT INTO message_chat_refs (account_id, chat_ref, message_id)
        VALUES (NEW.account_id, NEW.chat_ref, NEW.id);
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER message_chat_refs_insert AFTER INSERT ON messages
      FOR EACH ROW WHEN (NEW.chat_ref IS NOT NULL) EXECUTE FUNCTION message_chat_refs_sync()`);
  await knex.raw(`
    CREATE TRIGGER message_chat_refs_update AFTER UPDATE OF chat_ref, account_id ON messages
      FOR EACH ROW WHEN (OLD.chat_ref IS DISTINCT FROM NEW.chat_ref OR OLD.account_id <> NEW.account_id)
      EXECUTE FUNCTION message_chat_refs_sync()`);
  await knex.raw(`
    CREATE TRIGGER message_chat_refs_delete AFTER DELETE ON messages
      FOR EACH ROW WHEN (OLD.chat_ref IS NOT NULL) EXECUTE FUNCTION message_chat_refs_sync()`);
  await knex.raw("DROP INDEX messages_chat_ref");

  await knex.raw("DROP INDEX messages_conversation_id_occurred_at_index");
  await knex.raw(
    `CREATE INDEX messages_conversation_time ON messages (conversation_id, occurred_at)
       WHERE conversation_id IS NOT NULL`,
  );
  await knex.raw("DROP INDEX messages_comment_thread_id_occurred_at_index");
  await knex.raw(
    `CREATE INDEX messages_comment_thread_time ON messages (comment_thread_id, occurred_at)
       WHERE comment_thread_id IS NOT NULL`,
  );
  await knex.raw("ALTER TABLE messages DROP CONSTRAINT messages_client_id_unique");
  await knex.raw(
    "CREATE UNIQUE INDEX messages_client_id ON messages (client_id) WHERE client_id IS NOT NULL",
  );

  // New pages keep a tenth free for the ref's update; existing ones are as full as they were.
  await knex.raw("ALTER TABLE messages SET (fillfactor = 90)");
  await knex.raw("ALTER TABLE inbound_events SET (fillfactor = 70)");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE inbound_events RESET (fillfactor)");
  await knex.raw("ALTER TABLE messages RESET (fillfactor)");
  await knex.raw("DROP INDEX messages_client_id");
  await knex.raw("ALTER TABLE messages ADD CONSTRAINT messages_client_id_unique UNIQUE (client_id)");
  await knex.raw("DROP INDEX messages_comment_thread_time");
  await knex.raw(
    "CREATE INDEX messages_comment_thread_id_occurred_at_index ON messages (comment_thread_id, occurred_at)",
  );
  await knex.raw("DROP INDEX messages_conversation_time");
  await knex.raw(
    "CREATE INDEX messages_conversation_id_occurred_at_index ON messages (conversation_id, occurred_at)",
  );
  await knex.raw(
    "CREATE UNIQUE INDEX messages_chat_ref ON messages (account_id, chat_ref) WHERE chat_ref IS NOT NULL",
  );
  await knex.raw("DROP TRIGGER message_chat_refs_delete ON messages");
  await knex.raw("DROP TRIGGER message_chat_refs_update ON messages");
  await knex.raw("DROP TRIGGER message_chat_refs_insert ON messages");
  await knex.raw("DROP FUNCTION message_chat_refs_sync()");
  await knex.raw("DROP TABLE message_chat_refs");
}
