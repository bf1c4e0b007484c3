// The `/ig` slash command (manifest/discord-commands.json); SUBCOMMANDS is its help. On Discord it
// also works inside threads, where a customer option left out means the thread's customer. What it
// acts on is limited, in the core, to the accounts routed to the channel where it is used (a
// thread's parent channel); the manifest's default_member_permissions keeps it to members who may
// Manage Messages unless a server admin grants it otherwise.

import type { ChatAction, ConversationChange, ModerationCommand } from "../../src/bridge/chat-port.ts";
import { durationArg } from "../../src/bridge/durations.ts";
import { parseInstagramTarget } from "../../src/instagram/links.ts";

export const IG_COMMAND = "ig";

export type ParsedCommand = { kind: "action"; action: ChatAction } | { kind: "reply"; text: string };

const ACCOUNT = /^@?([A-Za-z0-9._]{1,30})$/;

const SUBCOMMANDS = [
  {
    usage: "hide target | unhide target",
    summary: "hide a comment, or show it again (target: its link or id)",
  },
  { usage: "delete target", summary: "delete a comment on Instagram for good (admins)" },
  { usage: "reply target text", summary: "answer a comment publicly, under it" },
  {
    usage: "comments-off target | comments-on target",
    summary: "turn comments off or on for a post or reel (target: its link or media id)",
  },
  {
    usage: "pause [account]",
    summary: "hold replies to Instagram (one account of this channel, or all of them; admins)",
  },
  { usage: "resume [account]", summary: "send held replies and go on sending (admins)" },
  { usage: "status", summary: "sending state and queues of this channel's accounts" },
  {
    usage: "rules list | enable id | disable id | test text",
    summary: "the auto-reply rules (enable and disable: admins)",
  },
  { usage: "consent state [user]", summary: "record a customer's consent (admins)" },
  { usage: "forget [user]", summary: "erase everything stored about a customer (admins)" },
  {
    usage: "export [user]",
    summary: "every row stored about a customer, as a JSON file only you see (admins)",
  },
  { usage: "digest [span]", summary: "post the managers' digest of the last 24h or 7d here (admins)" },
  { usage: "close | reopen", summary: "close or reopen the conversation (in its thread)" },
  {
    usage: "take | assign who",
    summary: "assign the conversation to yourself or to someone (in its thread)",
  },
  { usage: "snooze duration", summary: "set the conversation aside for 30m, 4h, 1d… (in its thread)" },
  { usage: "help", summary: "this list" },
];

export function usage(): string {
  return ["**/ig** commands:", ...SUBCOMMANDS.map((s) => `• \`/ig ${s.usage}\` — ${s.summary}`)].join("\n");
}

/** The `user` option: an @username, an id, or empty for the customer of the thread it is asked in. */
function customerOption(raw: string | null | undefined): string | ParsedCommand {
  const user = raw?.trim() ?? "";
  if (user === "" || ACCOUNT.test(user)) return user;
  return {
    kind: "reply",
    text: `\`${user.replace(/`/g, "")}\` is not an Instagram user (an @username or an id)`,
  };
}

/** `/ig close|reopen|take|assign|snooze`: a change to the conversation of the thread it is asked
 * in (the core refuses it anywhere else); undefined for other subcommands. */
function conversationCommand(
  subcommand: string | null,
  options: { who?: string | null; duration?: string | null },
): ParsedCommand | undefined {
  const change = (c: ConversationChange): ParsedCommand => ({
    kind: "action",
    action: { kind: "conversation", change: c },
  });
  switch (subcommand) {
    case "close":
    case "reopen":
    case "take":
      return change({ op: subcommand });
    case "assign": {
      const to = options.who?.trim() ?? "";
      return to
        ? change({ op: "assign", to })
        : { kind: "reply", text: "`/ig assign` needs who: an @name or a name" };
    }
    case "snooze": {
      const ms = durationArg(options.duration?.trim());
      if (ms === undefined || ms % 60_000 !== 0)
        return {
          kind: "reply",
          text: "`/ig snooze` takes a duration in minutes, hours or days: 30m, 4h, 1d (up to 30 days)",
        };
      return change({ op: "snooze", minutes: ms / 60_000 });
    }
    default:
      return undefined;
  }
}

const MODERATION: Record<string, { action: ModerationCommand; what: "comment" | "post" }> = {
  hide: { action: "hide", what: "comment" },
  unhide: { action: "unhide", what: "comment" },
  delete: { action: "delete", what: "comment" },
  reply: { action: "reply", what: "comment" },
  "comments-off": { action: "comments_off", what: "post" },
  "comments-on": { action: "comments_on", what: "post" },
};

/** `/ig hide|unhide|delete|reply|comments-off|comments-on`: by link or id, in the channel of the
 * comment's account or any of its threads; the core finds the comment or post and refuses one of
 * another channel's account. Undefined for other subcommands. */
function moderationCommand(
  subcommand: string | null,
  options: { target?: string | null; text?: string | null },
): ParsedCommand | undefined {
  const m = subcommand === null ? undefined : MODERATION[subcommand];
  if (!m) return undefined;
  const target = options.target?.trim() ?? "";
  const kind = m.what === "comment" ? "comment link or id" : "post link or media id";
  if (target === "") return { kind: "reply", text: `\`/ig ${subcommand}\` needs a target: a ${kind}` };
  if (!parseInstagramTarget(target))
    return { kind: "reply", text: `\`${target.replace(/`/g, "")}\` is not a ${kind}` };
  if (m.action !== "reply") return { kind: "action", action: { kind: "moderate", action: m.action, target } };
  const text = options.text?.trim() ?? "";
  if (text === "") return { kind: "reply", text: "`/ig reply` needs the public reply's text" };
  return { kind: "action", action: { kind: "moderate", action: "reply", target, text } };
}

/** The subcommand (and group) and their options → an action, or a line for the person who asked. */
export function parseIgCommand(
  subcommand: string | null,
  account: string | null,
  group: string | null = null,
  options: {
    id?: string | null;
    text?: string | null;
    state?: string | null;
    user?: string | null;
    who?: string | null;
    duration?: string | null;
    target?: string | null;
    span?: string | null;
  } = {},
): ParsedCommand {
  if (subcommand === "digest" && group === null) {
    const span = options.span ?? "24h";
    return span === "24h" || span === "7d"
      ? { kind: "action", action: { kind: "digest", span } }
      : { kind: "reply", text: "`/ig digest` takes span 24h or 7d" };
  }
  const conversation = group === null ? conversationCommand(subcommand, options) : undefined;
  if (conversation) return conversation;
  const moderation = group === null ? moderationCommand(subcommand, options) : undefined;
  if (moderation) return moderation;
  if (subcommand === "forget" || subcommand === "export") {
    const user = customerOption(options.user);
    return typeof user === "string" ? { kind: "action", action: { kind: subcommand, user } } : user;
  }
  if (subcommand === "consent") {
    const state = options.state;
    if (state !== "granted" && state !== "revoked")
      return { kind: "reply", text: "`/ig consent` needs state granted or revoked" };
    const user = customerOption(options.user);
    if (typeof user !== "string") return user;
    return { kind: "action", action: { kind: "consent_set", user, consent: state } };
  }
  if (group === "rules") {
    switch (subcommand) {
      case "list":
        return { kind: "action", action: { kind: "rules_list" } };
      case "enable":
      case "disable":
        return options.id
          ? {
              kind: "action",
              action: { kind: "rules_toggle", ruleId: options.id.trim(), enabled: subcommand === "enable" },
            }
          : { kind: "reply", text: `\`/ig rules ${subcommand}\` needs a rule id (see /ig rules list)` };
      case "test":
        return options.text?.trim()
          ? { kind: "action", action: { kind: "rules_test", text: options.text.trim() } }
          : { kind: "reply", text: "`/ig rules test` needs a text to try" };
      default:
        return { kind: "reply", text: usage() };
    }
  }
  switch (subcommand) {
    case "pause":
    case "resume": {
      if (account === null || account.trim() === "") return { kind: "action", action: { kind: subcommand } };
      const match = ACCOUNT.exec(account.trim());
      if (!match?.[1])
        return {
          kind: "reply",
          text: `\`${account.replace(/`/g, "")}\` is not an Instagram account (a username or an id)`,
        };
      return { kind: "action", action: { kind: subcommand, account: match[1] } };
    }
    case "status":
      return { kind: "action", action: { kind: "status" } };
    default:
      return { kind: "reply", text: usage() };
  }
}
