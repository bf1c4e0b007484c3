// What the chaos run proves, read off the fakes' recorded state and the database after the queues
// drain: every accepted inbound event mirrored exactly once and in per-conversation order (and the
// reactions, edits and unsends applied), every agent reply sent to Instagram exactly once or
// marked failed with a reason, and no account's calls over its limit in any window.

import { ALERT_THREAD_NAME } from "../../adapters/discord/render.ts";
import type { Database } from "../../src/db/database.ts";
import type { DiscordServer } from "../../test/fakes/discord-server.ts";
import type { GraphLoadServer, LoadCall } from "../../test/fakes/graph-load-server.ts";
import type { SlackServer } from "../../test/fakes/slack-server.ts";
import { type Conversation, replyText, TOKEN_RE } from "./load.ts";

export interface CheckResult {
  events: number;
  mirrored: number;
  missing: number;
  duplicates: number;
  outOfOrder: number;
  /** Threads the bridge opened that no conversation holds (a retry opened a second one). */
  extraThreads: number;
  actionsApplied: number;
  actionsMissing: number;
  replies: number;
  repliesSent: number;
  repliesFailed: number;
  repliesDuplicated: number;
  repliesLost: number;
  maxPerWindow: number;
  /** First few problems, for the report. */
  problems: string[];
  /** Keys of the conversations with a missing, repeated or misplaced event (first few). */
  troubled: string[];
}

interface Post {
  text: string;
  reacted: boolean;
}

/** The place a post stands for: the highest of its conversation's tokens (an inline reply also
 * quotes the message it answers, which is always an earlier one). */
function placeOf(key: string, text: string): number | undefined {
  let best: number | undefined;
  // Markdown escapes (Discord) put backslashes before the token's brackets and hash.
  for (const m of text.replace(/\\/g, "").matchAll(TOKEN_RE))
    if (m[1] === key) best = Math.max(best ?? -1, Number(m[2]));
  return best;
}

function postsOf(
  c: Conversation,
  thread: string,
  fakes: { slack: SlackServer; discord: DiscordServer },
): Post[] {
  // A DM thread's header previews the latest message, so it is not a mirror of one; a comment
  // thread's header is the top-level comment itself (#0).
  const withHeader = c.kind === "comment";
  if (c.account.platform === "slack") {
    const all = fakes.slack.thread(c.account.channel, thread);
    return all.slice(withHeader ? 0 : 1).map((m) => ({
      text: JSON.stringify({ text: m.text, blocks: m.blocks }),
      reacted: m.reactions.size > 0,
    }));
  }
  const starter = withHeader ? fakes.discord.message(c.account.channel, thread) : undefined;
  return [...(starter ? [starter] : []), ...fakes.discord.messages(thread)]
    .filter((m) => !m.deleted)
    .map((m) => ({
      text: JSON.stringify({ content: m.content, embeds: m.embeds }),
      reacted: m.reactions.size > 0,
    }));
}

export async function check(
  conversations: Conversation[],
  threads: Map<string, string>,
  fakes: { slack: SlackServer; discord: DiscordServer; graph: GraphLoadServer },
  db: Database,
  limit: number,
): Promise<CheckResult> {
  const r: CheckResult = {
    events: 0,
    mirrored: 0,
    missing: 0,
    duplicates: 0,
    outOfOrder: 0,
    extraThreads: 0,
    actionsApplied: 0,
    actionsMissing: 0,
    replies: 0,
    repliesSent: 0,
    repliesFailed: 0,
    repliesDuplicated: 0,
    repliesLost: 0,
    maxPerWindow: 0,
    problems: [],
    troubled: [],
  };
  const problem = (s: string, key?: string) => {
    if (r.problems.length < 40) r.problems.push(s);
    if (key && r.troubled.length < 5 && !r.troubled.includes(key)) r.troubled.push(key);
  };
  const { rows: deleted } = await db.query<{ ig_message_id: string }>(
    "SELECT ig_message_id FROM messages WHERE deleted_at IS NOT NULL AND ig_message_id LIKE 'm_chaos_%'",
  );
  const deletedMids = new Set(deleted.map((d) => d.ig_message_id));

  for (const c of conversations) {
    r.events += c.events.length;
    const unsent = new Set(c.events.filter((e) => e.kind === "unsend").map((e) => e.n));
    const messages = c.events.filter(
      (e) => e.kind !== "reaction" && e.kind !== "edit" && e.kind !== "unsend",
    );
    const thread = threads.get(c.key);
    const posts = thread ? postsOf(c, thread, fakes) : [];
    const places = posts.map((p) => placeOf(c.key, p.text));
    const seen = places.filter((n): n is number => n !== undefined);
    const expected = messages.map((e) => e.n).filter((n) => !unsent.has(n));
    for (const n of expected) {
      const k = seen.filter((s) => s === n).length;
      if (k === 0) {
        r.missing += 1;
        problem(`${c.key} #${n}: not mirrored (thread ${thread ?? "none"})`, c.key);
      } else r.mirrored += 1;
      if (k > 1) {
        r.duplicates += k - 1;
        problem(`${c.key} #${n}: mirrored ${k} times`, c.key);
      }
    }
    for (let i = 1; i < seen.length; i++)
      if ((seen[i] as number) < (seen[i - 1] as number)) {
        r.outOfOrder += 1;
        problem(`${c.key}: #${seen[i]} after #${seen[i - 1]}`, c.key);
      }
    for (const e of c.events) {
      if (e.kind !== "reaction" && e.kind !== "edit" && e.kind !== "unsend") continue;
      const target = posts.filter((_, i) => places[i] === e.n);
      const applied =
        e.kind === "unsend"
          ? target.length === 0 && deletedMids.has(`m_chaos_${c.key}_${e.n}`)
          : e.kind === "edit"
            ? target.length === 1 && target[0]?.text.includes("edited")
            : target.length === 1 && target[0]?.reacted === true;
      if (applied) {
        r.actionsApplied += 1;
        r.mirrored += 1;
      } else {
        r.actionsMissing += 1;
        problem(`${c.key}: ${e.kind} of #${e.n} not applied`, c.key);
      }
    }
  }

  // Threads: each channel holds only the threads its conversations point at (Slack roots the
  // mirror opened carry its key in their metadata; alerts and digests do not).
  const known = new Set(threads.values());
  for (const account of new Set(conversations.map((c) => c.account))) {
    const opened =
      account.platform === "slack"
        ? fakes.slack
            .topLevel(account.channel)
            .filter((m) => m.metadata?.event_type === "threadbridge_copy")
            .map((m) => m.ts)
        : fakes.discord
            .threads(account.channel)
            .filter((t) => t.name !== ALERT_THREAD_NAME)
            .map((t) => t.id);
    for (const t of opened)
      if (!known.has(t)) {
        r.extraThreads += 1;
        problem(`${account.channel}: thread ${t} belongs to no conversation`);
      }
  }

  // Agent replies: one 200 at the Graph fake per reply text, or a failed row with a reason.
  const { rows } = await db.query<{ text: string; delivery_state: string; delivery_error: string | null }>(
    "SELECT text, delivery_state, delivery_error FROM messages WHERE direction = 'outbound' AND text LIKE 'chaos reply %'",
  );
  const rowsByText = new Map<string, typeof rows>();
  for (const row of rows) rowsByText.set(row.text, [...(rowsByText.get(row.text) ?? []), row]);
  const okCalls = new Map<string, number>();
  // Delivered, whether or not the caller heard the answer (a worker killed mid-call).
  for (const call of fakes.graph.calls)
    if (
      (call.outcome === 200 || (call.outcome === "dropped" && call.messageId)) &&
      call.text?.startsWith("chaos reply ")
    )
      okCalls.set(call.text, (okCalls.get(call.text) ?? 0) + 1);
  for (const c of conversations)
    for (let k = 0; k < c.replies; k++) {
      r.replies += 1;
      const text = replyText(c.key, k);
      const stored = rowsByText.get(text) ?? [];
      const calls = okCalls.get(text) ?? 0;
      if (stored.length > 1 || calls > 1) {
        r.repliesDuplicated += 1;
        problem(`${text}: ${stored.length} rows, ${calls} sends`);
      } else if (stored[0]?.delivery_state === "sent" && calls === 1) r.repliesSent += 1;
      else if (stored[0]?.delivery_state === "failed" && stored[0].delivery_error && calls === 0)
        r.repliesFailed += 1;
      else {
        r.repliesLost += 1;
        problem(`${text}: ${stored[0]?.delivery_state ?? "no row"}, ${calls} sends`);
      }
    }

  const accounts = new Set(conversations.map((c) => c.account.id));
  for (const a of accounts)
    r.maxPerWindow = Math.max(r.maxPerWindow, fakes.graph.maxInWindow(a, "send_text", 1000));
  if (r.maxPerWindow > limit) {
    problem(`an account made ${r.maxPerWindow} send calls in 1 s (limit ${limit})`);
    for (const a of accounts) for (const line of overLimit(fakes.graph, a, limit)) problem(line);
  }
  return r;
}

/** The calls of the first 1-s window of `account` over the limit, on the wall clock, so that a
 * report can be read beside the fault timeline. */
function overLimit(graph: GraphLoadServer, account: string, limit: number): string[] {
  const times = graph.calls
    .filter((c) => c.account === account && c.cls === "send_text")
    .sort((a, b) => a.at - b.at);
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    while ((times[i] as LoadCall).at - (times[j] as LoadCall).at >= 1000) j++;
    if (i - j + 1 > limit) {
      const wall = (c: LoadCall) => new Date(performance.timeOrigin + c.at).toISOString().slice(11, 23);
      return times
        .slice(j, i + 1)
        .map((c) => `  ${account} send at ${wall(c)}: ${c.outcome}${c.fault ? ` (${c.fault})` : ""}`);
    }
  }
  return [];
}

export function failed(r: CheckResult, limit: number): boolean {
  return (
    r.missing > 0 ||
    r.duplicates > 0 ||
    r.outOfOrder > 0 ||
    r.extraThreads > 0 ||
    r.actionsMissing > 0 ||
    r.repliesDuplicated > 0 ||
    r.repliesLost > 0 ||
    r.maxPerWindow > limit
  );
}
