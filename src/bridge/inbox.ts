import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import { enqueueOutbound, outboundKey } from "../outbound/enqueue.ts";
import type { InstagramGateway } from "../outbound/instagram-gateway.ts";
import { checkFile, splitText } from "../outbound/parts.ts";
import { pause, pauses, resume } from "../outbound/pause.ts";
import { setConsent } from "../privacy/consent.ts";
import { forgetCustomer } from "../privacy/forget.ts";
import { bossDb, WAKE_QUEUE, type WakeJob } from "../queue/boss.ts";
import { describeDecision, type RulesEngine } from "../rules/engine.ts";
import { listRules, setRuleEnabled } from "../rules/store.ts";
import type {
  ActionRequest,
  ActionResult,
  AgentIdentity,
  AgentMessage,
  AgentMessageOutcome,
  ChatAdapter,
  ChatInbox,
  ChatMessageRef,
  ChatPlatform,
  CommentAction,
  ThreadRef,
} from "./chat-port.ts";
import type { Mirror } from "./mirror.ts";
import { windowState } from "./windows.ts";

// The one entry point for what agents and moderators do in chat. Adapters translate platform
// events into these calls; everything that reaches Instagram is stored first and sent by the
// outbound worker, so an agent's reply survives a crash between the chat event and the send.

export interface ThreadSettings {
  /** Messages starting with it stay in chat. */
  notePrefix: string;
  /** With `internalByDefault`, only messages starting with it (or sent by the explicit shortcut)
   * reach the customer. */
  replyPrefix: string;
  internalByDefault: boolean;
}

export const DEFAULT_THREAD_SETTINGS: ThreadSettings = {
  notePrefix: "//",
  replyPrefix: ">>",
  internalByDefault: false,
};

export interface InboxDeps {
  db: Database;
  boss: PgBoss;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  gateway: InstagramGateway;
  mirror: Mirror;
  log: Logger;
  humanAgent: boolean;
  /** `platform:userId` of the people allowed privileged actions (pause, resume). */
  admins: ReadonlySet<string>;
  /** For `/ig rules test`: the same evaluation the worker runs, as a dry run. */
  rules?: RulesEngine;
}

type Thread =
  | { kind: "dm"; id: number; accountId: string; customerId: string; settings: ThreadSettings }
  | { kind: "comment"; id: number; accountId: string; rootCommentId: string; settings: ThreadSettings };

const TEXT_COMMANDS: Record<string, string> = {
  "!help": "this list",
  "!status": "the conversation's window, held and failed replies",
  "!retry": "send the thread's last failed reply again",
  "!close": "close the conversation (the customer's next message reopens it)",
  "!reopen": "open it again",
  "!assign @agent|me": "give the conversation to someone",
  "!snooze 2h|30m|1d": "set it aside until then (or until the customer writes)",
  "!hide / !unhide / !delete / !reply text": "moderate the comment of a comment thread (delete: admins)",
};

export class Inbox implements ChatInbox {
  private readonly deps: InboxDeps;

  constructor(deps: InboxDeps) {
    this.deps = deps;
  }

  async agentMessage(m: AgentMessage): Promise<AgentMessageOutcome> {
    const thread = await this.thread(m.agent.platform, m.thread);
    if (!thread) return { kind: "not_mirrored" };
    const trimmed = m.text.trim();
    if (/^![a-z]/i.test(trimmed) && !m.explicitReply) {
      // A command whose effect already shows in the thread (a moderation notice) has nothing to add.
      const reply = await this.command(thread, trimmed, m.agent);
      return reply ? { kind: "command", reply } : { kind: "note" };
    }

    const s = thread.settings;
    let text = trimmed;
    if (text.startsWith(s.notePrefix)) return { kind: "note" };
    if (text.startsWith(s.replyPrefix)) text = text.slice(s.replyPrefix.length).trim();
    else if (s.internalByDefault && !m.explicitReply) return { kind: "note" };
    if (text === "" && m.files.length === 0) return { kind: "note" };
    // An opted-out customer is written to only on purpose: the reply prefix or the shortcut.
    if (
      thread.kind === "dm" &&
      !m.explicitReply &&
      !trimmed.startsWith(s.replyPrefix) &&
      (await this.optedOut(thread.id))
    )
      return {
        kind: "refused",
        reason: `This customer opted out of messages (STOP). Nothing was sent. To reply anyway, start your message with ${s.replyPrefix} or use “Send to Instagram”.`,
      };
    for (const file of m.files) {
      const check = checkFile(file);
      if (!check.ok) return { kind: "refused", reason: `${check.reason}. Nothing was sent.` };
    }
    if (splitText(text).length > 10)
      return {
        kind: "refused",
        reason: "this reply is over 10,000 bytes; Instagram messages are 1,000 bytes each. Nothing was sent.",
      };

    const id = await this.store(thread, m.agent, m.message, text, m.files);
    return id === undefined ? { kind: "duplicate" } : { kind: "queued", messageId: id };
  }

  async agentChanged(change: {
    agent: AgentIdentity;
    thread: ThreadRef;
    message: ChatMessageRef;
    change: "edited" | "deleted";
  }): Promise<void> {
    const thread = await this.thread(change.agent.platform, change.thread);
    if (!thread) return;
    const { rows } = await this.deps.db.query<{ id: number; delivery_state: string }>(
      "SELECT id, delivery_state FROM messages WHERE account_id = $1 AND chat_ref = $2 AND author_kind = 'agent'",
      [thread.accountId, change.message],
    );
    const row = rows[0];
    if (!row) return;
    const adapter = this.deps.adapters.get(change.agent.platform);
    let text: string;
    if (change.change === "deleted") {
      // Not yet handed to Instagram: the deletion cancels it.
      const { rows: cancelled } = await this.deps.db.query(
        `UPDATE messages SET delivery_state = 'failed', delivery_error = 'cancelled: deleted in chat before it was sent',
           updated_at = now()
         WHERE id = $1 AND delivery_state IN ('pending', 'held') AND send_started_at IS NULL AND ig_message_id IS NULL
         RETURNING id`,
        [row.id],
      );
      text =
        cancelled.length > 0
          ? "🗑️ The deleted reply had not been sent yet; it was cancelled and will not reach the customer."
          : "ℹ️ Instagram cannot unsend a message for you: the customer still sees the reply that was sent.";
    } else {
      text =
        row.delivery_state === "sent"
          ? "ℹ️ Instagram cannot change a sent message: the customer still sees the original. Send a correction as a new reply."
          : "ℹ️ Edits are not sent to Instagram: the reply goes out as first written. Delete it to cancel it, then write it again.";
    }
    await adapter?.notice(change.thread, text);
  }

  async action(req: ActionRequest): Promise<ActionResult> {
    const a = req.action;
    switch (a.kind) {
      case "retry":
        return this.retry(a.messageId, `${req.agent.platform}:${req.agent.id}`);
      case "pause":
      case "resume":
        return this.pauseSwitch(req.agent, a.kind, a.account);
      case "status":
        return this.status();
      case "comment":
        return this.commentAction(req, a.action, a.commentId, a.text);
      case "consent_set":
        return this.consentSet(req, a.user, a.consent);
      case "forget":
        return this.forget(req, a.user);
      case "rules_list":
        return this.rulesList(req.channel);
      case "rules_toggle":
        return this.rulesToggle(req.agent, a.ruleId, a.enabled);
      case "rules_test":
        return this.rulesTest(req.channel, a.text);
    }
  }

  async activeThreads(platform: ChatPlatform, since: Date): Promise<ThreadRef[]> {
    const { rows } = await this.deps.db.query<{ channel: string; thread: string }>(
      `SELECT chat_channel AS channel, chat_thread AS thread FROM conversations
        WHERE chat_platform = $1 AND chat_thread IS NOT NULL AND updated_at >= $2
       UNION
       SELECT chat_channel, chat_thread FROM comment_threads
        WHERE chat_platform = $1 AND chat_thread IS NOT NULL AND updated_at >= $2`,
      [platform, since.toISOString()],
    );
    return rows;
  }

  // ——— replies ———

  /** Stores the reply and its job in one transaction; undefined when this chat message was taken already. */
  private async store(
    thread: Thread,
    agent: AgentIdentity,
    chatRef: ChatMessageRef,
    text: string,
    files: AgentMessage["files"],
  ): Promise<number | undefined> {
    return this.deps.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>(
        `INSERT INTO messages (account_id, conversation_id, comment_thread_id, direction, author_kind, author_id, client_id,
                               text, attachments, details, chat_ref, delivery_state, occurred_at)
         VALUES ($1, $2, $3, 'outbound', 'agent', $4, $5, $6, $7, $8, $9, 'pending', now())
         ON CONFLICT (account_id, chat_ref) WHERE chat_ref IS NOT NULL DO NOTHING
         RETURNING id`,
        [
          thread.accountId,
          thread.kind === "dm" ? thread.id : null,
          thread.kind === "comment" ? thread.id : null,
          `${agent.platform}:${agent.id}`,
          uuidv7(),
          text === "" ? null : text,
          JSON.stringify(files),
          JSON.stringify({ agentName: agent.name }),
          chatRef,
        ],
      );
      const id = rows[0]?.id;
      if (id === undefined) return undefined;
      await enqueueOutbound(tx, this.deps.boss, id, this.key(thread));
      return id;
    });
  }

  private key(thread: Thread): string {
    return outboundKey(
      thread.accountId,
      thread.kind === "dm" ? { customerId: thread.customerId } : { rootCommentId: thread.rootCommentId },
    );
  }

  private async retry(messageId: number, by: string): Promise<ActionResult> {
    return this.deps.db.transaction(async (tx) => {
      const { rows } = await tx.query<{
        account_id: string;
        customer_id: string | null;
        root_comment_id: string | null;
      }>(
        `UPDATE messages m SET delivery_state = 'pending', delivery_error = NULL, send_started_at = NULL, chat_mark = NULL,
            details = m.details - 'partsTotal', updated_at = now()
           FROM messages x
           LEFT JOIN conversations c ON c.id = x.conversation_id
           LEFT JOIN comment_threads t ON t.id = x.comment_thread_id
          WHERE m.id = $1 AND x.id = m.id AND m.delivery_state = 'failed'
            AND (m.delivery_error IS NULL OR m.delivery_error NOT LIKE 'cancelled:%')
         RETURNING m.account_id, c.customer_id, t.root_comment_id`,
        [messageId],
      );
      const row = rows[0];
      if (!row)
        return {
          ok: false,
          text: "That reply is not waiting for a retry (already sent, retried or cancelled).",
        };
      const key = outboundKey(
        row.account_id,
        row.customer_id ? { customerId: row.customer_id } : { rootCommentId: row.root_comment_id ?? "" },
      );
      await enqueueOutbound(tx, this.deps.boss, messageId, key);
      this.deps.log.info({ messageId, by }, "reply retried");
      return { ok: true, text: "Retrying: the reply is queued again." };
    });
  }

  // ——— text commands typed in a thread ———

  private async command(thread: Thread, line: string, agent: AgentIdentity): Promise<string> {
    const [first, ...args] = line.split(/\s+/);
    const name = (first ?? "").toLowerCase();
    switch (name) {
      case "!close":
      case "!reopen":
        return this.setStatus(thread, agent, name === "!close" ? "closed" : "open", undefined);
      case "!snooze": {
        const ms = durationArg(args[0]);
        if (ms === undefined)
          return "Snooze for how long? For example !snooze 2h, !snooze 30m or !snooze 1d.";
        return this.setStatus(thread, agent, "snoozed", new Date(Date.now() + ms));
      }
      case "!hide":
      case "!unhide":
      case "!delete":
      case "!reply": {
        if (thread.kind !== "comment") return `${name} works in a comment thread.`;
        const action = name === "!reply" ? "reply_public" : (name.slice(1) as "hide" | "unhide" | "delete");
        const text = args.join(" ").trim();
        if (action === "reply_public" && text === "") return "Reply with what? !reply your public answer";
        const result = await this.commentAction(
          { agent, channel: "", action: { kind: "comment", action, commentId: thread.rootCommentId } },
          action,
          thread.rootCommentId,
          text || undefined,
        );
        return result.ok ? "" : result.text;
      }
      case "!assign": {
        const who = args.join(" ").trim();
        if (who === "") return "Assign to whom? !assign @name, or !assign me.";
        const assignee = who.toLowerCase() === "me" ? agent.name : who.replace(/^@/, "");
        const table = thread.kind === "dm" ? "conversations" : "comment_threads";
        await this.deps.db.query(`UPDATE ${table} SET assignee = $2, updated_at = now() WHERE id = $1`, [
          thread.id,
          assignee,
        ]);
        await this.audit(agent, thread, "conversation_assigned", { assignee });
        await this.refresh(thread);
        return `👤 ${agent.name} assigned this conversation to ${assignee}.`;
      }
      case "!help":
        return `Commands in this thread:\n${Object.entries(TEXT_COMMANDS)
          .map(([c, what]) => `• ${c}: ${what}`)
          .join("\n")}\nStart a message with ${thread.settings.notePrefix} to keep it internal.`;
      case "!status":
        return this.threadStatus(thread);
      case "!retry": {
        const { rows } = await this.deps.db.query<{ id: number }>(
          `SELECT id FROM messages WHERE ${thread.kind === "dm" ? "conversation_id" : "comment_thread_id"} = $1
             AND delivery_state = 'failed' AND author_kind = 'agent' ORDER BY id DESC LIMIT 1`,
          [thread.id],
        );
        const id = rows[0]?.id;
        if (id === undefined) return "No failed reply in this thread.";
        return (await this.retry(id, "thread command")).text;
      }
      default:
        return `Unknown command ${name}. Try !help.`;
    }
  }

  private async threadStatus(thread: Thread): Promise<string> {
    const lines: string[] = [];
    if (thread.kind === "dm") {
      const { rows } = await this.deps.db.query<{ last_customer_message_at: Date | null }>(
        "SELECT last_customer_message_at FROM conversations WHERE id = $1",
        [thread.id],
      );
      const w = windowState(rows[0]?.last_customer_message_at ?? null, new Date(), this.deps.humanAgent);
      lines.push(
        w.kind === "open"
          ? `Reply window open until ${w.until.toISOString()}.`
          : w.kind === "human_agent"
            ? `Human-agent window until ${w.until.toISOString()} (replies are tagged HUMAN_AGENT).`
            : w.kind === "closed"
              ? "Window closed: the customer must write first."
              : "The customer has not written yet.",
      );
    }
    const held = await this.deps.gateway.holdReason(thread.accountId);
    if (held) lines.push(`Held: ${held}.`);
    const { rows } = await this.deps.db.query<{ delivery_state: string; n: number }>(
      `SELECT delivery_state, count(*)::int AS n FROM messages
        WHERE ${thread.kind === "dm" ? "conversation_id" : "comment_thread_id"} = $1 AND delivery_state IN ('pending', 'held', 'failed')
        GROUP BY delivery_state ORDER BY delivery_state`,
      [thread.id],
    );
    for (const r of rows) lines.push(`${r.n} ${r.delivery_state} repl${r.n === 1 ? "y" : "ies"}.`);
    return lines.join("\n") || "Nothing waiting.";
  }

  // ——— switches ———

  private isAdmin(agent: AgentIdentity): boolean {
    if (this.deps.admins.has(`${agent.platform}:${agent.id}`)) return true;
    return (agent.roles ?? []).some((role) => this.deps.admins.has(`${agent.platform}-role:${role}`));
  }

  private async pauseSwitch(
    agent: AgentIdentity,
    kind: "pause" | "resume",
    account?: string,
  ): Promise<ActionResult> {
    if (!this.isAdmin(agent)) {
      this.deps.log.warn(
        { agent: `${agent.platform}:${agent.id}`, action: kind },
        "privileged action refused",
      );
      return {
        ok: false,
        text: `Only admins may ${kind} sending. An operator can add you to ADMIN_USERS as ${agent.platform}:${agent.id}.`,
      };
    }
    const by = `${agent.name} (${agent.platform}:${agent.id})`;
    let scope: { account: string } | "global" = "global";
    if (account) {
      const id = await this.resolveAccount(account);
      if (!id) return { ok: false, text: `No Instagram account ${account}. Give its id or username.` };
      scope = { account: id };
    }
    if (kind === "pause") await pause(this.deps.db, scope, by);
    else await resume(this.deps.db, scope);
    const what = scope === "global" ? "every account" : `account ${account}`;
    this.deps.log.info({ by, scope, action: kind }, `sending ${kind}d`);
    return {
      ok: true,
      text:
        kind === "pause"
          ? `⏸️ Sending paused for ${what}. Replies are held and go out in order on /ig resume.`
          : `▶️ Sending resumed for ${what}. Held replies go out in order now.`,
    };
  }

  private async status(): Promise<ActionResult> {
    const p = await pauses(this.deps.db);
    const { rows } = await this.deps.db.query<{
      account_id: string;
      username: string | null;
      delivery_state: string;
      n: number;
    }>(
      `SELECT m.account_id, a.username, m.delivery_state, count(*)::int AS n
         FROM messages m JOIN instagram_accounts a ON a.id = m.account_id
        WHERE m.delivery_state IN ('pending', 'held') GROUP BY 1, 2, 3 ORDER BY 1, 3`,
    );
    const lines = [
      p.global ? `⏸️ Sending is paused for every account (by ${p.global.by}).` : "Sending is on.",
    ];
    for (const a of p.accounts) lines.push(`⏸️ Account ${a.account} paused by ${a.by}.`);
    for (const r of rows)
      lines.push(`${r.username ? `@${r.username}` : r.account_id}: ${r.n} ${r.delivery_state}`);
    return { ok: true, text: lines.join("\n") };
  }

  private async resolveAccount(idOrName: string): Promise<string | undefined> {
    const name = idOrName.replace(/^@/, "");
    const { rows } = await this.deps.db.query<{ id: string }>(
      "SELECT id FROM instagram_accounts WHERE id = $1 OR lower(username) = lower($1) LIMIT 1",
      [name],
    );
    return rows[0]?.id;
  }

  // ——— conversation state ———

  private async setStatus(
    thread: Thread,
    agent: AgentIdentity,
    status: "open" | "closed" | "snoozed",
    until: Date | undefined,
  ): Promise<string> {
    const table = thread.kind === "dm" ? "conversations" : "comment_threads";
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
    });
    await this.audit(agent, thread, `conversation_${status}`, until ? { until: until.toISOString() } : {});
    await this.refresh(thread);
    if (status === "closed")
      return `✅ ${agent.name} closed this conversation; the customer's next message reopens it.`;
    if (status === "snoozed")
      return `💤 ${agent.name} snoozed this conversation until ${until?.toISOString()}.`;
    return `↩️ ${agent.name} reopened this conversation.`;
  }

  private async audit(
    agent: AgentIdentity,
    thread: Thread,
    action: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.deps.db.query(
      `INSERT INTO audit_log (actor_kind, actor_id, account_id, action, target, details) VALUES ('agent', $1, $2, $3, $4, $5)`,
      [
        `${agent.platform}:${agent.id}`,
        thread.accountId,
        action,
        thread.kind === "dm" ? `customer:${thread.customerId}` : `comment:${thread.rootCommentId}`,
        JSON.stringify(details),
      ],
    );
  }

  private async refresh(thread: Thread): Promise<void> {
    if (thread.kind === "dm") await this.deps.mirror.refreshDmHeader(thread.accountId, thread.customerId);
    else await this.deps.mirror.refreshCommentHeader(thread.accountId, thread.rootCommentId);
  }

  // ——— consent ———

  private async optedOut(conversationId: number): Promise<boolean> {
    const { rows } = await this.deps.db.query<{ consent: string }>(
      "SELECT consent FROM conversations WHERE id = $1",
      [conversationId],
    );
    return rows[0]?.consent === "revoked";
  }

  private async consentSet(
    req: ActionRequest,
    user: string,
    consent: "granted" | "revoked",
  ): Promise<ActionResult> {
    const agent = req.agent;
    if (!this.isAdmin(agent)) {
      await this.deps.db.query(
        `INSERT INTO audit_log (actor_kind, actor_id, action, target, details) VALUES ('agent', $1, 'refused', 'consent', '{}')`,
        [`${agent.platform}:${agent.id}`],
      );
      this.deps.log.warn(
        { agent: `${agent.platform}:${agent.id}`, action: "consent_set" },
        "privileged action refused",
      );
      return {
        ok: false,
        text: `Only admins may record consent. An operator can add you to ADMIN_USERS as ${agent.platform}:${agent.id}.`,
      };
    }
    const target = await this.findCustomer(req, user);
    if (!target)
      return {
        ok: false,
        text: user
          ? `No conversation with ${user} in this channel's accounts.`
          : "Name the customer (@username or id), or ask in their thread.",
      };
    await this.deps.db.transaction((tx) =>
      setConsent(tx, target.accountId, target.customerId, consent, `${agent.platform}:${agent.id}`),
    );
    await this.deps.mirror.refreshDmHeader(target.accountId, target.customerId);
    return {
      ok: true,
      text:
        consent === "revoked"
          ? `Consent revoked for ${user || "this customer"}: no automated messages, and agents confirm before replying.`
          : `Consent granted for ${user || "this customer"}.`,
    };
  }

  /** A customer by @username or IGSID among the channel's accounts, or the thread's own. */
  private async findCustomer(
    req: ActionRequest,
    user: string,
  ): Promise<{ accountId: string; customerId: string } | undefined> {
    const accounts = await this.channelAccounts(req.thread?.thread ?? req.channel);
    if (user === "") {
      const thread = req.thread && (await this.thread(req.agent.platform, req.thread));
      return thread?.kind === "dm"
        ? { accountId: thread.accountId, customerId: thread.customerId }
        : undefined;
    }
    const name = user.replace(/^@/, "");
    const { rows } = await this.deps.db.query<{ account_id: string; customer_id: string }>(
      `SELECT account_id, customer_id FROM conversations
        WHERE account_id = ANY($1::text[]) AND (customer_id = $2 OR lower(profile->>'username') = lower($2))
        ORDER BY updated_at DESC LIMIT 1`,
      [accounts, name],
    );
    const r = rows[0];
    return r ? { accountId: r.account_id, customerId: r.customer_id } : undefined;
  }

  // ——— data requests ———

  private async forget(req: ActionRequest, user: string): Promise<ActionResult> {
    const agent = req.agent;
    const by = `${agent.platform}:${agent.id}`;
    if (!this.isAdmin(agent)) {
      await this.deps.db.query(
        `INSERT INTO audit_log (actor_kind, actor_id, action, target, details) VALUES ('agent', $1, 'refused', 'forget', '{}')`,
        [by],
      );
      this.deps.log.warn({ agent: by, action: "forget" }, "privileged action refused");
      return {
        ok: false,
        text: `Only admins may erase a customer's data. An operator can add you to ADMIN_USERS as ${by}.`,
      };
    }
    const target = await this.findCustomer(req, user);
    if (!target)
      return {
        ok: false,
        text: user
          ? `Nothing stored about ${user} in this channel's accounts.`
          : "Name the customer (@username or id), or ask in their thread.",
      };
    const counts = await forgetCustomer(
      this.deps.db,
      this.deps.adapters,
      target.accountId,
      target.customerId,
      by,
    );
    this.deps.log.info({ account: target.accountId, by, counts }, "customer data erased");
    return {
      ok: true,
      text: `Erased ${user || "this customer"}: ${counts.conversations} conversation(s), ${counts.commentThreads} comment thread(s), ${counts.messages} message(s), ${counts.events} webhook event(s), ${counts.ruleFirings} rule firing(s); ${counts.chatMessagesDeleted} chat message(s) deleted. Only a hashed tombstone and the audit entry remain.`,
    };
  }

  // ——— auto-reply rules ———

  /** The accounts whose threads go to `channel` (a Discord thread's parent, or the channel itself). */
  private async channelAccounts(channel: string): Promise<string[]> {
    const { rows } = await this.deps.db.query<{ id: string }>(
      `SELECT id FROM instagram_accounts WHERE chat_channel = $1
       UNION SELECT account_id FROM conversations WHERE chat_thread = $1 OR chat_channel = $1
       UNION SELECT account_id FROM comment_threads WHERE chat_thread = $1 OR chat_channel = $1`,
      [channel],
    );
    return rows.map((r) => r.id);
  }

  private async rulesList(channel: string): Promise<ActionResult> {
    const accounts = new Set(await this.channelAccounts(channel));
    const all = (await listRules(this.deps.db)).filter(
      (r) => r.rule.account === "*" || accounts.has(r.rule.account),
    );
    if (all.length === 0)
      return {
        ok: true,
        text: "No auto-reply rules for this channel's accounts (threadbridge rules import FILE).",
      };
    return {
      ok: true,
      text: all
        .map(
          ({ rule }) =>
            `${rule.enabled ? "●" : "○"} ${rule.id} (${rule.name}): ${rule.trigger.type} → ${rule.actions.map((x) => x.type).join(", ")}`,
        )
        .join("\n"),
    };
  }

  private async rulesToggle(agent: AgentIdentity, ruleId: string, enabled: boolean): Promise<ActionResult> {
    if (!this.isAdmin(agent)) {
      this.deps.log.warn(
        { agent: `${agent.platform}:${agent.id}`, action: "rules_toggle" },
        "privileged action refused",
      );
      return {
        ok: false,
        text: `Only admins may turn rules on or off. An operator can add you to ADMIN_USERS as ${agent.platform}:${agent.id}.`,
      };
    }
    const found = await setRuleEnabled(this.deps.db, ruleId, enabled);
    if (!found) return { ok: false, text: `No rule ${ruleId}. /ig rules list shows them.` };
    this.deps.rules?.forget();
    await this.deps.db.query(
      `INSERT INTO audit_log (actor_kind, actor_id, action, target, details) VALUES ('agent', $1, $2, $3, '{}')`,
      [`${agent.platform}:${agent.id}`, enabled ? "rule_enabled" : "rule_disabled", ruleId],
    );
    return { ok: true, text: `Rule ${ruleId} ${enabled ? "enabled" : "disabled"}.` };
  }

  private async rulesTest(channel: string, text: string): Promise<ActionResult> {
    const engine = this.deps.rules;
    const [account] = await this.channelAccounts(channel);
    if (!engine || !account) return { ok: false, text: "This channel mirrors no Instagram account." };
    const decisions = await engine.run(
      {
        type: "dm.message",
        accountId: account,
        customerId: "0000000000000000",
        occurredAt: Date.now(),
        mid: "rules-test",
        text,
        attachments: [],
      },
      undefined,
      { dryRun: true },
    );
    if (decisions.length === 0) return { ok: true, text: `No rule would answer “${preview(text)}”.` };
    return { ok: true, text: `Dry run, nothing sent:\n${decisions.map(describeDecision).join("\n")}` };
  }

  // ——— comment moderation from the thread's buttons ———

  private async commentAction(
    req: ActionRequest,
    action: CommentAction,
    commentId: string,
    text: string | undefined,
  ): Promise<ActionResult> {
    const { rows } = await this.deps.db.query<{
      id: number;
      account_id: string;
      root_comment_id: string;
      private_reply_sent_at: Date | null;
      chat_platform: ChatPlatform | null;
      chat_channel: string | null;
      chat_thread: string | null;
    }>(
      `SELECT t.id, t.account_id, t.root_comment_id, t.private_reply_sent_at, t.chat_platform, t.chat_channel, t.chat_thread
         FROM comment_threads t
        WHERE t.root_comment_id = $1
           OR t.id = (SELECT comment_thread_id FROM messages WHERE ig_message_id = $1 AND comment_thread_id IS NOT NULL LIMIT 1)
        LIMIT 1`,
      [commentId],
    );
    const t = rows[0];
    if (!t) return { ok: false, text: `No mirrored comment ${commentId}.` };
    const who = req.agent.name;
    if (action === "delete" && !this.isAdmin(req.agent)) {
      await this.deps.db.query(
        `INSERT INTO audit_log (actor_kind, actor_id, account_id, action, target, details)
         VALUES ('agent', $1, $2, 'refused', $3, '{"action":"delete"}')`,
        [`${req.agent.platform}:${req.agent.id}`, t.account_id, `comment:${commentId}`],
      );
      this.deps.log.warn(
        { agent: `${req.agent.platform}:${req.agent.id}`, action: "delete" },
        "privileged action refused",
      );
      return {
        ok: false,
        text: `Only admins may delete comments. An operator can add you to ADMIN_USERS as ${req.agent.platform}:${req.agent.id}.`,
      };
    }
    const gw = this.deps.gateway;

    if (action === "reply_private") {
      if (t.private_reply_sent_at)
        return { ok: false, text: "This comment already has its one private reply." };
      if (!text?.trim()) return { ok: false, text: "Write the private reply's text." };
      const thread: Thread = {
        kind: "comment",
        id: t.id,
        accountId: t.account_id,
        rootCommentId: t.root_comment_id,
        settings: DEFAULT_THREAD_SETTINGS,
      };
      await this.store(thread, req.agent, `action:${uuidv7()}`, text.trim(), []);
      await this.threadNotice(t, `✉️ ${who} is sending a private reply: “${preview(text)}”`);
      return { ok: true, text: "Private reply queued." };
    }

    let outcome: Awaited<ReturnType<InstagramGateway["call"]>>;
    let done: string;
    switch (action) {
      case "hide":
      case "unhide":
        outcome = await gw.call(t.account_id, "platform", (token) =>
          gw.graph.hideComment(token, commentId, action === "hide"),
        );
        done = `${action === "hide" ? "🙈" : "👁️"} ${who} ${action === "hide" ? "hid" : "unhid"} the comment.`;
        break;
      case "delete":
        outcome = await gw.call(t.account_id, "platform", (token) =>
          gw.graph.deleteComment(token, commentId),
        );
        done = `🗑️ ${who} deleted the comment on Instagram.`;
        break;
      case "reply_public": {
        const body = text?.trim();
        if (!body) return { ok: false, text: "Write the public reply's text." };
        outcome = await gw.call(t.account_id, "platform", (token) =>
          gw.graph.replyToComment(token, commentId, body),
        );
        done = `💬 ${who} replied publicly: “${preview(body)}”`;
        if (outcome.kind === "ok") {
          const id = (outcome.value as { id: string }).id;
          // Recorded as ours, so the webhook of this reply is not mirrored a second time.
          await this.deps.db.query(
            `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, author_id, ig_message_id, text,
                                   delivery_state, sent_at, send_route, occurred_at)
             VALUES ($1, $2, 'outbound', 'agent', $3, $4, $5, 'sent', now(), 'public_reply', now())
             ON CONFLICT (account_id, ig_message_id) DO UPDATE SET author_kind = 'agent', author_id = EXCLUDED.author_id`,
            [t.account_id, t.id, `${req.agent.platform}:${req.agent.id}`, id, body],
          );
        }
        break;
      }
    }
    if (outcome.kind !== "ok") {
      const reason =
        outcome.kind === "failed" || outcome.kind === "uncertain" ? outcome.error.reason : outcome.reason;
      return { ok: false, text: `Instagram did not ${action.replace("_", " ")} it: ${reason}.` };
    }
    if (commentId === t.root_comment_id && action !== "reply_public") {
      if (action === "delete")
        await this.deps.db.query(
          "UPDATE comment_threads SET deleted_at = now(), updated_at = now() WHERE id = $1",
          [t.id],
        );
      else
        await this.deps.db.query("UPDATE comment_threads SET hidden = $2, updated_at = now() WHERE id = $1", [
          t.id,
          action === "hide",
        ]);
    }
    if (action === "delete")
      await this.deps.db.query(
        "UPDATE messages SET text = NULL, deleted_at = now(), updated_at = now() WHERE account_id = $1 AND ig_message_id = $2",
        [t.account_id, commentId],
      );
    this.deps.log.info(
      { account: t.account_id, action, by: `${req.agent.platform}:${req.agent.id}` },
      "comment moderated",
    );
    await this.deps.db.query(
      `INSERT INTO audit_log (actor_kind, actor_id, account_id, action, target, details)
       VALUES ('agent', $1, $2, $3, $4, '{}')`,
      [`${req.agent.platform}:${req.agent.id}`, t.account_id, `comment_${action}`, `comment:${commentId}`],
    );
    await this.threadNotice(t, done);
    await this.deps.mirror.refreshCommentHeader(t.account_id, t.root_comment_id);
    return { ok: true, text: done };
  }

  private async threadNotice(
    t: { chat_platform: ChatPlatform | null; chat_channel: string | null; chat_thread: string | null },
    text: string,
  ): Promise<void> {
    if (!t.chat_platform || !t.chat_channel || !t.chat_thread) return;
    await this.deps.adapters
      .get(t.chat_platform)
      ?.notice({ channel: t.chat_channel, thread: t.chat_thread }, text);
  }

  // ——— lookups ———

  private async thread(platform: ChatPlatform, ref: ThreadRef): Promise<Thread | undefined> {
    const { rows } = await this.deps.db.query<{
      kind: "dm" | "comment";
      id: number;
      account_id: string;
      key: string;
      settings: Partial<ThreadSettings> | null;
    }>(
      `SELECT 'dm' AS kind, c.id, c.account_id, c.customer_id AS key, a.settings
         FROM conversations c JOIN instagram_accounts a ON a.id = c.account_id
        WHERE c.chat_platform = $1 AND c.chat_channel = $2 AND c.chat_thread = $3
       UNION ALL
       SELECT 'comment', t.id, t.account_id, t.root_comment_id, a.settings
         FROM comment_threads t JOIN instagram_accounts a ON a.id = t.account_id
        WHERE t.chat_platform = $1 AND t.chat_channel = $2 AND t.chat_thread = $3
       LIMIT 1`,
      [platform, ref.channel, ref.thread],
    );
    const r = rows[0];
    if (!r) return undefined;
    const settings = threadSettings(r.settings);
    return r.kind === "dm"
      ? { kind: "dm", id: r.id, accountId: r.account_id, customerId: r.key, settings }
      : { kind: "comment", id: r.id, accountId: r.account_id, rootCommentId: r.key, settings };
  }
}

/** "2h", "30m", "1d", "45s" → milliseconds; undefined for anything else or over 30 days. */
function durationArg(text: string | undefined): number | undefined {
  const m = /^(\d{1,4})([smhd])$/i.exec(text ?? "");
  if (!m) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    (m[2] as string).toLowerCase() as "s" | "m" | "h" | "d"
  ];
  const ms = Number(m[1]) * unit;
  return ms > 0 && ms <= 30 * 86_400_000 ? ms : undefined;
}

export function threadSettings(raw: Partial<ThreadSettings> | null | undefined): ThreadSettings {
  return {
    notePrefix:
      typeof raw?.notePrefix === "string" && raw.notePrefix !== ""
        ? raw.notePrefix
        : DEFAULT_THREAD_SETTINGS.notePrefix,
    replyPrefix:
      typeof raw?.replyPrefix === "string" && raw.replyPrefix !== ""
        ? raw.replyPrefix
        : DEFAULT_THREAD_SETTINGS.replyPrefix,
    internalByDefault: raw?.internalByDefault === true,
  };
}

function preview(text: string): string {
  const t = text.trim().replace(/\s+/g, " ");
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
}
