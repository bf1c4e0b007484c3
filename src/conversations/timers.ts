import type { PgBoss } from "pg-boss";
import { recordAudit } from "../audit/audit-log.ts";
import type { ActionResult, AgentIdentity, ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import { type ChatRef, chatKey } from "../chat/ids.ts";
import type { Database, SqlClient } from "../db/database.ts";
import {
  HUMAN_AGENT_WINDOW_MS,
  type SendPermission,
  sendPermission,
  storedEntry,
  type WindowState,
  windowState,
} from "../instagram/windows.ts";
import type { Logger } from "../log/logger.ts";
import type { Mirror } from "../mirror/mirror.ts";
import type { RecordedConversation } from "../mirror/record.ts";
import { bossDb, TIMER_QUEUE, type TimerAgent, type TimerJob, timerKey } from "../queue/boss.ts";
import { ConversationActions } from "./conversation-actions.ts";
import { spanText } from "./ownership.ts";
import {
  optedOut,
  preview,
  refreshHeader,
  replyProblem,
  storeAgentReply,
  type Thread,
  threadSettings,
} from "./threads.ts";
import { formatSeconds, timerSettings } from "./timer-settings.ts";

// The conversation timers (issue 21). Each is a pg-boss job (TIMER_QUEUE), so it survives
// restarts, set with a singleton key so it is never doubled; none trusts what it was set for:
// when it fires it reads the conversation again and does nothing when its reason is gone (the
// customer wrote, someone answered, it was closed, the window passed). What fired is audited
// (`timer_fired`), which is also how a nudge is kept to once and what the digest counts.
//
// The customer timers (the two nudges and the auto-close) are pending at most about once per
// conversation and stage, not once per message (issue 23): `conversations.pending_timers` says
// when each pending one fires. A customer message whose timers are pending for a time no later
// than its own sets no job (the recording's own statements tell, so it costs no statement at all);
// the pending job, when it fires, finds the newer message and sets itself again for it. A job
// takes its entry off `pending_timers` as it reads the conversation, in one statement under the
// conversation's row lock, so a message is either seen by it or finds the entry gone and sets its
// own timers: none is lost between the two.
//
// - Nudges: a customer message unanswered, the 24-hour window closing within the account's
//   `nudgeBeforeSeconds`: a notice in the thread mentioning the assignee (or the on-duty groups);
//   again before the 7-day human-agent limit.
// - Auto-close: a conversation waiting on the customer closes after `autoCloseAfterSeconds` of
//   their silence (off by default).
// - `!close 2h`: closes later, unless the customer writes first.
// - `!followup 1d TEXT`: the agent's reply, sent later through the normal outbound path, unless
//   the customer writes first; refused at once when it would fall outside the window.

export interface TimersDeps {
  db: Database;
  boss: PgBoss;
  mirror: Mirror;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  humanAgent: boolean;
  /** SLA_ON_DUTY: who a nudge mentions when nobody owns the conversation. */
  onDuty: readonly ChatRef[];
  log: Logger;
  now?: () => Date;
}

/** The timers' names as audited and counted in the digest. */
export type TimerName = "nudge_window" | "nudge_human_agent" | "auto_close" | "close_later" | "followup";

interface ConversationFacts {
  id: number;
  account_id: string;
  customer_id: string;
  status: "open" | "closed" | "snoozed";
  assignee: string | null;
  assignee_ref: string | null;
  last_customer_message_at: Date | null;
  last_business_message_at: Date | null;
  entry_point: string | null;
  entry_at: Date | null;
  chat_platform: ChatPlatform | null;
  chat_channel: string | null;
  chat_thread: string | null;
  settings: Record<string, unknown> | null;
  /** Where the account's threads go (null: not routed to chat). */
  account_platform: string | null;
}

const ms = (d: Date | string | null | undefined) => (d ? new Date(d).getTime() : undefined);

/** The timers a customer's message sets, as keyed in `conversations.pending_timers`. */
type CustomerStage = "window" | "human_agent" | "auto_close";

/** One customer timer to set: its job and when it fires. */
interface Planned {
  stage: CustomerStage;
  job: TimerJob;
  at: Date;
}

/** What the customer timers are computed from. */
interface CustomerFacts {
  id: number;
  last: Date;
  entry: ReturnType<typeof storedEntry>;
  settings: Record<string, unknown> | null;
}

/** A pending timer whose time passed this long ago and is still marked is taken to be lost (its job
 * deleted by hand, or failed before it could read the conversation): the message sets its own.
 * A due job is fetched within seconds; one later than this only costs a job more. */
export const PENDING_TIMER_STALE_MS = 60_000;

const FACT_COLUMNS = `c.id, c.account_id, c.customer_id, c.status, c.assignee, c.assignee_ref, c.last_customer_message_at,
  c.last_business_message_at, c.entry_point, c.entry_at, c.chat_platform, c.chat_channel, c.chat_thread,
  a.settings, a.chat_platform AS account_platform`;

function stageOf(job: TimerJob): CustomerStage | undefined {
  if (job.kind === "nudge") return job.stage;
  if (job.kind === "auto_close") return "auto_close";
  return undefined;
}

/** Whether the timer pending at `pending` (ISO, from pending_timers) serves a message whose own
 * timer would fire at `at`: it fires no later, so it finds the message and sets itself again. */
function covered(pending: string | undefined, at: Date, now: number): boolean {
  if (pending === undefined) return false;
  const t = Date.parse(pending);
  return t <= at.getTime() && t >= now - PENDING_TIMER_STALE_MS;
}

export class Timers {
  private readonly deps: TimersDeps;
  private readonly actions: ConversationActions;

  constructor(deps: TimersDeps) {
    this.deps = deps;
    this.actions = new ConversationActions({ db: deps.db, boss: deps.boss, mirror: deps.mirror });
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Queues `job` for `at`; its id, or null when one of its key is already pending or running. */
  private async send(tx: SqlClient | undefined, job: TimerJob, at: Date): Promise<string | null> {
    return this.deps.boss.send(TIMER_QUEUE, job, {
      singletonKey: timerKey(job),
      startAfter: at,
      ...(tx ? { db: bossDb(tx) } : {}),
    });
  }

  /** Sets customer timers and marks them pending, in `tx`. A job the queue refused (one of its key
   * is pending or already running) is not marked: a running one may have read the conversation
   * already, and a message counting on it would be missed. */
  private async schedule(tx: SqlClient, conversationId: number, planned: readonly Planned[]): Promise<void> {
    const pending: Record<string, string> = {};
    for (const p of planned) if (await this.send(tx, p.job, p.at)) pending[p.stage] = p.at.toISOString();
    if (Object.keys(pending).length > 0)
      await tx.query("UPDATE conversations SET pending_timers = pending_timers || $2::jsonb WHERE id = $1", [
        conversationId,
        JSON.stringify(pending),
      ]);
  }

  /** Sets customer timers from a firing one, in a transaction of their own. The conversation's row
   * is locked first, as a recording locks it before setting its jobs: neither then waits for the
   * other's job of the same key while holding what the other needs. */
  private async scheduleFromTimer(conversationId: number, planned: readonly Planned[]): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      await tx.query("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", [conversationId]);
      await this.schedule(tx, conversationId, planned);
    });
  }

  /** The customer timers the conversation's last customer message calls for, seen at `now`. */
  private plan(c: CustomerFacts, now: number): Planned[] {
    const anchor = c.last.toISOString();
    const last = c.last.getTime();
    const settings = timerSettings(c.settings);
    const opened = windowState(c.last, c.last, this.deps.humanAgent, c.entry);
    const at = (t: number) => new Date(Math.max(t, now));
    const planned: Planned[] = [];
    if (settings.nudgeBeforeSeconds > 0 && opened.kind === "open" && opened.until.getTime() > now)
      planned.push({
        stage: "window",
        job: { kind: "nudge", conversationId: c.id, stage: "window", anchor },
        at: at(opened.until.getTime() - settings.nudgeBeforeSeconds * 1000),
      });
    const limit = last + HUMAN_AGENT_WINDOW_MS;
    if (this.deps.humanAgent && settings.humanAgentNudgeBeforeSeconds > 0 && limit > now)
      planned.push({
        stage: "human_agent",
        job: { kind: "nudge", conversationId: c.id, stage: "human_agent", anchor },
        at: at(limit - settings.humanAgentNudgeBeforeSeconds * 1000),
      });
    if (settings.autoCloseAfterSeconds > 0)
      planned.push({
        stage: "auto_close",
        job: { kind: "auto_close", conversationId: c.id, anchor },
        at: at(last + settings.autoCloseAfterSeconds * 1000),
      });
    return planned;
  }

  /** A customer timer found the customer had written since it was set: it is set again for their
   * last message (which set none of its own while this one was pending). */
  private async setAgain(c: ConversationFacts, stage: CustomerStage): Promise<void> {
    if (!c.last_customer_message_at) return;
    const planned = this.plan(
      {
        id: c.id,
        last: new Date(c.last_customer_message_at),
        entry: storedEntry(c.entry_point, c.entry_at),
        settings: c.settings,
      },
      this.now().getTime(),
    ).filter((p) => p.stage === stage);
    if (planned.length > 0) await this.scheduleFromTimer(c.id, planned);
  }

  private window(c: ConversationFacts, at: Date): WindowState {
    return windowState(
      c.last_customer_message_at ? new Date(c.last_customer_message_at) : null,
      at,
      this.deps.humanAgent,
      storedEntry(c.entry_point, c.entry_at),
    );
  }

  private async facts(
    sql: SqlClient,
    where: string,
    params: unknown[],
  ): Promise<ConversationFacts | undefined> {
    const { rows } = await sql.query<ConversationFacts>(
      `SELECT ${FACT_COLUMNS} FROM conversations c JOIN instagram_accounts a ON a.id = c.account_id WHERE ${where}`,
      params,
    );
    return rows[0];
  }

  /** What a firing timer reads of its conversation. A customer timer also takes its mark off
   * `pending_timers` in the same statement, under the row lock a recording holds until it commits:
   * a message recorded before is read here, one recorded after finds no mark and sets its own.
   * Only a mark already due goes; a later one is another job's, still pending. */
  private async read(job: TimerJob): Promise<ConversationFacts | undefined> {
    const stage = stageOf(job);
    if (!stage) return this.facts(this.deps.db, "c.id = $1", [job.conversationId]);
    const { rows } = await this.deps.db.query<ConversationFacts>(
      `UPDATE conversations c SET pending_timers =
         CASE WHEN (c.pending_timers->>$2::text)::timestamptz <= GREATEST(now(), $3::timestamptz)
              THEN c.pending_timers - $2::text ELSE c.pending_timers END
         FROM instagram_accounts a WHERE c.id = $1 AND a.id = c.account_id
       RETURNING ${FACT_COLUMNS}`,
      [job.conversationId, stage, this.now().toISOString()],
    );
    return rows[0];
  }

  // ——— setting timers ———

  /** A customer's message was recorded (in the inbound transaction `tx`; `c` its conversation's row
   * as the recording left it, `settings` the account's): the nudges before its window and the
   * human-agent limit close, and the auto-close after their silence, are set, each unless one
   * pending fires no later (it sets itself again for this message when it does). A retried event
   * sets the same keys again, which the queue ignores. */
  async customerWrote(
    tx: SqlClient,
    c: RecordedConversation,
    settings: Record<string, unknown> | null,
  ): Promise<void> {
    if (!c.last_customer_message_at) return;
    const now = this.now().getTime();
    const pending = c.pending_timers ?? {};
    const planned = this.plan(
      {
        id: c.id,
        last: new Date(c.last_customer_message_at),
        entry: storedEntry(c.entry_point, c.entry_at),
        settings,
      },
      now,
    ).filter((p) => !covered(pending[p.stage], p.at, now));
    if (planned.length > 0) await this.schedule(tx, c.id, planned);
  }

  /** `!close 2h`: closes the conversation then, unless the customer writes first. A second
   * `!close` with a time replaces the first. */
  async closeLater(thread: Thread, agent: AgentIdentity, afterMs: number): Promise<ActionResult> {
    if (thread.kind !== "dm")
      return { ok: false, text: "close with a time works in a conversation thread; !close closes now." };
    const now = this.now();
    const job: TimerJob = {
      kind: "close",
      conversationId: thread.id,
      anchor: now.toISOString(),
      agent: timerAgent(agent),
    };
    const at = new Date(now.getTime() + afterMs);
    await this.deps.db.transaction(async (tx) => {
      // The one pending close of the conversation gives way to the new one.
      const { rows } = await tx.query<{ id: string }>(
        "SELECT id FROM pgboss.job WHERE name = $1 AND singleton_key = $2 AND state IN ('created', 'retry')",
        [TIMER_QUEUE, timerKey(job)],
      );
      if (rows.length > 0)
        await this.deps.boss.deleteJob(
          TIMER_QUEUE,
          rows.map((r) => r.id),
          { db: bossDb(tx) },
        );
      await this.send(tx, job, at);
      await recordAudit(tx, {
        actor: { kind: "agent", id: chatKey(agent.platform, agent.id), name: agent.name },
        account: thread.accountId,
        action: "conversation_close_scheduled",
        target: `customer:${thread.customerId}`,
        details: { at: at.toISOString() },
      });
    });
    return {
      ok: true,
      text: `⏳ ${agent.name} set this conversation to close in ${spanText(afterMs)} (${at.toISOString()}), unless the customer writes first.`,
    };
  }

  /** `!followup 1d TEXT`: the agent's reply, sent then unless the customer writes first. Refused
   * at once when Instagram would not let a person send it then (reference 2.4). */
  async followup(
    thread: Thread,
    agent: AgentIdentity,
    afterMs: number,
    text: string,
    message?: string,
  ): Promise<ActionResult> {
    if (thread.kind !== "dm") return { ok: false, text: "followup works in a conversation thread." };
    const body = text.trim();
    const problem = replyProblem(body, []);
    if (problem) return { ok: false, text: problem };
    if (await optedOut(this.deps.db, thread.id))
      return { ok: false, text: "This customer opted out of messages (STOP): no follow-up was scheduled." };
    const c = await this.facts(this.deps.db, "c.id = $1", [thread.id]);
    if (!c) return { ok: false, text: "That works in the thread of a mirrored conversation." };
    const now = this.now();
    const at = new Date(now.getTime() + afterMs);
    const then = this.window(c, at);
    const permission: SendPermission = sendPermission(then, "human");
    if (!permission.ok) {
      const closes = this.window(c, now);
      const until = closes.kind === "open" || closes.kind === "human_agent" ? closes.until : undefined;
      return {
        ok: false,
        text: `A follow-up in ${spanText(afterMs)} would fall outside the messaging window${until ? ` (it closes ${until.toISOString()})` : ""}: nothing was scheduled. ${permission.reason}.`,
      };
    }
    await this.deps.db.transaction(async (tx) => {
      await this.send(
        tx,
        {
          kind: "followup",
          conversationId: thread.id,
          anchor: now.toISOString(),
          agent: timerAgent(agent),
          text: body,
          ...(message !== undefined ? { message } : {}),
        },
        at,
      );
      await recordAudit(tx, {
        actor: { kind: "agent", id: chatKey(agent.platform, agent.id), name: agent.name },
        account: thread.accountId,
        action: "followup_scheduled",
        target: `customer:${thread.customerId}`,
        details: { at: at.toISOString(), preview: preview(body).slice(0, 40) },
      });
    });
    return {
      ok: true,
      text: `⏳ ${agent.name}'s follow-up goes out in ${spanText(afterMs)} (${at.toISOString()}), unless the customer writes first.`,
    };
  }

  // ——— firing ———

  /** Runs one timer: re-reads the conversation and acts only if the timer's reason still holds. */
  async fire(job: TimerJob): Promise<void> {
    const c = await this.read(job);
    // Erased (`/ig forget`, retention) meanwhile: nothing to do.
    if (!c) return;
    const lastCustomer = ms(c.last_customer_message_at);
    const anchor = new Date(job.anchor).getTime();
    switch (job.kind) {
      case "nudge":
        // The customer wrote again: this nudge is for their last message now.
        if ((lastCustomer ?? 0) > anchor) return this.setAgain(c, job.stage);
        // Someone answered, or it was closed.
        if (lastCustomer !== anchor || c.status === "closed") return;
        if ((ms(c.last_business_message_at) ?? 0) >= anchor) return;
        return this.nudge(c, job.stage, timerKey(job));
      case "auto_close":
        return this.autoClose(c, job);
      case "close":
        if (c.status === "closed" || (lastCustomer ?? 0) > anchor) return;
        await this.actions
          .setStatus(threadOf(c), agentOf(job.agent), "closed")
          .then((line) => this.tell(c, `⏰ As asked: ${line}`));
        await this.fired(c, "close_later", timerKey(job));
        return;
      case "followup":
        return this.sendFollowup(c, job);
    }
  }

  private async nudge(c: ConversationFacts, stage: "window" | "human_agent", key: string): Promise<void> {
    const settings = timerSettings(c.settings);
    const before = stage === "window" ? settings.nudgeBeforeSeconds : settings.humanAgentNudgeBeforeSeconds;
    if (before === 0) return;
    const now = this.now();
    const w = this.window(c, now);
    if (stage === "window" && w.kind !== "open") return;
    if (stage === "human_agent" && (!this.deps.humanAgent || w.kind === "closed" || w.kind === "none"))
      return;
    const name: TimerName = stage === "window" ? "nudge_window" : "nudge_human_agent";
    if (await this.alreadyFired(c, key)) return;
    const platform = c.chat_platform;
    const adapter = platform ? this.deps.adapters.get(platform) : undefined;
    if (!platform || !adapter || !c.chat_channel || !c.chat_thread) {
      // Set with the customer's message, it can come due before that message's thread is open:
      // the queue tries again shortly. An account routed nowhere has no thread to wait for.
      if (c.account_platform && !c.chat_thread) throw new NotMirroredYet(c.id);
      return;
    }
    const until = w.kind === "open" || w.kind === "human_agent" ? w.until : now;
    const left = spanText(Math.max(0, until.getTime() - now.getTime()));
    const waited = spanText(now.getTime() - (ms(c.last_customer_message_at) ?? now.getTime()));
    const who = c.assignee ? ` (assigned to ${c.assignee})` : "";
    const text =
      stage === "window"
        ? `⏰ This customer has waited ${waited} unanswered${who}: the 24-hour window closes in ${left}.`
        : `⏰ This customer has waited ${waited} unanswered${who}: only ${left} left before the 7-day limit, after which nobody can reply until they write again.`;
    const groups = c.assignee_ref
      ? []
      : this.deps.onDuty.filter((g) => g.platform === platform && g.kind === "group").map((g) => g.id);
    const users = c.assignee_ref
      ? [c.assignee_ref]
      : this.deps.onDuty.filter((g) => g.platform === platform && g.kind === "user").map((g) => g.id);
    await adapter.notice({ channel: c.chat_channel, thread: c.chat_thread }, text, {
      ...(users.length > 0 ? { mention: users } : {}),
      ...(groups.length > 0 ? { mentionGroups: groups } : {}),
    });
    await this.fired(c, name, key);
  }

  private async autoClose(
    c: ConversationFacts,
    job: Extract<TimerJob, { kind: "auto_close" }>,
  ): Promise<void> {
    const silence = timerSettings(c.settings).autoCloseAfterSeconds * 1000;
    const lastCustomer = ms(c.last_customer_message_at);
    const anchor = new Date(job.anchor).getTime();
    // The customer wrote again: the silence counts from their last message now.
    if ((lastCustomer ?? 0) > anchor) return this.setAgain(c, "auto_close");
    // Turned off, or closed or snoozed by someone.
    if (silence === 0 || c.status !== "open" || lastCustomer !== anchor) return;
    const now = this.now();
    const again = (at: Date) =>
      this.scheduleFromTimer(c.id, [{ stage: "auto_close", job: { ...job, again: now.toISOString() }, at }]);
    const lastBusiness = ms(c.last_business_message_at);
    if (lastBusiness === undefined || lastBusiness < lastCustomer) {
      // Still waiting on us: the nudges are for that. Look again after another silence, while a
      // reply is still possible.
      const w = this.window(c, now);
      if (w.kind === "open" || w.kind === "human_agent") await again(new Date(now.getTime() + silence));
      return;
    }
    const due = lastCustomer + silence;
    if (now.getTime() < due) {
      await again(new Date(due));
      return;
    }
    const { rows } = await this.deps.db.query(
      `UPDATE conversations SET status = 'closed', snoozed_until = NULL, updated_at = now()
        WHERE id = $1 AND status = 'open' AND last_customer_message_at = $2 RETURNING id`,
      [c.id, new Date(lastCustomer).toISOString()],
    );
    if (rows.length === 0) return;
    await recordAudit(this.deps.db, {
      actor: { kind: "system", name: "auto_close" },
      account: c.account_id,
      action: "conversation_closed",
      target: `customer:${c.customer_id}`,
      details: { how: "auto_close", silentSeconds: silence / 1000 },
    });
    await refreshHeader(this.deps.mirror, threadOf(c));
    await this.tell(
      c,
      `🔒 Closed after ${formatSeconds(silence / 1000)} without a word from the customer; their next message reopens it.`,
    );
    await this.fired(c, "auto_close", timerKey(job));
  }

  private async sendFollowup(
    c: ConversationFacts,
    job: Extract<TimerJob, { kind: "followup" }>,
  ): Promise<void> {
    const key = timerKey(job);
    const { rows: sent } = await this.deps.db.query(
      "SELECT 1 FROM messages WHERE conversation_id = $1 AND details->>'followup' = $2",
      [c.id, key],
    );
    if (sent.length > 0) return;
    if ((ms(c.last_customer_message_at) ?? 0) > new Date(job.anchor).getTime()) {
      await this.tell(
        c,
        `↩️ ${job.agent.name}'s follow-up was not sent: the customer wrote since it was set.`,
      );
      return;
    }
    const permission = sendPermission(this.window(c, this.now()), "human");
    if (!permission.ok) {
      await this.tell(c, `⚠️ ${job.agent.name}'s follow-up was not sent: ${permission.reason}.`);
      return;
    }
    if (!c.chat_platform || !c.chat_channel || !c.chat_thread) return;
    const adapter = this.deps.adapters.get(c.chat_platform);
    if (!adapter) return;
    // The reply's chat message: the agent's `!followup`, or (asked as a slash command) a notice
    // showing what goes out, so the delivery marks have a message to sit on.
    const chatRef =
      job.message ??
      (await adapter.notice(
        { channel: c.chat_channel, thread: c.chat_thread },
        `📤 ${job.agent.name}'s follow-up: ${job.text}`,
      ));
    if (job.message)
      await adapter.notice(
        { channel: c.chat_channel, thread: c.chat_thread },
        `📤 ${job.agent.name}'s follow-up goes out now.`,
      );
    await storeAgentReply(
      this.deps.db,
      this.deps.boss,
      threadOf(c),
      agentOf(job.agent),
      chatRef,
      job.text,
      [],
      { followup: key },
    );
    await this.fired(c, "followup", key);
  }

  private async tell(c: ConversationFacts, text: string): Promise<void> {
    const adapter = c.chat_platform ? this.deps.adapters.get(c.chat_platform) : undefined;
    if (adapter && c.chat_channel && c.chat_thread)
      await adapter.notice({ channel: c.chat_channel, thread: c.chat_thread }, text);
  }

  private async alreadyFired(c: ConversationFacts, key: string): Promise<boolean> {
    const { rows } = await this.deps.db.query(
      `SELECT 1 FROM audit_log WHERE account_id = $1 AND action = 'timer_fired' AND target = $2
          AND details->>'key' = $3 LIMIT 1`,
      [c.account_id, `customer:${c.customer_id}`, key],
    );
    return rows.length > 0;
  }

  private async fired(c: ConversationFacts, timer: TimerName, key: string): Promise<void> {
    await recordAudit(this.deps.db, {
      actor: { kind: "system", name: "timer" },
      account: c.account_id,
      action: "timer_fired",
      target: `customer:${c.customer_id}`,
      details: { timer, key },
    });
    this.deps.log.info({ account: c.account_id, conversation: c.id, timer }, "timer fired");
  }
}

/** The conversation's chat thread is not open yet: the timer is retried. */
class NotMirroredYet extends Error {
  constructor(conversationId: number) {
    super(`conversation ${conversationId} has no chat thread yet`);
  }
}

function timerAgent(agent: AgentIdentity): TimerAgent {
  return { platform: agent.platform, id: agent.id, name: agent.name };
}

function agentOf(a: TimerAgent): AgentIdentity {
  return { platform: a.platform, id: a.id, name: a.name };
}

function threadOf(c: ConversationFacts): Thread {
  return {
    kind: "dm",
    id: c.id,
    accountId: c.account_id,
    customerId: c.customer_id,
    settings: threadSettings(c.settings as Parameters<typeof threadSettings>[0]),
  };
}
