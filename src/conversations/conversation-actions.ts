import type { PgBoss } from "pg-boss";
import { recordAudit } from "../audit/audit-log.ts";
import type { AgentIdentity } from "../chat/chat-port.ts";
import { chatKey } from "../chat/ids.ts";
import type { Database } from "../db/database.ts";
import type { Mirror } from "../mirror/mirror.ts";
import { bossDb, WAKE_QUEUE, type WakeJob } from "../queue/boss.ts";
import { refreshHeader, type Thread, threadTable, threadTarget } from "./threads.ts";

// Close, reopen, snooze and assign a conversation or comment thread: from `!commands` typed in the
// thread, the root's buttons and the root's emoji. Each change is audited and shows in the header;
// the returned line says who did what, for the thread.

export interface ConversationActionsDeps {
  db: Database;
  boss: PgBoss;
  mirror: Mirror;
}

export class ConversationActions {
  private readonly deps: ConversationActionsDeps;

  constructor(deps: ConversationActionsDeps) {
    this.deps = deps;
  }

  async setStatus(
    thread: Thread,
    agent: AgentIdentity,
    status: "open" | "closed" | "snoozed",
    until?: Date,
  ): Promise<string> {
    const table = threadTable(thread);
    await this.deps.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE ${table} SET status = $2, snoozed_until = $3, updated_at = now() WHERE id = $1`,
        [thread.id, status, until?.toISOString() ?? null],
      );
      // The wake-up is a durable job, so a snooze survives restarts.
      if (until)
        await this.deps.boss.send(WAKE_QUEUE, { table, id: thread.id } satisfies WakeJob, {
          startAfter: until,
          db: bossDb(tx),
        });
      await recordAudit(tx, {
        actor: { kind: "agent", id: chatKey(agent.platform, agent.id), name: agent.name },
        account: thread.accountId,
        action: `conversation_${status}`,
        target: threadTarget(thread),
        details: until ? { until: until.toISOString() } : {},
      });
    });
    await refreshHeader(this.deps.mirror, thread);
    if (status === "closed")
      return `✅ ${agent.name} closed this conversation; the customer's next message reopens it.`;
    if (status === "snoozed")
      return `💤 ${agent.name} snoozed this conversation until ${until?.toISOString()}.`;
    return `↩️ ${agent.name} reopened this conversation.`;
  }

  /** `assignee` is a display name (an @mention as typed, or the agent's own name). `self`: the agent
   * assigns it to themselves, so their platform id is kept for SLA mentions; `take` words the line
   * for someone picking the conversation up (the 👀 emoji, the Take button). */
  async assign(
    thread: Thread,
    agent: AgentIdentity,
    assignee: string,
    how: { self?: boolean; take?: boolean } = {},
  ): Promise<string> {
    const self = how.self === true || how.take === true;
    await this.deps.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE ${threadTable(thread)} SET assignee = $2, assignee_ref = $3, updated_at = now() WHERE id = $1`,
        [thread.id, assignee, self ? agent.id : null],
      );
      await recordAudit(tx, {
        actor: { kind: "agent", id: chatKey(agent.platform, agent.id), name: agent.name },
        account: thread.accountId,
        action: "conversation_assigned",
        target: threadTarget(thread),
        details: { assignee },
      });
    });
    await refreshHeader(this.deps.mirror, thread);
    return how.take
      ? `👀 ${agent.name} took this conversation.`
      : `👤 ${agent.name} assigned this conversation to ${assignee}.`;
  }
}
