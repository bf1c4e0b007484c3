import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Database } from "../db/database.ts";
import { enqueueOutbound, outboundKey } from "./enqueue.ts";

// Queues a message to a customer from code (automation, tools): the same stored-then-sent path
// agents' replies take, so it shares their order, limits and crash safety.

export interface ComposedMessage {
  accountId: string;
  customerId: string;
  text: string;
  /** `rule` may never use the human-agent window; `agent` may. */
  author: { kind: "agent" | "rule"; id: string; name: string };
}

/** Stores and enqueues a DM; the conversation is created when it does not exist yet. */
export async function queueMessage(db: Database, boss: PgBoss, m: ComposedMessage): Promise<number> {
  return db.transaction(async (tx) => {
    const { rows: convo } = await tx.query<{ id: number }>(
      `INSERT INTO conversations (account_id, customer_id) VALUES ($1, $2)
       ON CONFLICT (account_id, customer_id) DO UPDATE SET updated_at = conversations.updated_at
       RETURNING id`,
      [m.accountId, m.customerId],
    );
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, client_id, text, details,
                             delivery_state, occurred_at)
       VALUES ($1, $2, 'outbound', $3, $4, $5, $6, $7, 'pending', now())
       RETURNING id`,
      [
        m.accountId,
        convo[0]?.id,
        m.author.kind,
        m.author.id,
        uuidv7(),
        m.text,
        JSON.stringify(
          m.author.kind === "agent" ? { agentName: m.author.name } : { ruleName: m.author.name },
        ),
      ],
    );
    const id = rows[0]?.id as number;
    await enqueueOutbound(tx, boss, id, outboundKey(m.accountId, { customerId: m.customerId }));
    return id;
  });
}
