import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { SqlClient } from "../db/database.ts";
import { bossDb, OUTBOUND_QUEUE, type OutboundJob } from "../queue/boss.ts";
import { traceCarrier } from "../tracing/spans.ts";

/** The ordering key of a thread's outbound messages: one strict-FIFO lane per conversation or
 * comment thread of an account. */
export function outboundKey(
  accountId: string,
  thread: { customerId: string } | { rootCommentId: string },
): string {
  return "customerId" in thread
    ? `${accountId}:dm:${thread.customerId}`
    : `${accountId}:comment:${thread.rootCommentId}`;
}

/** Enqueues the send of message `messageId` inside the caller's transaction. */
export async function enqueueOutbound(
  tx: SqlClient,
  boss: PgBoss,
  messageId: number,
  key: string,
): Promise<void> {
  await boss.insert(
    OUTBOUND_QUEUE,
    // The active trace (an agent's message, a rule firing) goes on with the job to the send.
    [{ id: uuidv7(), singletonKey: key, data: { messageId, ...traceCarrier() } satisfies OutboundJob }],
    { db: bossDb(tx) },
  );
}
