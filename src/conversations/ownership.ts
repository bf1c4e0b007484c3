import { recordAudit } from "../audit/audit-log.ts";
import type {
  ActionResult,
  AgentIdentity,
  ChatPlatform,
  GroupMember,
  HomeRequest,
  HomeView,
  MemberDirectory,
  QueueState,
  ThreadRef,
} from "../chat/chat-port.ts";
import { chatKey } from "../chat/ids.ts";
import { channelsAccounts, NO_ACCOUNT_HERE, type Scope } from "../chat/scope.ts";
import type { Database } from "../db/database.ts";
import { PRIVATE_REPLY_WINDOW_MS, storedEntry, windowState } from "../instagram/windows.ts";
import type { Logger } from "../log/logger.ts";
import type { ThreadKind } from "./conversation-list.ts";
import { QUEUE_STATE_LABELS, queueState } from "./queue-state.ts";
import { type Thread, threadTable, threadTarget } from "./threads.ts";

// Who owns a conversation (issue 21), per account: new conversations assigned automatically among
// a pool (a platform group the account's platform resolves through its MemberDirectory) by round
// robin or fewest open, skipping agents who said `/ig away` and those at the cap; the first agent
// to reply to an unassigned conversation takes it; someone else replying is told, privately, who
// owns it. Everything is in the database (assignee, the cursor, who is away), so it survives
// restarts, and an assignment runs in one transaction holding the account's cursor row, so
// workers assigning at once take turns.

export type AssignMode = "off" | "manual" | "round-robin" | "fewest-open";
export const ASSIGN_MODES: readonly AssignMode[] = ["off", "manual", "round-robin", "fewest-open"];

/** `instagram_accounts.settings.ownership`. `off`: nothing automatic (`!assign` and 👀 only);
 * `manual`: the first to reply takes it and others are told who owns it; the two automatic modes
 * also assign each new conversation among `pool`. */
export interface OwnershipSettings {
  mode: AssignMode;
  /** A group of the account's chat platform: a Slack user group id, a Discord role id. */
  pool?: string;
  /** At most this many open (not closed) conversations per agent from automatic assignment. */
  cap?: number;
}

export function ownershipSettings(raw: unknown): OwnershipSettings {
  const o = (raw && typeof raw === "object" ? (raw as { ownership?: unknown }).ownership : undefined) as
    | Partial<OwnershipSettings>
    | undefined;
  const mode = ASSIGN_MODES.includes(o?.mode as AssignMode) ? (o?.mode as AssignMode) : "off";
  const settings: OwnershipSettings = { mode };
  if (typeof o?.pool === "string" && o.pool !== "") settings.pool = o.pool;
  if (typeof o?.cap === "number" && Number.isInteger(o.cap) && o.cap > 0) settings.cap = o.cap;
  return settings;
}

export interface PickInput {
  mode: "round-robin" | "fewest-open";
  /** Platform user ids of agents who are away. */
  away: ReadonlySet<string>;
  /** Open conversations per agent id (absent: none). */
  open: ReadonlyMap<string, number>;
  cap?: number;
  /** The agent assigned last: round robin goes on after them. */
  last?: string;
}

/** The agent a new conversation goes to, or undefined when nobody may take it. Members are taken
 * in the order of their ids, starting after the last one assigned, so the turn is the same
 * whichever worker asks; fewest open breaks ties in that same order. */
export function pickAgent(members: readonly GroupMember[], input: PickInput): GroupMember | undefined {
  const sorted = [...new Map(members.map((m) => [m.id, m])).values()].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  const start = input.last === undefined ? 0 : sorted.findIndex((m) => m.id > (input.last as string));
  const turn = start <= 0 ? sorted : [...sorted.slice(start), ...sorted.slice(0, start)];
  const load = (m: GroupMember) => input.open.get(m.id) ?? 0;
  const eligible = turn.filter(
    (m) => !input.away.has(m.id) && (input.cap === undefined || load(m) < input.cap),
  );
  if (input.mode === "round-robin") return eligible[0];
  let best: GroupMember | undefined;
  for (const m of eligible) if (!best || load(m) < load(best)) best = m;
  return best;
}

/** What automatic assignment gives an owner: a DM conversation or a comment thread, by row id. */
export interface Owned {
  kind: "dm" | "comment";
  id: number;
}

export type QueueFilter = "mine" | "unassigned" | "all";

export interface QueueEntry {
  /** A DM conversation or a comment thread (its customer: the top-level comment's author). */
  kind: ThreadKind;
  /** The conversation's or the comment thread's row id. */
  id: number;
  accountId: string;
  account: string;
  customer: string;
  state: QueueState;
  assignee?: string;
  /** The customer's last message: oldest first. */
  since: Date | null;
  /** What is left of the window to answer in, as words. */
  left: string;
  /** Its chat thread, once mirrored. */
  thread?: ThreadRef;
}

/** A page of the queue and how many entries match in all. */
export interface QueuePage {
  entries: QueueEntry[];
  total: number;
}

/** The most entries a home view's section shows, whatever the platform asks. */
export const HOME_LIMIT = 25;

export interface OwnershipDeps {
  db: Database;
  /** Each platform's group directory, where it has one (filled as platforms start). */
  directories: ReadonlyMap<ChatPlatform, MemberDirectory>;
  log: Logger;
  humanAgent: boolean;
  now?: () => Date;
}

/** What a reply did to the conversation's ownership. */
export type ReplyOwnership = { kind: "took" } | { kind: "owned_by"; owner: string } | { kind: "unchanged" };

const QUEUE_LIMIT = 25;

export class Ownership {
  private readonly deps: OwnershipDeps;

  constructor(deps: OwnershipDeps) {
    this.deps = deps;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Assigns a new conversation or comment thread automatically, when its account asks for it
   * and it has no assignee yet. The pool is read from the platform first (a chat call, outside
   * any transaction); the choice and the write happen under the account's cursor lock. A comment
   * thread is owned like a conversation: it takes its turn and counts in an agent's open load. */
  async assignNew(accountId: string, owned: Owned, platform: ChatPlatform, channel: string) {
    const { rows } = await this.deps.db.query<{ settings: unknown }>(
      "SELECT settings FROM instagram_accounts WHERE id = $1",
      [accountId],
    );
    const settings = ownershipSettings(rows[0]?.settings);
    if ((settings.mode !== "round-robin" && settings.mode !== "fewest-open") || !settings.pool) return;
    const directory = this.deps.directories.get(platform);
    if (!directory) {
      this.deps.log.warn(
        { account: accountId, platform },
        "automatic assignment needs a platform that lists a group's members; nobody assigned",
      );
      return;
    }
    let members: GroupMember[];
    try {
      members = await directory.groupMembers(settings.pool, channel);
    } catch (err) {
      this.deps.log.warn(
        { account: accountId, platform, pool: settings.pool, err },
        "the assignment pool could not be read; nobody assigned",
      );
      return;
    }
    const mode = settings.mode;
    await this.deps.db.transaction(async (tx) => {
      await tx.query(
        "INSERT INTO assignment_cursors (account_id) VALUES ($1) ON CONFLICT (account_id) DO NOTHING",
        [accountId],
      );
      const cursor = await tx.query<{ last_agent: string | null }>(
        "SELECT last_agent FROM assignment_cursors WHERE account_id = $1 FOR UPDATE",
        [accountId],
      );
      const table = owned.kind === "dm" ? "conversations" : "comment_threads";
      const convo = await tx.query<{ assignee: string | null; target: string }>(
        `SELECT assignee, ${owned.kind === "dm" ? "'customer:' || customer_id" : "'comment:' || root_comment_id"} AS target
           FROM ${table} WHERE id = $1 FOR UPDATE`,
        [owned.id],
      );
      const row = convo.rows[0];
      if (!row || row.assignee !== null) return;
      const away = await tx.query<{ agent_id: string }>(
        "SELECT agent_id FROM agents_away WHERE platform = $1",
        [platform],
      );
      const open = await tx.query<{ assignee_ref: string; n: string }>(
        `SELECT assignee_ref, count(*) AS n FROM (
           SELECT assignee_ref FROM conversations
            WHERE account_id = $1 AND status <> 'closed' AND assignee_ref IS NOT NULL AND chat_platform = $2
           UNION ALL
           SELECT assignee_ref FROM comment_threads
            WHERE account_id = $1 AND status <> 'closed' AND assignee_ref IS NOT NULL AND chat_platform = $2
         ) owned GROUP BY assignee_ref`,
        [accountId, platform],
      );
      const last = cursor.rows[0]?.last_agent ?? undefined;
      const chosen = pickAgent(members, {
        mode,
        away: new Set(away.rows.map((r) => r.agent_id)),
        open: new Map(open.rows.map((r) => [r.assignee_ref, Number(r.n)])),
        ...(settings.cap !== undefined ? { cap: settings.cap } : {}),
        ...(last !== undefined ? { last } : {}),
      });
      if (!chosen) {
        this.deps.log.info(
          { account: accountId, pool: settings.pool, members: members.length },
          "no agent of the pool can take a new conversation (away or at the cap); left unassigned",
        );
        return;
      }
      await tx.query(
        `UPDATE ${table} SET assignee = $2, assignee_ref = $3, assigned_at = now(), updated_at = now()
          WHERE id = $1`,
        [owned.id, chosen.name, chosen.id],
      );
      await tx.query(
        "UPDATE assignment_cursors SET last_agent = $2, updated_at = now() WHERE account_id = $1",
        [accountId, chosen.id],
      );
      await recordAudit(tx, {
        actor: { kind: "system", name: mode },
        account: accountId,
        action: "conversation_assigned",
        target: row.target,
        details: { assignee: chosen.name, assigneeRef: chatKey(platform, chosen.id), how: mode },
      });
    });
  }

  /** An agent's reply in a DM or comment thread: where its account turns ownership on, an
   * unassigned conversation becomes theirs; a conversation someone else owns stays theirs, and
   * the replier learns whose it is. */
  async replied(thread: Thread, agent: AgentIdentity): Promise<ReplyOwnership> {
    const table = threadTable(thread);
    const { rows: account } = await this.deps.db.query<{ settings: unknown }>(
      "SELECT settings FROM instagram_accounts WHERE id = $1",
      [thread.accountId],
    );
    if (ownershipSettings(account[0]?.settings).mode === "off") return { kind: "unchanged" };
    return this.deps.db.transaction(async (tx) => {
      const taken = await tx.query(
        `UPDATE ${table} SET assignee = $2, assignee_ref = $3, assigned_at = now(), updated_at = now()
          WHERE id = $1 AND assignee IS NULL RETURNING id`,
        [thread.id, agent.name, agent.id],
      );
      if (taken.rows.length > 0) {
        await recordAudit(tx, {
          actor: { kind: "agent", id: chatKey(agent.platform, agent.id), name: agent.name },
          account: thread.accountId,
          action: "conversation_assigned",
          target: threadTarget(thread),
          details: { assignee: agent.name, how: "first_reply" },
        });
        return { kind: "took" as const };
      }
      const { rows } = await tx.query<{ assignee: string; assignee_ref: string | null }>(
        `SELECT assignee, assignee_ref FROM ${table} WHERE id = $1`,
        [thread.id],
      );
      const owner = rows[0];
      if (!owner) return { kind: "unchanged" as const };
      // Assigned by name only (`!assign @Name`): the name is all there is to compare.
      const mine = owner.assignee_ref ? owner.assignee_ref === agent.id : owner.assignee === agent.name;
      return mine ? { kind: "unchanged" as const } : { kind: "owned_by" as const, owner: owner.assignee };
    });
  }

  /** `/ig away` and `/ig back`: automatic assignment skips an agent who is away. */
  async setAway(agent: AgentIdentity, away: boolean): Promise<ActionResult> {
    if (away) {
      const { rows } = await this.deps.db.query(
        `INSERT INTO agents_away (platform, agent_id, name) VALUES ($1, $2, $3)
         ON CONFLICT (platform, agent_id) DO NOTHING RETURNING agent_id`,
        [agent.platform, agent.id, agent.name],
      );
      return {
        ok: true,
        text:
          rows.length > 0
            ? "You are away: new conversations are not assigned to you until you say /ig back. Those you own stay yours."
            : "You were already away: say /ig back to get new conversations again.",
      };
    }
    const { rows } = await this.deps.db.query(
      "DELETE FROM agents_away WHERE platform = $1 AND agent_id = $2 RETURNING agent_id",
      [agent.platform, agent.id],
    );
    return {
      ok: true,
      text:
        rows.length > 0
          ? "Welcome back: new conversations can be assigned to you again."
          : "You were not away: new conversations can be assigned to you.",
    };
  }

  /** The open conversations of the scope's accounts, oldest wait first. */
  async queue(agent: AgentIdentity, scope: Scope, filter: QueueFilter): Promise<QueueEntry[]> {
    if (scope.accounts.size === 0) return [];
    return (await this.queuePage(agent, scope.accounts, filter, QUEUE_LIMIT + 1)).entries;
  }

  /** The queue's one query: the open conversations and comment threads of `accounts` ("any":
   * every account of the agent's platform) on the agent's platform, oldest wait first, at most
   * `limit`, with how many match in all. A comment thread's customer is the top-level comment's
   * author and its wait is read from its messages (comment_threads keeps no such column; the
   * (comment_thread_id, occurred_at) index answers each). */
  private async queuePage(
    agent: AgentIdentity,
    accounts: ReadonlySet<string> | "any",
    filter: QueueFilter,
    limit: number,
  ): Promise<QueuePage> {
    const params: unknown[] = [agent.platform];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    // Placeholders made once, the conditions written for either table's alias.
    const conditions: ((t: string) => string)[] = [
      (t) => `${t}.status <> 'closed'`,
      (t) => `${t}.chat_platform = $1`,
    ];
    if (accounts !== "any") {
      const ids = p([...accounts]);
      conditions.push((t) => `${t}.account_id = ANY(${ids}::text[])`);
    }
    if (filter === "mine") {
      const [id, name] = [p(agent.id), p(agent.name)];
      conditions.push(
        (t) => `(${t}.assignee_ref = ${id} OR (${t}.assignee_ref IS NULL AND ${t}.assignee = ${name}))`,
      );
    }
    if (filter === "unassigned") conditions.push((t) => `${t}.assignee IS NULL`);
    const where = (t: string) => conditions.map((c) => c(t)).join(" AND ");
    const { rows } = await this.deps.db.query<{
      kind: ThreadKind;
      id: string;
      account_id: string;
      username: string | null;
      customer_id: string;
      name: string | null;
      customer_username: string | null;
      status: "open" | "closed" | "snoozed";
      assignee: string | null;
      customer_at: Date | null;
      business_at: Date | null;
      entry_point: string | null;
      entry_at: Date | null;
      commented_at: Date | null;
      private_reply_at: Date | null;
      chat_channel: string | null;
      chat_thread: string | null;
      total: string;
    }>(
      `SELECT x.*, a.username, count(*) OVER () AS total FROM (
         SELECT 'dm'::text AS kind, c.id, c.account_id, c.customer_id, c.profile->>'name' AS name,
                c.profile->>'username' AS customer_username, c.status, c.assignee,
                c.last_customer_message_at AS customer_at, c.last_business_message_at AS business_at,
                c.entry_point, c.entry_at, NULL::timestamptz AS commented_at,
                NULL::timestamptz AS private_reply_at, c.chat_channel, c.chat_thread
           FROM conversations c WHERE ${where("c")}
         UNION ALL
         SELECT 'comment', t.id, t.account_id, COALESCE(t.author_id, ''), NULL, t.author_username,
                t.status, t.assignee, t.last_customer_at, t.last_business_at, NULL, NULL,
                t.root_commented_at, t.private_reply_sent_at, t.chat_channel, t.chat_thread
           FROM comment_threads t WHERE ${where("t")}
       ) x JOIN instagram_accounts a ON a.id = x.account_id
        ORDER BY x.customer_at ASC NULLS LAST, x.kind DESC, x.id ASC
        LIMIT ${p(limit)}`,
      params,
    );
    const now = this.now();
    const entries = rows.map((r) => {
      const lastCustomerAt = r.customer_at ? new Date(r.customer_at) : null;
      const entry: QueueEntry = {
        kind: r.kind,
        id: Number(r.id),
        accountId: r.account_id,
        account: r.username ? `@${r.username}` : r.account_id,
        customer:
          r.name ?? (r.customer_username ? `@${r.customer_username}` : `Instagram user ${r.customer_id}`),
        state: queueState({
          status: r.status,
          lastCustomerAt,
          lastBusinessAt: r.business_at ? new Date(r.business_at) : null,
        }),
        since: lastCustomerAt,
        left:
          r.kind === "comment"
            ? privateReplyLeft(r.commented_at, r.private_reply_at, now)
            : windowLeft(
                windowState(
                  lastCustomerAt,
                  now,
                  this.deps.humanAgent,
                  storedEntry(r.entry_point, r.entry_at),
                ),
                now,
              ),
      };
      if (r.assignee) entry.assignee = r.assignee;
      if (r.chat_channel && r.chat_thread) entry.thread = { channel: r.chat_channel, thread: r.chat_thread };
      return entry;
    });
    return { entries, total: Number(rows[0]?.total ?? 0) };
  }

  /** A person's home view: the open conversations assigned to them on their platform, whichever
   * account (being assigned is what lets them see it), and the unassigned ones of the accounts
   * routed to the channels they are in. Oldest wait first, at most `limit` (≤ HOME_LIMIT) each. */
  async home(request: HomeRequest): Promise<HomeView> {
    const limit = Math.min(Math.max(Math.floor(request.limit), 1), HOME_LIMIT);
    const accounts = new Set(await channelsAccounts(this.deps.db, request.channels));
    const [mine, unassigned] = await Promise.all([
      this.queuePage(request.agent, "any", "mine", limit),
      accounts.size > 0
        ? this.queuePage(request.agent, accounts, "unassigned", limit)
        : Promise.resolve({ entries: [], total: 0 }),
    ]);
    const section = (page: QueuePage) => ({
      entries: page.entries.map((e) => ({
        kind: e.kind,
        account: e.account,
        customer: e.customer,
        state: e.state,
        since: e.since,
        left: e.left,
        ...(e.thread ? { thread: e.thread } : {}),
      })),
      more: Math.max(0, page.total - page.entries.length),
    });
    return { mine: section(mine), unassigned: section(unassigned) };
  }

  /** `/ig queue`'s answer, for the asker alone. */
  async queueText(agent: AgentIdentity, scope: Scope, filter: QueueFilter): Promise<ActionResult> {
    if (scope.accounts.size === 0) return { ok: false, text: NO_ACCOUNT_HERE };
    const entries = await this.queue(agent, scope, filter);
    const what = { mine: "assigned to you", unassigned: "unassigned", all: "open" }[filter];
    if (entries.length === 0)
      return {
        ok: true,
        text: {
          mine: "No open conversation here is assigned to you.",
          unassigned: "Every open conversation here has an owner.",
          all: "No open conversation here.",
        }[filter],
      };
    const shown = entries.slice(0, QUEUE_LIMIT);
    const lines = shown.map((e, i) => {
      const who = filter === "mine" ? "" : ` · ${e.assignee ?? "unassigned"}`;
      const account = scope.accounts.size > 1 ? ` (${e.account})` : "";
      const comment = e.kind === "comment" ? " (comment)" : "";
      return `${i + 1}. ${e.customer}${comment}${account} · ${QUEUE_STATE_LABELS[e.state]}${who} · ${e.left}`;
    });
    const more = entries.length > QUEUE_LIMIT ? [`…and more: the ${QUEUE_LIMIT} oldest are shown.`] : [];
    return {
      ok: true,
      text: [`Conversations ${what}, oldest first:`, ...lines, ...more].join("\n"),
    };
  }
}

/** "5h 20m left", "2d 3h left to a human (HUMAN_AGENT)", "window closed". */
export function windowLeft(w: ReturnType<typeof windowState>, now: Date): string {
  if (w.kind === "none") return "no message from the customer yet";
  if (w.kind === "closed") return "window closed";
  const span = spanText(w.until.getTime() - now.getTime());
  return w.kind === "human_agent" ? `${span} left for a human reply` : `${span} left`;
}

/** A comment thread's clock: public replies have none; the one private reply to its author has 7
 * days from the comment. */
export function privateReplyLeft(commentedAt: Date | null, sentAt: Date | null, now: Date): string {
  if (sentAt) return "private reply sent";
  if (!commentedAt) return "public replies";
  const left = new Date(commentedAt).getTime() + PRIVATE_REPLY_WINDOW_MS - now.getTime();
  return left > 0 ? `${spanText(left)} left for a private reply` : "public replies only";
}

/** "2d 3h", "5h 20m", "12m": a span as the queue and the timers' notices say it. */
export function spanText(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m`;
}
