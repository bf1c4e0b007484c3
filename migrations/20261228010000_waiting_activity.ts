import type { Knex } from "knex";

// The thread list's "waiting on us" filter (issue 23), an agent's queue: open threads whose
// customer wrote after the business's last message, newest activity first. The activity indexes
// (20261228000000_thread_activity.ts) give the order, but the filter passes few threads, so a page
// read them in order until enough waited, and every comment thread when none did: 10–17 ms with
// 120,000 threads. These hold the waiting threads alone, in the same order; their predicate is the
// list's WAITING condition as it reads on each table (conversations/conversation-list.ts), so the
// planner takes them for it: 1 ms. The cost is one index entry when a thread starts waiting (a
// customer's message, whose update of the row writes its other indexes anyway).

const WAITING_INDEXES: Array<[name: string, sql: string]> = [
  [
    "conversations_waiting_activity",
    `CREATE INDEX conversations_waiting_activity ON conversations
       ((COALESCE(GREATEST(last_customer_message_at, last_business_message_at), created_at)) DESC, id DESC)
       WHERE status = 'open' AND last_customer_message_at IS NOT NULL
         AND last_customer_message_at > COALESCE(last_business_message_at, '-infinity'::timestamptz)`,
  ],
  [
    "comment_threads_waiting_activity",
    `CREATE INDEX comment_threads_waiting_activity ON comment_threads
       ((COALESCE(GREATEST(last_customer_at, last_business_at), created_at)) DESC, id DESC)
       WHERE status = 'open' AND last_customer_at IS NOT NULL
         AND last_customer_at > COALESCE(last_business_at, '-infinity'::timestamptz)`,
  ],
];

export async function up(knex: Knex): Promise<void> {
  for (const [, sql] of WAITING_INDEXES) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const [name] of WAITING_INDEXES) await knex.raw(`DROP INDEX IF EXISTS ${name}`);
}
