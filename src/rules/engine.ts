import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import { recordAudit } from "../audit/audit-log.ts";
import type { ChatAdapter, ChatPlatform, ThreadRef } from "../chat/chat-port.ts";
import { customerLabels } from "../conversations/customer-context.ts";
import type { Database, SqlClient } from "../db/database.ts";
import type { DomainEvent } from "../instagram/events.ts";
import type { GenericElement, UserProfile } from "../instagram/graph-client.ts";
import { storedEntry, windowState } from "../instagram/windows.ts";
import type { Logger } from "../log/logger.ts";
import { enqueueOutbound, outboundKey } from "../outbound/enqueue.ts";
import type { InstagramGateway } from "../outbound/instagram-gateway.ts";
import {
  type DisclosureSettings,
  type DisclosureTarget,
  discloseIfDue,
  disclosureSettings,
  disclosureText,
  withDisclosure,
} from "./disclosure.ts";
import {
  compileRules,
  type Decision,
  type EvaluationContext,
  evaluate,
  type PlannedAction,
  type PreparedRules,
} from "./evaluate.ts";
import type { AccountSettings, Rule, TemplateField } from "./rule.ts";
import { rulesFor } from "./store.ts";

// Runs the auto-reply rules on each inbound event, after it is recorded and mirrored. Evaluation
// is pure (evaluate.ts); this module gathers the facts and carries out what fires:
//   - the firing, its messages and their outbound jobs commit together, once per (rule, event):
//     a retried job finds the firing and does nothing again;
//   - messages leave through the outbound path like agents' replies (order, limits, windows: the
//     sender refuses the human-agent tag to automation), so a rule cannot outrun an agent;
//   - public replies and hides are made after the commit, at most once (a crash in between loses
//     that one action rather than repeating a visible one);
//   - every firing is announced in the thread and written to the audit log;
//   - the first automated message of a conversation, one after a lapse, and one after a human
//     replied carry the account's disclosure line (disclosure.ts), decided in the same transaction.

/** A saved reply as a rule sends it: its variables filled in. */
export interface RenderedSnippet {
  text: string;
  language?: string;
  urlAttachments: { type: "image" | "file"; url: string }[];
  quickReplies: { title: string; payload: string }[];
  /** Its cards, expanded (a generic template after the text); empty when none. */
  cards: GenericElement[];
}

/** Where rules find saved replies (src/snippets provides it; the service wires it in). */
export interface RuleSnippets {
  /** The saved reply `name` as `account` sends it (its own, else the shared one), or undefined. */
  render(
    sql: SqlClient,
    account: string,
    name: string,
    fields: Readonly<Partial<Record<TemplateField, string>>>,
  ): Promise<RenderedSnippet | undefined>;
}

export interface RulesEngineDeps {
  db: Database;
  /** Absent in a dry run, which queues nothing. */
  boss: PgBoss | undefined;
  gateway: InstagramGateway | undefined;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  log: Logger;
  /** For `snippet` actions; without it they are skipped (with a log line and a notice). */
  snippets?: RuleSnippets;
  now?: () => Date;
}

/** What one firing did beyond its planned actions, for its announcement. */
interface FiringNotes {
  /** Actions (by index) whose message carried the disclosure. */
  disclosed: Set<number>;
  /** Saved replies a `snippet` action named that no longer exist: nothing was sent for them. */
  missing: string[];
  /** What each snippet action sent, by index. */
  sentText: Map<number, string>;
}

interface Subject {
  accountId: string;
  customerId: string;
  conversationId?: number;
  commentThreadId?: number;
  rootCommentId?: string;
  thread?: { platform: ChatPlatform; ref: ThreadRef };
}

interface CacheEntry {
  version: string;
  prepared: PreparedRules;
  settings: AccountSettings | undefined;
}

const CACHE_CHECK_MS = 2_000;

export class RulesEngine {
  private readonly deps: RulesEngineDeps;
  private readonly cache = new Map<string, CacheEntry & { checkedAt: number }>();

  constructor(deps: RulesEngineDeps) {
    this.deps = deps;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /**
   * Evaluates and (unless `dryRun`) carries out the rules for one stored event. `rules` replaces
   * the stored ones (a dry run of a file not imported yet).
   */
  async run(
    event: DomainEvent,
    eventId: number | undefined,
    options: { dryRun?: boolean; rules?: { rules: Rule[]; settings?: AccountSettings } } = {},
  ): Promise<Decision[]> {
    if (!applies(event)) return [];
    // This runs in every inbound job: an account without rules costs one cached look-up, no more.
    const set = options.rules
      ? { prepared: compileRules(options.rules.rules), settings: options.rules.settings }
      : await this.rulesOf(event.accountId);
    if (set.prepared.size === 0) return [];
    // A dry run over a recorded webhook may name a customer never seen: judge it as new.
    const subject = (await this.subject(event)) ?? (options.dryRun ? unseen(event) : undefined);
    if (!subject) return [];
    const ctx = await this.context(event, subject, set.settings);
    const decisions = evaluate(set.prepared, ctx);
    if (options.dryRun || !this.deps.boss) return decisions;
    for (const d of decisions) {
      if (d.kind === "refuse") {
        this.deps.log.debug(
          { rule: d.ruleId, reason: d.reason.code, account: event.accountId },
          "rule refused",
        );
        continue;
      }
      await this.fire(d, subject, eventId);
    }
    return decisions;
  }

  /** Drops the cached rules, after a change made in this process (other processes see a change
   * within CACHE_CHECK_MS). */
  forget(): void {
    this.cache.clear();
  }

  private boss(): PgBoss {
    if (!this.deps.boss) throw new Error("rules engine without a queue can only dry-run");
    return this.deps.boss;
  }

  private async rulesOf(account: string): Promise<CacheEntry> {
    const cached = this.cache.get(account);
    if (cached && Date.now() - cached.checkedAt < CACHE_CHECK_MS) return cached;
    const { rules, settings, version } = await rulesFor(this.deps.db, account);
    if (cached && cached.version === version) {
      cached.checkedAt = Date.now();
      return cached;
    }
    const prepared = compileRules(rules);
    // Once per rule-set version: a stored pattern RE2 cannot run is left out, not retried per event.
    for (const s of prepared.skipped)
      this.deps.log.warn(
        { rule: s.ruleId, account, reason: s.reason },
        "rule not run: its pattern cannot run",
      );
    const entry = { version, prepared, settings, checkedAt: Date.now() };
    this.cache.set(account, entry);
    return entry;
  }

  private async subject(event: DomainEvent): Promise<Subject | undefined> {
    const db = this.deps.db;
    if (event.type === "comment") {
      // A live comment Instagram did not name an author for has nobody a rule could answer.
      if (!event.from) return undefined;
      const root = event.parentId ?? event.commentId;
      const { rows } = await db.query<{
        id: number;
        chat_platform: ChatPlatform | null;
        chat_channel: string | null;
        chat_thread: string | null;
      }>(
        "SELECT id, chat_platform, chat_channel, chat_thread FROM comment_threads WHERE account_id = $1 AND root_comment_id = $2",
        [event.accountId, root],
      );
      const t = rows[0];
      if (!t) return undefined;
      return {
        accountId: event.accountId,
        customerId: event.from.id,
        commentThreadId: t.id,
        rootCommentId: root,
        ...threadOf(t),
      };
    }
    if (!("customerId" in event)) return undefined;
    const { rows } = await db.query<{
      id: number;
      chat_platform: ChatPlatform | null;
      chat_channel: string | null;
      chat_thread: string | null;
    }>(
      "SELECT id, chat_platform, chat_channel, chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [event.accountId, event.customerId],
    );
    const c = rows[0];
    if (!c) return undefined;
    return { accountId: event.accountId, customerId: event.customerId, conversationId: c.id, ...threadOf(c) };
  }

  private async context(
    event: DomainEvent,
    s: Subject,
    settings: AccountSettings | undefined,
  ): Promise<EvaluationContext> {
    const db = this.deps.db;
    const now = this.now();
    const { rows: convo } = await db.query<{
      consent: "unknown" | "granted" | "revoked";
      profile: UserProfile | null;
      last_customer_message_at: Date | null;
      entry_point: string | null;
      entry_at: Date | null;
    }>(
      "SELECT consent, profile, last_customer_message_at, entry_point, entry_at FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [s.accountId, s.customerId],
    );
    const c = convo[0];
    const { rows: seen } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM messages WHERE account_id = $1 AND author_id = $2 AND author_kind = 'customer'",
      [s.accountId, s.customerId],
    );
    const { rows: agent } = await db.query<{ at: Date | null }>(
      `SELECT max(occurred_at) AS at FROM messages WHERE author_kind = 'agent' AND ${
        s.conversationId !== undefined ? "conversation_id" : "comment_thread_id"
      } = $1`,
      [s.conversationId ?? s.commentThreadId],
    );
    const { rows: fired } = await db.query<{ rule_id: string; at: Date }>(
      "SELECT rule_id, max(fired_at) AS at FROM rule_firings WHERE account_id = $1 AND customer_id = $2 GROUP BY rule_id",
      [s.accountId, s.customerId],
    );
    const lastFired = new Map(fired.map((f) => [f.rule_id, new Date(f.at)]));
    let privateReplyUsed: boolean | undefined;
    if (s.commentThreadId !== undefined) {
      const { rows } = await db.query<{ used: boolean }>(
        `SELECT private_reply_sent_at IS NOT NULL
            OR EXISTS (SELECT 1 FROM messages WHERE comment_thread_id = $1 AND direction = 'outbound'
                        AND delivery_state IN ('pending', 'held', 'sent') AND send_route IS DISTINCT FROM 'public_reply') AS used
           FROM comment_threads WHERE id = $1`,
        [s.commentThreadId],
      );
      privateReplyUsed = rows[0]?.used ?? false;
    }
    const labels = await customerLabels(db, s.accountId, s.customerId);
    const profile = c?.profile ?? null;
    const username = profile?.username ?? (event.type === "comment" ? event.from?.username : undefined);
    const firstName = profile?.name?.trim().split(/\s+/)[0];
    const ctx: EvaluationContext = {
      event,
      now,
      customer: {
        isNew: (seen[0]?.n ?? 0) <= 1,
        consent: c?.consent ?? "unknown",
        labels,
        ...(profile?.isUserFollowBusiness !== undefined ? { follows: profile.isUserFollowBusiness } : {}),
        ...(firstName ? { firstName } : {}),
        ...(username ? { username } : {}),
      },
      lastFiredAt: (ruleId) => lastFired.get(ruleId),
      // Automation never has the human-agent window. An unseen customer's window opens with this
      // very message.
      window: windowState(
        c?.last_customer_message_at ?? (event.type === "comment" ? null : new Date(event.occurredAt)),
        now,
        false,
        storedEntry(c?.entry_point, c?.entry_at),
      ),
    };
    if (settings) ctx.settings = settings;
    const lastAgent = agent[0]?.at;
    if (lastAgent) ctx.lastAgentReplyAt = new Date(lastAgent);
    if (privateReplyUsed !== undefined) ctx.privateReplyUsed = privateReplyUsed;
    return ctx;
  }

  private async fire(
    d: Extract<Decision, { kind: "fire" }>,
    s: Subject,
    eventId: number | undefined,
  ): Promise<void> {
    const disclosure = await this.disclosureOf(s.accountId);
    const notes: FiringNotes = { disclosed: new Set(), missing: [], sentText: new Map() };
    const queued = await this.deps.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `INSERT INTO rule_firings (rule_id, account_id, customer_id, event_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (rule_id, event_id) DO NOTHING RETURNING id`,
        [d.ruleId, s.accountId, s.customerId, eventId ?? null],
      );
      if (rows.length === 0) return false;
      const spoke = new Set<string>();
      for (const [index, action] of d.actions.entries())
        await this.store(tx, action, d, s, { index, disclosure, spoke, notes });
      await recordAudit(tx, {
        actor: { kind: "rule", id: d.ruleId },
        account: s.accountId,
        action: "rule_fired",
        target: s.rootCommentId ? `comment:${s.rootCommentId}` : `customer:${s.customerId}`,
        details: {
          rule: d.ruleName,
          actions: d.actions.map((a) => a.type),
          eventId,
          ...(notes.disclosed.size > 0 ? { disclosed: true } : {}),
          ...(notes.missing.length > 0 ? { missingSnippets: notes.missing } : {}),
        },
      });
      return true;
    });
    if (!queued) return;
    for (const name of notes.missing)
      this.deps.log.warn(
        { rule: d.ruleId, account: s.accountId, snippet: name },
        "rule's saved reply does not exist; that action was skipped",
      );
    const gw = this.deps.gateway;
    for (const action of d.actions) {
      if (action.type === "public_reply" && gw) {
        const out = await gw.call(s.accountId, "platform", (token) =>
          gw.graph.replyToComment(token, action.commentId, action.text),
        );
        if (out.kind === "ok")
          await this.deps.db.query(
            `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, author_id, ig_message_id, text,
                                   delivery_state, sent_at, send_route, occurred_at)
             VALUES ($1, $2, 'outbound', 'rule', $3, $4, $5, 'sent', now(), 'public_reply', now())
             ON CONFLICT (account_id, ig_message_id) DO UPDATE SET author_kind = 'rule'`,
            [s.accountId, s.commentThreadId, d.ruleId, out.value.id, action.text],
          );
        else this.deps.log.warn({ rule: d.ruleId, outcome: out.kind }, "rule's public reply not made");
      }
      if (action.type === "hide_comment" && gw) {
        const out = await gw.call(s.accountId, "platform", (token) =>
          gw.graph.hideComment(token, action.commentId, true),
        );
        if (out.kind === "ok" && action.commentId === s.rootCommentId)
          await this.deps.db.query(
            "UPDATE comment_threads SET hidden = true, updated_at = now() WHERE id = $1",
            [s.commentThreadId],
          );
        else if (out.kind !== "ok")
          this.deps.log.warn({ rule: d.ruleId, outcome: out.kind }, "rule's hide not made");
      }
    }
    await this.announce(d, s, notes);
  }

  private async disclosureOf(account: string): Promise<DisclosureSettings> {
    const { rows } = await this.deps.db.query<{ settings: unknown }>(
      "SELECT settings FROM instagram_accounts WHERE id = $1",
      [account],
    );
    return disclosureSettings(rows[0]?.settings);
  }

  /** The parts of a firing that are stored: messages with their jobs, tags, assignees. */
  private async store(
    tx: SqlClient,
    action: PlannedAction,
    d: Extract<Decision, { kind: "fire" }>,
    s: Subject,
    firing: { index: number; disclosure: DisclosureSettings; spoke: Set<string>; notes: FiringNotes },
  ): Promise<void> {
    const table = s.conversationId !== undefined ? "conversations" : "comment_threads";
    const threadId = s.conversationId ?? s.commentThreadId;
    /** The text as sent: with the disclosure line when one is due for `target` (once per firing). */
    const spoken = async (target: DisclosureTarget, text: string, language: string | undefined) => {
      const key = `${target.table}:${target.id}`;
      if (firing.spoke.has(key)) return text;
      firing.spoke.add(key);
      const due = await discloseIfDue(tx, target, firing.disclosure.lapseMinutes, this.now());
      if (!due) return text;
      firing.notes.disclosed.add(firing.index);
      return withDisclosure(text, disclosureText(firing.disclosure, language));
    };
    switch (action.type) {
      case "dm_reply":
      case "snippet": {
        let text: string;
        let extras: Record<string, unknown>;
        let language = d.language;
        if (action.type === "snippet") {
          const snippet = await this.deps.snippets?.render(tx, s.accountId, action.name, action.fields);
          if (!snippet) {
            firing.notes.missing.push(action.name);
            return;
          }
          text = snippet.text;
          language = snippet.language ?? language;
          firing.notes.sentText.set(firing.index, snippet.text);
          extras = {
            snippet: action.name,
            ...(snippet.quickReplies.length
              ? { quickReplies: snippet.quickReplies.map((q) => ({ content_type: "text", ...q })) }
              : {}),
            ...(snippet.urlAttachments.length ? { urlAttachments: snippet.urlAttachments } : {}),
            ...(snippet.cards.length ? { cards: snippet.cards } : {}),
          };
        } else {
          text = action.text;
          extras = {
            ...(action.quickReplies.length
              ? { quickReplies: action.quickReplies.map((q) => ({ content_type: "text", ...q })) }
              : {}),
            ...(action.imageUrl ? { imageUrl: action.imageUrl } : {}),
          };
        }
        const { rows: convo } = await tx.query<{ id: number }>(
          `INSERT INTO conversations (account_id, customer_id) VALUES ($1, $2)
           ON CONFLICT (account_id, customer_id) DO UPDATE SET updated_at = conversations.updated_at RETURNING id`,
          [s.accountId, action.recipient],
        );
        const conversationId = convo[0]?.id as number;
        const id = await this.message(
          tx,
          s.accountId,
          { conversationId },
          d,
          await spoken({ table: "conversations", id: conversationId }, text, language),
          extras,
        );
        await enqueueOutbound(
          tx,
          this.boss(),
          id,
          outboundKey(s.accountId, { customerId: action.recipient }),
        );
        return;
      }
      case "private_reply": {
        const commentThreadId = s.commentThreadId as number;
        const id = await this.message(
          tx,
          s.accountId,
          { commentThreadId },
          d,
          await spoken({ table: "comment_threads", id: commentThreadId }, action.text, d.language),
          {},
        );
        await enqueueOutbound(
          tx,
          this.boss(),
          id,
          outboundKey(s.accountId, { rootCommentId: s.rootCommentId ?? action.commentId }),
        );
        return;
      }
      case "tag":
        await tx.query(
          `UPDATE ${table} SET tags = CASE WHEN tags ? $2 THEN tags ELSE tags || to_jsonb($2::text) END, updated_at = now() WHERE id = $1`,
          [threadId, action.tag],
        );
        return;
      case "assign":
        await tx.query(`UPDATE ${table} SET assignee = $2, updated_at = now() WHERE id = $1`, [
          threadId,
          action.to,
        ]);
        return;
      case "public_reply":
      case "hide_comment":
      case "notice":
        return; // made after the commit
    }
  }

  private async message(
    tx: SqlClient,
    accountId: string,
    parent: { conversationId: number } | { commentThreadId: number },
    d: Extract<Decision, { kind: "fire" }>,
    text: string,
    extras: Record<string, unknown>,
  ): Promise<number> {
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO messages (account_id, conversation_id, comment_thread_id, direction, author_kind, author_id, client_id,
                             text, details, delivery_state, occurred_at)
       VALUES ($1, $2, $3, 'outbound', 'rule', $4, $5, $6, $7, 'pending', now()) RETURNING id`,
      [
        accountId,
        "conversationId" in parent ? parent.conversationId : null,
        "commentThreadId" in parent ? parent.commentThreadId : null,
        d.ruleId,
        uuidv7(),
        text,
        JSON.stringify({ ruleName: d.ruleName, ...extras }),
      ],
    );
    return rows[0]?.id as number;
  }

  /** "🤖 rule ‘price’ replied: …" in the thread, and the rule's own notices. */
  private async announce(
    d: Extract<Decision, { kind: "fire" }>,
    s: Subject,
    notes: FiringNotes,
  ): Promise<void> {
    const adapter = s.thread ? this.deps.adapters.get(s.thread.platform) : undefined;
    if (!adapter || !s.thread) return;
    const lines = d.actions
      .map((a, i) => {
        const line = describe(a, notes.sentText.get(i));
        return line && notes.disclosed.has(i) ? `${line} (with the automation disclosure)` : line;
      })
      .filter((l): l is string => l !== undefined);
    if (lines.length) await adapter.notice(s.thread.ref, `🤖 rule ‘${d.ruleName}’ ${lines.join("; ")}`);
    for (const name of notes.missing)
      await adapter.notice(
        s.thread.ref,
        `⚠️ rule ‘${d.ruleName}’ names the saved reply ‘${name}’, which does not exist (any more): it was not sent.`,
      );
    for (const a of d.actions) if (a.type === "notice") await adapter.notice(s.thread.ref, `🤖 ${a.text}`);
  }
}

function describe(a: PlannedAction, sent: string | undefined): string | undefined {
  switch (a.type) {
    case "dm_reply":
      return `replied: “${preview(a.text)}”`;
    case "snippet":
      return sent === undefined ? undefined : `replied with saved reply ‘${a.name}’: “${preview(sent)}”`;
    case "private_reply":
      return `sent a private reply: “${preview(a.text)}”`;
    case "public_reply":
      return `replied publicly: “${preview(a.text)}”`;
    case "hide_comment":
      return "hid the comment";
    case "tag":
      return `tagged it ${a.tag}`;
    case "assign":
      return `assigned it to ${a.to}`;
    case "notice":
      return undefined;
  }
}

function preview(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
}

function unseen(event: DomainEvent): Subject | undefined {
  if (event.type === "comment")
    return (
      event.from && {
        accountId: event.accountId,
        customerId: event.from.id,
        rootCommentId: event.parentId ?? event.commentId,
      }
    );
  return "customerId" in event ? { accountId: event.accountId, customerId: event.customerId } : undefined;
}

/** One line per decision, for `threadbridge rules test` and `/ig rules test`. */
export function describeDecision(d: Decision): string {
  if (d.kind === "refuse") return `${d.ruleId}: matches, but held back: ${d.reason.message}`;
  const actions = d.actions.map(actionLine);
  return `${d.ruleId}: would fire: ${actions.join("; ")}`;
}

function actionLine(a: PlannedAction): string {
  switch (a.type) {
    case "dm_reply": {
      const quick = a.quickReplies.length ? ` [${a.quickReplies.map((q) => q.title).join(", ")}]` : "";
      return `dm_reply to ${a.recipient}: ${JSON.stringify(a.text)}${quick}`;
    }
    case "private_reply":
      return `private_reply to comment ${a.commentId}: ${JSON.stringify(a.text)}`;
    case "public_reply":
      return `public_reply under ${a.commentId}: ${JSON.stringify(a.text)}`;
    case "hide_comment":
      return `hide comment ${a.commentId}`;
    case "tag":
      return `tag ${a.tag}`;
    case "assign":
      return `assign to ${a.to}`;
    case "notice":
      return `notice ${JSON.stringify(a.text)}`;
    case "snippet":
      return `snippet ${a.name} to ${a.recipient}`;
  }
}

/** Rules answer customers: their messages, taps, referrals and comments, never the business's own. */
function applies(event: DomainEvent): boolean {
  switch (event.type) {
    case "dm.message":
    case "dm.postback":
    case "dm.referral":
      return true;
    case "comment":
      return !event.self;
    default:
      return false;
  }
}

function threadOf(row: {
  chat_platform: ChatPlatform | null;
  chat_channel: string | null;
  chat_thread: string | null;
}): { thread?: { platform: ChatPlatform; ref: ThreadRef } } {
  return row.chat_platform && row.chat_channel && row.chat_thread
    ? { thread: { platform: row.chat_platform, ref: { channel: row.chat_channel, thread: row.chat_thread } } }
    : {};
}
