import type { SqlClient } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { ActionRequest, ActionResult, AgentIdentity } from "./chat-port.ts";
import { chatKey } from "./ids.ts";

// What an action asked in chat may reach (issue 16): the Instagram accounts whose threads go to
// the channel it was asked in. Adapters pass a thread's own channel as `channel` (on Discord a
// thread's parent forum or text channel), so one rule covers a channel and its threads on both
// platforms. One brand's team does not moderate, read or switch another brand's account from
// their own channel, nor does a server the bot was merely added to reach any account.

export interface Scope {
  /** The channel the accounts were looked up for. */
  channel: string;
  accounts: ReadonlySet<string>;
}

/** The accounts whose threads go to `channel` (a Discord thread's parent, or the channel itself). */
export async function channelAccounts(db: SqlClient, channel: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM instagram_accounts WHERE chat_channel = $1
     UNION SELECT account_id FROM conversations WHERE chat_thread = $1 OR chat_channel = $1
     UNION SELECT account_id FROM comment_threads WHERE chat_thread = $1 OR chat_channel = $1`,
    [channel],
  );
  return rows.map((r) => r.id);
}

/** The accounts routed to any of `channels` (a person's channels, for their home view): the same
 * rule as `channelAccounts`, in one query; at most the first 1000 channels are looked at. */
export async function channelsAccounts(db: SqlClient, channels: readonly string[]): Promise<string[]> {
  if (channels.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM instagram_accounts WHERE chat_channel = ANY($1::text[])
     UNION SELECT account_id FROM conversations WHERE chat_channel = ANY($1::text[])
     UNION SELECT account_id FROM comment_threads WHERE chat_channel = ANY($1::text[])`,
    [channels.slice(0, 1000)],
  );
  return rows.map((r) => r.id);
}

export async function scopeOf(db: SqlClient, req: Pick<ActionRequest, "channel">): Promise<Scope> {
  return { channel: req.channel, accounts: new Set(await channelAccounts(db, req.channel)) };
}

export const NO_ACCOUNT_HERE = "This channel mirrors no Instagram account: nothing was done.";

const ELSEWHERE =
  "That belongs to an Instagram account whose threads are in another channel: ask there. Nothing was done.";

/** The refusal of an action on `account`, outside `scope` (or of any action where the scope is
 * empty): one log line, so an operator sees who tried to reach what from where. */
export function refuseOutside(
  log: Logger,
  agent: AgentIdentity,
  scope: Scope,
  action: string,
  account?: string,
  text: string = account === undefined ? NO_ACCOUNT_HERE : ELSEWHERE,
): ActionResult {
  log.warn(
    { agent: chatKey(agent.platform, agent.id), action, channel: scope.channel, account },
    "chat action outside its channel's accounts refused",
  );
  return { ok: false, text };
}
