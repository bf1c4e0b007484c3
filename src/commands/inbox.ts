import { setTimeout as sleep } from "node:timers/promises";
import type { PgBoss } from "pg-boss";
import { Admins } from "../chat/admins.ts";
import type {
  ActionRequest,
  ActionResult,
  AgentActivity,
  AgentIdentity,
  AgentMessage,
  AgentMessageOutcome,
  AgentReaction,
  Asked,
  ChatAdapter,
  ChatInbox,
  ChatMessageRef,
  ChatPlatform,
  CompletionChoice,
  CompletionRequest,
  ConversationChange,
  HomeRequest,
  HomeView,
  ThreadRef,
} from "../chat/chat-port.ts";
import { type ChatRef, chatKey } from "../chat/ids.ts";
import type { StoredCopies } from "../chat/platform.ts";
import { refuseOutside, type Scope, scopeOf } from "../chat/scope.ts";
import { ConversationActions } from "../conversations/conversation-actions.ts";
import { findText } from "../conversations/find.ts";
import { Ownership } from "../conversations/ownership.ts";
import {
  findThread,
  optedOut,
  quotedMid,
  refreshHeader,
  replyProblem,
  storeAgentReply,
  type Thread,
} from "../conversations/threads.ts";
import { Timers } from "../conversations/timers.ts";
import type { Database } from "../db/database.ts";
import type { DigestService } from "../digest/digest-service.ts";
import { storedEntry, windowState } from "../instagram/windows.ts";
import type { Logger } from "../log/logger.ts";
import type { Mirror } from "../mirror/mirror.ts";
import { Moderation } from "../moderation/moderation.ts";
import { enqueueOutbound, outboundKey } from "../outbound/enqueue.ts";
import type { InstagramGateway } from "../outbound/instagram-gateway.ts";
import { pause, pauses, resume } from "../outbound/pause.ts";
import { instagramReaction } from "../outbound/reactions.ts";
import { enqueueSenderAction, type SenderAction } from "../outbound/sender-actions.ts";
import { DataRequests } from "../privacy/data-requests.ts";
import type { RulesEngine } from "../rules/engine.ts";
import { RuleActions } from "../rules/rule-actions.ts";
import { SnippetActions, snippetCall } from "../snippets/snippet-actions.ts";
import { COMMANDS } from "./catalog.ts";
import type { CommandCore } from "./core.ts";
import type { Command, CommandResult } from "./define.ts";
import { threadSurface } from "./registry.ts";

// The one entry point for what agents and moderators do in chat. Adapters translate platform
// events into these calls; everything that reaches Instagram is stored first and sent by the
// outbound worker, so an agent's reply survives a crash between the chat event and the send.
// The actions themselves live with their capability (moderation/moderation.ts,
// conversations/conversation-actions.ts, privacy/data-requests.ts, rules/rule-actions.ts); this
// class reads the thread, checks the words, and dispatches.

export interface InboxDeps {
  db: Database;
  boss: PgBoss;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  gateway: InstagramGateway;
  mirror: Mirror;
  log: Logger;
  humanAgent: boolean;
  /** ADMIN_USERS: who may do privileged things (pause, delete, forget, consent, rules). */
  admins: readonly ChatRef[];
  /** For `/ig rules test`: the same evaluation the worker runs, as a dry run. */
  rules?: RulesEngine;
  /** For `/ig digest`. */
  digests?: DigestService;
  /** The chat platforms' copies kept in this database (the web inbox's), for `/ig export`. */
  copies?: ReadonlyMap<ChatPlatform, StoredCopies>;
  /** Who owns a conversation: taken by a first reply, told to others, `/ig queue`, `/ig away`. */
  ownership?: Ownership;
  /** `!close 2h`, `!followup 1d TEXT`; made here (without on-duty mentions) when not given. */
  timers?: Timers;
}

/** How long an agent's emoji waits for the ref of a customer message being posted (`reactedMessage`). */
const REF_WAIT_MS = 3_000;

interface ReactedMessage {
  id: number;
  ig_message_id: string;
  business: string | null;
}

export class Inbox implements ChatInbox {
  private readonly deps: InboxDeps;
  private readonly admins: Admins;
  private readonly conversations: ConversationActions;
  private readonly moderation: Moderation;
  private readonly dataRequests: DataRequests;
  private readonly ruleActions: RuleActions;
  private readonly snippets: SnippetActions;
  private readonly ownership: Ownership;
  /** What command handlers call (src/commands/core.ts). */
  private readonly core: CommandCore;

  constructor(deps: InboxDeps) {
    this.deps = deps;
    this.admins = new Admins(deps.admins, deps.db, deps.log);
    this.conversations = new ConversationActions(deps);
    this.moderation = new Moderation({ ...deps, admins: this.admins });
    this.dataRequests = new DataRequests({ ...deps, admins: this.admins });
    this.ruleActions = new RuleActions({
      db: deps.db,
      admins: this.admins,
      rules: deps.rules,
      log: deps.log,
    });
    this.snippets = new SnippetActions({ ...deps, admins: this.admins });
    this.ownership =
      deps.ownership ??
      new Ownership({ db: deps.db, directories: new Map(), log: deps.log, humanAgent: deps.humanAgent });
    const timers =
      deps.timers ??
      new Timers({
        db: deps.db,
        boss: deps.boss,
        mirror: deps.mirror,
        adapters: deps.adapters,
        humanAgent: deps.humanAgent,
        onDuty: [],
        log: deps.log,
      });
    this.core = {
      timers,
      ownership: this.ownership,
      moderation: this.moderation,
      dataRequests: this.dataRequests,
      ruleActions: this.ruleActions,
      conversations: this.conversations,
      snippets: this.snippets,
      pauseSwitch: (agent, kind, account, scope) => this.pauseSwitch(agent, kind, account, scope),
      channelStatus: (agent, scope) => this.status(agent, scope),
      find: (agent, scope, query) =>
        findText(deps.db, agent, scope, query, async (ref) => {
          const adapter = deps.adapters.get(agent.platform);
          // A link is a convenience: the answer goes without it when the platform cannot give one.
          return adapter?.threadLink?.(ref).catch(() => undefined);
        }),
      digest: (asked, span) => this.digest(asked, span),
      threadStatus: (thread) => this.threadStatus(thread),
      retryLast: (thread) => this.retryLast(thread),
      afterReply: (thread, agent) => this.afterReply(thread, agent),
    };
  }

  async agentMessage(m: AgentMessage): Promise<AgentMessageOutcome> {
    const thread = await findThread(this.deps.db, m.agent.platform, m.thread);
    if (!thread) return { kind: "not_mirrored" };
    const trimmed = m.text.trim();
    // `!!name`: a saved reply, sent as this agent's reply (also from the explicit shortcut).
    const call = snippetCall(trimmed);
    if (call) {
      const sent = await this.snippets.send({
        thread,
        ref: m.thread,
        agent: m.agent,
        name: call.name,
        extra: call.extra,
        message: m.message,
        files: m.files,
      });
      if (sent.kind === "unknown") return { kind: "refused", reason: sent.text, privately: true };
      // A saved reply is the agent's reply: it takes the conversation as typed text would.
      if (sent.kind === "queued") return this.withOwnership(thread, m.agent, sent.messageId);
      return sent;
    }
    if (/^![a-z]/i.test(trimmed) && !m.explicitReply) {
      // A command whose effect already shows in the thread (a moderation notice) has nothing to add.
      const reply = await this.textCommand(thread, m, trimmed.slice(1));
      if (typeof reply !== "string") return reply;
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
      (await optedOut(this.deps.db, thread.id))
    )
      return {
        kind: "refused",
        reason: `This customer opted out of messages (STOP). Nothing was sent. To reply anyway, start your message with ${s.replyPrefix} or use “Send to Instagram”.`,
      };
    const problem = replyProblem(text, m.files);
    if (problem) return { kind: "refused", reason: problem };

    const replyTo = m.quoting ? await quotedMid(this.deps.db, thread, m.quoting) : undefined;
    const id = await storeAgentReply(
      this.deps.db,
      this.deps.boss,
      thread,
      m.agent,
      m.message,
      text,
      m.files,
      replyTo ? { replyTo } : {},
    );
    if (id === undefined) return { kind: "duplicate" };
    const queued = await this.withOwnership(thread, m.agent, id);
    // Answering a colleague's message or a notice is ordinary in chat: the reply still goes, and
    // the agent alone learns that Instagram will show it unquoted.
    if (m.quoting && !replyTo && queued.kind === "queued") {
      const unquoted = `Sent without a quote: ${thread.kind === "dm" ? "the message you answered is not on Instagram (a note, a notice, one not yet delivered or unsent)" : "Instagram quotes messages in conversations only"}.`;
      return { ...queued, privately: queued.privately ? `${queued.privately} ${unquoted}` : unquoted };
    }
    return queued;
  }

  /** A reply went: the first one takes an unassigned conversation (the root shows it); one by
   * someone other than its owner is told, to them alone, whose it is. */
  private async withOwnership(
    thread: Thread,
    agent: AgentIdentity,
    messageId: number,
  ): Promise<AgentMessageOutcome> {
    const told = await this.afterReply(thread, agent);
    return told ? { kind: "queued", messageId, privately: told } : { kind: "queued", messageId };
  }

  /** Ownership after an agent's reply: the line for them alone, if someone else owns it. */
  private async afterReply(thread: Thread, agent: AgentIdentity): Promise<string | undefined> {
    const owner = await this.ownership.replied(thread, agent);
    if (owner.kind === "took") await refreshHeader(this.deps.mirror, thread);
    if (owner.kind !== "owned_by") return undefined;
    return `Your reply goes to the customer. ${owner.owner} owns this conversation.`;
  }

  /** What an agent is doing in a thread, where the platform tells (chat-port.ts): the customer
   * sees it as Instagram's seen mark or typing indicator. */
  async agentActivity(activity: AgentActivity): Promise<void> {
    const thread = await findThread(this.deps.db, activity.agent.platform, activity.thread);
    if (thread?.kind !== "dm") return;
    await this.senderAction(thread, activity.kind === "typing" ? "typing_on" : "mark_seen");
  }

  /** An agent's emoji on a mirrored customer message: the business reacts to it on Instagram
   * (outbound/reactions.ts says how emoji map). Any other message of the thread (a note, a reply,
   * the root, a message unsent since) is nothing to Instagram and is left alone. */
  async agentReaction(r: AgentReaction): Promise<{ privately?: string }> {
    const thread = await findThread(this.deps.db, r.agent.platform, r.thread);
    if (thread?.kind !== "dm") return {};
    const found = await this.reactedMessage(thread, r.message);
    if (found === "still posting")
      return r.on
        ? {
            privately:
              "Not sent to Instagram: that message is still being mirrored; react again in a moment.",
          }
        : {};
    const row = found;
    if (!row) return {};
    const value = instagramReaction(r.emoji);
    if (!value.ok) return r.on ? { privately: `Not sent to Instagram: ${value.reason}.` } : {};
    // Instagram keeps one reaction of the business per message: taking off an emoji that is not
    // the one Instagram shows (a colleague reacted since) changes nothing there.
    if (!r.on && row.business !== value.reaction) return {};
    if (r.on && row.business === value.reaction) return {};
    // Stored before the job is queued: the next emoji (on or off) reads what Instagram will show
    // even when it arrives before this job ran; put back when nothing was queued.
    const setBusiness = (value: string | null) =>
      this.deps.db.query(
        "UPDATE messages SET details = jsonb_set(details, '{businessReaction}', COALESCE(to_jsonb($2::text), 'null'::jsonb)) WHERE id = $1",
        [row.id, value],
      );
    await setBusiness(r.on ? value.reaction : null);
    const queued = await enqueueSenderAction(
      this.deps.db,
      this.deps.boss,
      thread.accountId,
      thread.customerId,
      r.on ? "react" : "unreact",
      new Date(),
      { mid: row.ig_message_id, ...(r.on ? { reaction: value.reaction } : {}) },
    );
    if (!queued) {
      await setBusiness(row.business);
      return {
        privately:
          "Not sent to Instagram: reactions go only while the customer's 24-hour window is open and no other app holds the conversation.",
      };
    }
    return {};
  }

  /**
   * The customer's message an agent's emoji is on, by its post's ref. The ref is stored a moment
   * after the post appears in chat (mirror.ts `setChatRef`, once the platform has answered, retried
   * while the database is away), so an emoji put on at once can arrive before it: a loaded test
   * machine saw it within milliseconds. While the conversation has a customer message received in
   * the last minutes whose post is not yet stored, the lookup is made again, for up to
   * REF_WAIT_MS; any other emoji (a note, a reply, the root) is answered at once.
   */
  private async reactedMessage(
    thread: Extract<Thread, { kind: "dm" }>,
    ref: string,
  ): Promise<ReactedMessage | undefined | "still posting"> {
    const until = performance.now() + REF_WAIT_MS;
    for (let pause = 25; ; pause = Math.min(pause * 2, 500)) {
      const { rows } = await this.deps.db.query<ReactedMessage & { posting: boolean }>(
        // The other messages are read only when this one is not found (CASE), along the
        // conversation's (conversation_id, occurred_at) index: those recorded in the last two
        // minutes, whenever they were written (a message delivered days late is mirrored like a
        // fresh one; bounding it by when it was written dropped an emoji on one silently).
        `SELECT m.id, m.ig_message_id, m.details->>'businessReaction' AS business,
                CASE WHEN m.id IS NULL THEN EXISTS (SELECT 1 FROM messages p
                         WHERE p.conversation_id = $2
                           AND p.account_id = $1 AND p.chat_ref IS NULL AND p.direction = 'inbound'
                           AND p.author_kind = 'customer' AND p.deleted_at IS NULL
                           AND p.created_at > now() - interval '2 minutes') END AS posting
           FROM (SELECT 1) AS one
           LEFT JOIN messages m
             ON m.account_id = $1 AND m.conversation_id = $2 AND m.chat_ref = $3 AND m.direction = 'inbound'
            AND m.author_kind = 'customer' AND m.ig_message_id IS NOT NULL AND m.deleted_at IS NULL`,
        [thread.accountId, thread.id, ref],
      );
      const row = rows[0];
      if (row?.id != null) return { id: row.id, ig_message_id: row.ig_message_id, business: row.business };
      if (!row?.posting) return undefined;
      if (performance.now() + pause > until) {
        this.deps.log.info(
          { account: thread.accountId, conversation: thread.id, waitedMs: REF_WAIT_MS },
          "an agent's emoji on a message whose post is not stored yet; not sent",
        );
        return "still posting";
      }
      await sleep(pause);
    }
  }

  private async senderAction(thread: Extract<Thread, { kind: "dm" }>, action: SenderAction): Promise<void> {
    await enqueueSenderAction(this.deps.db, this.deps.boss, thread.accountId, thread.customerId, action);
  }

  async agentChanged(change: {
    agent: AgentIdentity;
    thread: ThreadRef;
    message: ChatMessageRef;
    change: "edited" | "deleted";
  }): Promise<void> {
    const thread = await findThread(this.deps.db, change.agent.platform, change.thread);
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

  /** Every action that reads or changes an account reaches only the accounts routed to the channel
   * where it was asked (chat/scope.ts); the admin checks come on top. */
  async action(req: ActionRequest): Promise<ActionResult> {
    const a = req.action;
    switch (a.kind) {
      case "retry":
        return this.retry(a.messageId, chatKey(req.agent.platform, req.agent.id));
      case "comment":
        return this.moderation.comment(
          req.agent,
          a.action,
          a.commentId,
          a.text,
          await scopeOf(this.deps.db, req),
        );
      case "conversation":
        return this.conversationChange(req, a.change);
      case "command": {
        const command = COMMANDS.forAction(a.command);
        if (!command) {
          this.deps.log.warn({ command: a.command }, "unknown chat command refused");
          return { ok: false, text: `Unknown command ${a.command}: nothing was done.` };
        }
        const result = await this.runCommand(command, req, a.args);
        // Asked in a thread from elsewhere than its text (a slash command): the thread hears it
        // as a notice, as it does for the root's buttons.
        if (!result.ok || !result.announce || !req.thread) return result;
        await this.deps.adapters.get(req.agent.platform)?.notice(req.thread, result.text);
        return { ok: true, text: result.text, announced: true };
      }
    }
  }

  /** The agent's home view (a Slack App Home tab): read only, so it answers whoever asks, with
   * their own assignments and the unassigned conversations of their own channels. */
  async homeView(request: HomeRequest): Promise<HomeView> {
    return this.ownership.home(request);
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

  // ——— commands ———

  /** A `!command` typed in a mirrored thread: its answer for the thread ("" for none), or a
   * refusal for the agent alone. */
  private async textCommand(
    thread: Thread,
    m: AgentMessage,
    line: string,
  ): Promise<string | Extract<AgentMessageOutcome, { kind: "refused" }>> {
    const surface = threadSurface(thread.settings.notePrefix);
    const parsed = COMMANDS.parseText(surface, line);
    if (parsed.kind === "reply") return parsed.text;
    const command = COMMANDS.find(surface, parsed.command);
    if (!command) return "";
    const result = await this.runCommand(
      command,
      { agent: m.agent, channel: m.thread.channel, thread: m.thread },
      parsed.args,
      thread,
      m.message,
    );
    if (result.privately) return { kind: "refused", reason: result.text, privately: true };
    return result.text;
  }

  /** Runs a parsed command where it was asked; a thread command needs a mirrored thread. */
  private async runCommand(
    command: Command,
    asked: Asked,
    args: Readonly<Record<string, unknown>>,
    known?: Thread,
    message?: ChatMessageRef,
  ): Promise<CommandResult> {
    const thread =
      known ?? (asked.thread && (await findThread(this.deps.db, asked.agent.platform, asked.thread)));
    if (command.where === "thread" && !thread)
      return { ok: false, text: "That works in the thread of a mirrored conversation." };
    return command.run(
      {
        asked,
        core: this.core,
        scope: () => scopeOf(this.deps.db, asked),
        ...(thread && asked.thread ? { thread, ref: asked.thread } : {}),
        ...(message !== undefined ? { message } : {}),
      },
      args,
    );
  }

  async complete(req: CompletionRequest): Promise<CompletionChoice[]> {
    const command = COMMANDS.forAction(req.command);
    const arg = command?.args[req.option];
    if (!command || !arg?.complete) return [];
    const limit = Math.max(1, Math.min(100, Math.floor(req.limit)));
    try {
      const thread = req.thread && (await findThread(this.deps.db, req.agent.platform, req.thread));
      // A thread command offers nothing where it cannot run.
      if (command.where === "thread" && !thread) return [];
      const choices = await arg.complete(
        {
          asked: req,
          core: this.core,
          scope: () => scopeOf(this.deps.db, req),
          ...(thread ? { thread } : {}),
        },
        req.typed.slice(0, 100),
        limit,
      );
      return choices.slice(0, limit);
    } catch (err) {
      // A picker that cannot fill itself shows nothing; the command itself still answers.
      this.deps.log.warn({ command: req.command, option: req.option, err }, "completion failed");
      return [];
    }
  }

  /** `!retry`: the thread's last failed reply, queued again. */
  private async retryLast(thread: Thread): Promise<string> {
    const { rows } = await this.deps.db.query<{ id: number }>(
      `SELECT id FROM messages WHERE ${thread.kind === "dm" ? "conversation_id" : "comment_thread_id"} = $1
         AND delivery_state = 'failed' AND author_kind = 'agent' ORDER BY id DESC LIMIT 1`,
      [thread.id],
    );
    const id = rows[0]?.id;
    if (id === undefined) return "No failed reply in this thread.";
    return (await this.retry(id, "thread command")).text;
  }

  private async threadStatus(thread: Thread): Promise<string> {
    const lines: string[] = [];
    if (thread.kind === "dm") {
      const { rows } = await this.deps.db.query<{
        last_customer_message_at: Date | null;
        entry_point: string | null;
        entry_at: Date | null;
      }>("SELECT last_customer_message_at, entry_point, entry_at FROM conversations WHERE id = $1", [
        thread.id,
      ]);
      const w = windowState(
        rows[0]?.last_customer_message_at ?? null,
        new Date(),
        this.deps.humanAgent,
        storedEntry(rows[0]?.entry_point, rows[0]?.entry_at),
      );
      lines.push(
        w.kind === "open"
          ? `Reply window open until ${w.until.toISOString()}${w.entry === "ad" ? " (opened from an ad: up to 7 days)" : ""}.`
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

  // ——— conversation state from the root's buttons and emoji ———

  /** The thread shows who did what, as it does for `!close`; the asker gets the same line back. */
  private async conversationChange(req: ActionRequest, change: ConversationChange): Promise<ActionResult> {
    const result = await this.applyConversationChange(req, change);
    if (!result.ok || !req.thread) return result;
    await this.deps.adapters.get(req.agent.platform)?.notice(req.thread, result.text);
    return { ...result, announced: true };
  }

  private async applyConversationChange(
    req: ActionRequest,
    change: ConversationChange,
  ): Promise<ActionResult> {
    const thread = req.thread && (await findThread(this.deps.db, req.agent.platform, req.thread));
    if (!thread) return { ok: false, text: "That works in the thread of a mirrored conversation." };
    const c = this.conversations;
    switch (change.op) {
      case "close":
        return { ok: true, text: await c.setStatus(thread, req.agent, "closed") };
      case "reopen":
        return { ok: true, text: await c.setStatus(thread, req.agent, "open") };
      case "snooze":
        if (!Number.isInteger(change.minutes) || change.minutes < 1 || change.minutes > 30 * 24 * 60)
          return { ok: false, text: "Snooze for 1 minute to 30 days." };
        return {
          ok: true,
          text: await c.setStatus(
            thread,
            req.agent,
            "snoozed",
            new Date(Date.now() + change.minutes * 60_000),
          ),
        };
      case "take": {
        const text = await c.assign(thread, req.agent, req.agent.name, { take: true });
        // The customer sees their messages read once someone has the conversation in hand.
        if (thread.kind === "dm") await this.senderAction(thread, "mark_seen");
        return { ok: true, text };
      }
      case "take_control":
        return c.control(thread, req.agent, "take");
    }
  }

  /** Posts the digest of every account of the channel where it was asked (admins: it shows every
   * agent's figures). */
  private async digest(req: Asked, span: "24h" | "7d"): Promise<ActionResult> {
    if (!this.admins.allows(req.agent)) return this.admins.refuse(req.agent, "digest", "post the digest");
    const service = this.deps.digests;
    const scope = await scopeOf(this.deps.db, req);
    if (scope.accounts.size === 0) return refuseOutside(this.deps.log, req.agent, scope, "digest");
    if (!service) return { ok: false, text: "No digest service runs here: nothing was posted." };
    const ids = [...scope.accounts].sort();
    const posted: string[] = [];
    for (const id of ids) {
      const account = await service.account(id);
      if (!account) continue;
      // Into the channel (asked inside a Discord thread: its parent), never into a customer's thread.
      const result = await service.post(account, span, req.channel);
      if (result.posted) posted.push(account.username ? `@${account.username}` : account.id);
      else return { ok: false, text: `No digest for ${account.username ?? account.id}: ${result.reason}.` };
    }
    return {
      ok: true,
      text: `Digest of the ${span === "24h" ? "last 24 hours" : "last 7 days"} posted for ${posted.join(", ")}.`,
    };
  }

  // ——— switches ———

  /** `/ig pause|resume [account]` (admins): the named account, or every account of the channel.
   * The global switch, which reaches every account wherever its threads are, is the operator's
   * (`threadbridge pause`), not a chat command's. */
  private async pauseSwitch(
    agent: AgentIdentity,
    kind: "pause" | "resume",
    account: string | undefined,
    scope: Scope,
  ): Promise<ActionResult> {
    if (!this.admins.allows(agent)) return this.admins.refuse(agent, kind, `${kind} sending`);
    if (scope.accounts.size === 0) return refuseOutside(this.deps.log, agent, scope, kind);
    let ids = [...scope.accounts].sort();
    if (account) {
      const id = await this.resolveAccount(account, ids);
      if (!id) {
        // The same answer for an unknown account and another channel's: the name stays theirs.
        const notHere = `No Instagram account ${account} in this channel. Give the id or username of one whose threads are here.`;
        const elsewhere = await this.resolveAccount(account);
        return elsewhere
          ? refuseOutside(this.deps.log, agent, scope, kind, elsewhere, notHere)
          : { ok: false, text: notHere };
      }
      ids = [id];
    }
    const by = `${agent.name} (${agent.platform}:${agent.id})`;
    const actor = { kind: "agent" as const, id: chatKey(agent.platform, agent.id) };
    for (const id of ids) {
      if (kind === "pause") await pause(this.deps.db, { account: id }, by, actor);
      else await resume(this.deps.db, { account: id }, actor);
    }
    const what = account ? `account ${account}` : `this channel's accounts (${await this.names(ids)})`;
    this.deps.log.info({ by, accounts: ids, action: kind }, `sending ${kind}d`);
    if (kind === "pause")
      return {
        ok: true,
        text: `⏸️ Sending paused for ${what}. Replies are held and go out in order on /ig resume.`,
      };
    const global = (await pauses(this.deps.db)).global;
    return {
      ok: true,
      text: global
        ? `▶️ Sending resumed for ${what}, but ${global.by} paused every account: replies stay held until an operator runs threadbridge resume.`
        : `▶️ Sending resumed for ${what}. Held replies go out in order now.`,
    };
  }

  /** `/ig status`: the sending state and queues of the channel's accounts (the global switch too,
   * since it holds them). */
  private async status(agent: AgentIdentity, scope: Scope): Promise<ActionResult> {
    if (scope.accounts.size === 0) return refuseOutside(this.deps.log, agent, scope, "status");
    const ids = [...scope.accounts];
    const p = await pauses(this.deps.db);
    const { rows } = await this.deps.db.query<{
      account_id: string;
      username: string | null;
      delivery_state: string;
      n: number;
    }>(
      `SELECT m.account_id, a.username, m.delivery_state, count(*)::int AS n
         FROM messages m JOIN instagram_accounts a ON a.id = m.account_id
        WHERE m.delivery_state IN ('pending', 'held') AND m.account_id = ANY($1::text[])
        GROUP BY 1, 2, 3 ORDER BY 1, 3`,
      [ids],
    );
    const lines = [
      p.global ? `⏸️ Sending is paused for every account (by ${p.global.by}).` : "Sending is on.",
    ];
    for (const a of p.accounts)
      if (scope.accounts.has(a.account)) lines.push(`⏸️ Account ${a.account} paused by ${a.by}.`);
    for (const r of rows)
      lines.push(`${r.username ? `@${r.username}` : r.account_id}: ${r.n} ${r.delivery_state}`);
    return { ok: true, text: lines.join("\n") };
  }

  /** The account with this id or username, among `within` when given. */
  private async resolveAccount(idOrName: string, within?: string[]): Promise<string | undefined> {
    const name = idOrName.replace(/^@/, "");
    const { rows } = await this.deps.db.query<{ id: string }>(
      `SELECT id FROM instagram_accounts WHERE (id = $1 OR lower(username) = lower($1))
          AND ($2::text[] IS NULL OR id = ANY($2::text[]))
        ORDER BY id = $1 DESC LIMIT 1`,
      [name, within ?? null],
    );
    return rows[0]?.id;
  }

  /** "@brand, 1784…" for a reply naming accounts. */
  private async names(ids: string[]): Promise<string> {
    const { rows } = await this.deps.db.query<{ id: string; username: string | null }>(
      "SELECT id, username FROM instagram_accounts WHERE id = ANY($1::text[]) ORDER BY id",
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r.username ? `@${r.username}` : r.id]));
    return ids.map((id) => byId.get(id) ?? id).join(", ");
  }
}
