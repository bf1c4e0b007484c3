import type { PgBoss } from "pg-boss";
import { recordAudit } from "../audit/audit-log.ts";
import type { AgentIdentity } from "../chat/chat-port.ts";
import { chatKey } from "../chat/ids.ts";
import type { Database } from "../db/database.ts";
import { INSTAGRAM_INBOX_APP_ID } from "../instagram/thread-control.ts";
import type { Mirror } from "../mirror/mirror.ts";
import type { InstagramGateway } from "../outbound/instagram-gateway.ts";
import { bossDb, WAKE_QUEUE, type WakeJob } from "../queue/boss.ts";
import { LABELS_MAX, labelError, NOTE_MAX_LENGTH } from "./customer-context.ts";
import { refreshHeader, type Thread, threadTable, threadTarget } from "./threads.ts";

// Close, reopen, snooze and assign a conversation or comment thread: from `!commands` typed in the
// thread, the root's buttons and the root's emoji. Each change is audited and shows in the header;
// the returned line says who did what, for the thread.

export interface ConversationActionsDeps {
  db: Database;
  boss: PgBoss;
  mirror: Mirror;
  /** For Conversation Routing calls (`!control`); without it they answer that they cannot. */
  gateway?: InstagramGateway;
}

/** What `!control` and the Take control button ask Instagram for. */
export type ControlAction = "take" | "request" | "inbox";

const CONTROL_VERBS: Record<ControlAction, string> = {
  take: "give this app control of the conversation",
  request: "pass on the request for control",
  inbox: "pass the conversation to the Instagram inbox",
};

const CONTROL_DONE: Record<ControlAction, (name: string) => string> = {
  take: (name) =>
    `🔀 ${name} took control of this conversation on Instagram: held replies go out now, in order.`,
  request: (name) =>
    `🔀 ${name} asked the app holding this conversation to pass it back; replies wait until it does.`,
  inbox: (name) =>
    `🔀 ${name} passed this conversation to the Instagram inbox: replies written here wait until it comes back.`,
};

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
        `UPDATE ${threadTable(thread)} SET assignee = $2, assignee_ref = $3, ${thread.kind === "dm" ? "assigned_at = now(), " : ""}updated_at = now() WHERE id = $1`,
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

  /**
   * Conversation Routing from chat: `take` takes thread control from the app holding the
   * conversation (Instagram allows it to the default app), `request` asks that app to pass it,
   * `inbox` passes it to the Instagram inbox (a person answers there). Audited; the root follows.
   */
  async control(
    thread: Thread,
    agent: AgentIdentity,
    action: ControlAction,
  ): Promise<{ ok: boolean; text: string }> {
    if (thread.kind !== "dm") return { ok: false, text: "control works in a conversation thread." };
    const gateway = this.deps.gateway;
    if (!gateway) return { ok: false, text: "Instagram cannot be reached from here: nothing was changed." };
    const call = action === "inbox" ? "pass" : action;
    const outcome = await gateway.call(thread.accountId, "platform", (token) =>
      gateway.graph.threadControl(token, call, thread.customerId, {
        metadata: `threadbridge: ${agent.name}`,
        ...(action === "inbox" ? { targetAppId: INSTAGRAM_INBOX_APP_ID } : {}),
      }),
    );
    if (outcome.kind !== "ok") {
      const reason =
        outcome.kind === "held" || outcome.kind === "deferred" ? outcome.reason : outcome.error.reason;
      return { ok: false, text: `Instagram did not ${CONTROL_VERBS[action]}: ${reason}.` };
    }
    await this.deps.db.transaction(async (tx) => {
      if (action === "take")
        await tx.query(
          `UPDATE conversations SET controlled_by = NULL, control_requested_by = NULL, control_at = GREATEST(control_at, now()),
             updated_at = now() WHERE id = $1`,
          [thread.id],
        );
      else if (action === "inbox")
        await tx.query(
          `UPDATE conversations SET controlled_by = $2, control_requested_by = NULL, control_at = GREATEST(control_at, now()),
             updated_at = now() WHERE id = $1`,
          [thread.id, INSTAGRAM_INBOX_APP_ID],
        );
      else
        await tx.query(
          "UPDATE conversations SET control_requested_by = 'threadbridge', updated_at = now() WHERE id = $1",
          [thread.id],
        );
      await recordAudit(tx, {
        actor: { kind: "agent", id: chatKey(agent.platform, agent.id), name: agent.name },
        account: thread.accountId,
        action: `thread_control_${action}`,
        target: threadTarget(thread),
        details: {},
      });
    });
    await refreshHeader(this.deps.mirror, thread);
    return { ok: true, text: CONTROL_DONE[action](agent.name) };
  }

  /** `!note TEXT`: kept per (account, customer) and shown on every root of theirs. */
  async note(thread: Thread, agent: AgentIdentity, text: string): Promise<{ ok: boolean; text: string }> {
    if (thread.kind !== "dm") return { ok: false, text: "note works in a conversation thread." };
    const body = text.trim();
    if (!body) return { ok: false, text: "note needs the note's text." };
    if (body.length > NOTE_MAX_LENGTH)
      return {
        ok: false,
        text: `a note is at most ${NOTE_MAX_LENGTH} characters (this one has ${body.length}).`,
      };
    await this.deps.db.transaction(async (tx) => {
      await tx.query(
        "INSERT INTO customer_notes (account_id, customer_id, text, author) VALUES ($1, $2, $3, $4)",
        [thread.accountId, thread.customerId, body, agent.name],
      );
      await recordAudit(tx, {
        actor: { kind: "agent", id: chatKey(agent.platform, agent.id), name: agent.name },
        account: thread.accountId,
        action: "customer_note_added",
        target: threadTarget(thread),
        details: {},
      });
    });
    await refreshHeader(this.deps.mirror, thread);
    return { ok: true, text: `📝 ${agent.name} added a note about this customer.` };
  }

  /** `!label SLUG` / `!unlabel SLUG`: at most LABELS_MAX per customer. */
  async label(
    thread: Thread,
    agent: AgentIdentity,
    label: string,
    add: boolean,
  ): Promise<{ ok: boolean; text: string }> {
    if (thread.kind !== "dm")
      return { ok: false, text: `${add ? "label" : "unlabel"} works in a conversation thread.` };
    const slug = label.trim().toLowerCase();
    const bad = labelError(slug);
    if (bad) return { ok: false, text: bad };
    const outcome = await this.deps.db.transaction(async (tx) => {
      if (add) {
        // Serialises concurrent !label on one customer so the count bound holds.
        await tx.query("SELECT pg_advisory_xact_lock(hashtext('customer_labels:' || $1 || ':' || $2))", [
          thread.accountId,
          thread.customerId,
        ]);
        const { rows } = await tx.query<{ n: string; has: boolean }>(
          `SELECT count(*) AS n, bool_or(label = $3) AS has FROM customer_labels
            WHERE account_id = $1 AND customer_id = $2`,
          [thread.accountId, thread.customerId, slug],
        );
        if (rows[0]?.has) return "unchanged";
        if (Number(rows[0]?.n ?? 0) >= LABELS_MAX) return "full";
        await tx.query("INSERT INTO customer_labels (account_id, customer_id, label) VALUES ($1, $2, $3)", [
          thread.accountId,
          thread.customerId,
          slug,
        ]);
      } else {
        const { rows } = await tx.query(
          "DELETE FROM customer_labels WHERE account_id = $1 AND customer_id = $2 AND label = $3 RETURNING label",
          [thread.accountId, thread.customerId, slug],
        );
        if (rows.length === 0) return "unchanged";
      }
      await recordAudit(tx, {
        actor: { kind: "agent", id: chatKey(agent.platform, agent.id), name: agent.name },
        account: thread.accountId,
        action: add ? "customer_labeled" : "customer_unlabeled",
        target: threadTarget(thread),
        details: { label: slug },
      });
      return "changed";
    });
    if (outcome === "full")
      return {
        ok: false,
        text: `this customer already has ${LABELS_MAX} labels; remove one with !unlabel first.`,
      };
    if (outcome === "unchanged")
      return {
        ok: true,
        text: add ? `This customer already has the label ${slug}.` : `This customer has no label ${slug}.`,
      };
    await refreshHeader(this.deps.mirror, thread);
    return {
      ok: true,
      text: add
        ? `🏷️ ${agent.name} labeled this customer ${slug}.`
        : `🏷️ ${agent.name} removed the label ${slug}.`,
    };
  }
}
