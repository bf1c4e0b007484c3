// The chaos run's load: accounts routed to Slack or Discord, DM and comment conversations, and per
// conversation a fixed script of inbound events (DMs of several kinds, reactions, edits, unsends,
// comments) whose texts carry the conversation and a sequence number, so the checks can find every
// mirrored post and its place. Agent replies are typed in the Slack threads of some conversations.

import { commentWebhook, dmText } from "../../test/helpers/webhook.ts";

export interface ChaosAccount {
  id: string;
  platform: "slack" | "discord";
  channel: string;
}

export type EventKind = "text" | "quick_reply" | "reply_to" | "comment" | "reaction" | "edit" | "unsend";

export interface InboundEvent {
  kind: EventKind;
  /** The message's place in its conversation; for reaction/edit/unsend, the message acted on. */
  n: number;
  body: object;
}

export interface Conversation {
  key: string;
  account: ChaosAccount;
  kind: "dm" | "comment";
  customer: string;
  /** Comment conversations: the top-level comment (n = 0), the thread's key. */
  rootComment?: string;
  events: InboundEvent[];
  /** Agent replies to type in its chat thread (Slack DM conversations only). */
  replies: number;
}

export interface Scale {
  accounts: number;
  conversations: number;
  /** Messages per conversation (comments: the root and its replies). */
  messages: number;
  /** Every k-th account is routed to Discord. */
  discordEvery: number;
  /** Every k-th conversation is a comment thread. */
  commentEvery: number;
  /** Every k-th Slack DM conversation gets agent replies. */
  replyEvery: number;
  repliesPer: number;
}

/** The token a mirrored post carries: which conversation, which message. */
export const token = (key: string, n: number) => `[chaos ${key} #${n}]`;
export const TOKEN_RE = /\[chaos (\S+) #(\d+)\]/g;
export const replyText = (key: string, k: number) => `chaos reply ${key} r${k}`;

const pad = (n: number, width: number) => String(n).padStart(width, "0");

export function planLoad(scale: Scale): { accounts: ChaosAccount[]; conversations: Conversation[] } {
  const accounts: ChaosAccount[] = Array.from({ length: scale.accounts }, (_, i) => {
    const discord = i % scale.discordEvery === scale.discordEvery - 1;
    return {
      id: `178414000${pad(i, 8)}`,
      platform: discord ? "discord" : "slack",
      channel: discord ? `1000000000${pad(i, 8)}` : `C0CHAOS${pad(i, 4)}`,
    };
  });
  const now = Date.now();
  const conversations: Conversation[] = [];
  for (let c = 0; c < scale.conversations; c++) {
    const account = accounts[c % accounts.length] as ChaosAccount;
    const key = `c${pad(c, 5)}`;
    const customer = `6${pad(c, 15)}`;
    const ts = (n: number) => now + c + n * 1000;
    if (c % scale.commentEvery === scale.commentEvery - 1) {
      const root = `178500${pad(c, 6)}00000`;
      const events: InboundEvent[] = Array.from({ length: scale.messages }, (_, n) => ({
        kind: "comment" as const,
        n,
        body: commentWebhook(
          account.id,
          {
            id: n === 0 ? root : `178500${pad(c, 6)}${pad(n, 5)}`,
            ...(n === 0 ? {} : { parentId: root }),
            text: `comment ${token(key, n)}`,
            from: { id: customer, username: `fan_${c}` },
            mediaId: `179000${pad(c % 50, 11)}`,
          },
          ts(n),
        ),
      }));
      conversations.push({ key, account, kind: "comment", customer, rootComment: root, events, replies: 0 });
      continue;
    }
    const mid = (n: number) => `m_chaos_${key}_${n}`;
    const events: InboundEvent[] = [];
    for (let n = 0; n < scale.messages; n++) {
      const text = `dm ${token(key, n)}`;
      const base = dmText(account.id, customer, mid(n), text, ts(n));
      const message = base.entry[0]?.messaging[0]?.message as Record<string, unknown>;
      // A mix of DM shapes: plain, a quick-reply tap, an inline reply to the first message.
      const kind: EventKind = n % 3 === 1 ? "quick_reply" : n % 3 === 2 ? "reply_to" : "text";
      if (kind === "quick_reply") message.quick_reply = { payload: `CHAOS_${n}` };
      if (kind === "reply_to") message.reply_to = { mid: mid(0) };
      events.push({ kind, n, body: base });
    }
    // Acting on what is already mirrored, after it: a reaction, an edit, an unsend (on different
    // messages; one kind per conversation, rotating).
    const target = Math.min(1, scale.messages - 1);
    const act = c % 4;
    const messaging = (payload: Record<string, unknown>) => ({
      object: "instagram",
      entry: [
        {
          id: account.id,
          time: ts(scale.messages),
          messaging: [
            {
              sender: { id: customer },
              recipient: { id: account.id },
              timestamp: ts(scale.messages),
              ...payload,
            },
          ],
        },
      ],
    });
    if (act === 1)
      events.push({
        kind: "reaction",
        n: target,
        body: messaging({ reaction: { mid: mid(target), action: "react", reaction: "love", emoji: "❤️" } }),
      });
    if (act === 2)
      events.push({
        kind: "edit",
        n: target,
        body: messaging({
          message_edit: { mid: mid(target), text: `dm ${token(key, target)} edited`, num_edit: 1 },
        }),
      });
    if (act === 3)
      events.push({
        kind: "unsend",
        n: target,
        body: messaging({ message: { mid: mid(target), is_deleted: true } }),
      });
    const slackDm = account.platform === "slack";
    const replies = slackDm && c % scale.replyEvery === 0 ? scale.repliesPer : 0;
    conversations.push({ key, account, kind: "dm", customer, events, replies });
  }
  return { accounts, conversations };
}
