// The `/ig` slash command: channel-level controls (Slack runs no custom command inside a thread).
// Subcommands are table entries; a new one is a new row with its own argument parser.

import type { App } from "@slack/bolt";
import type { ChatAction, ModerationCommand } from "../../src/bridge/chat-port.ts";
import { parseInstagramTarget } from "../../src/instagram/links.ts";
import { agentIdentity, type ListenerDeps } from "./listener-deps.ts";
import { escapeText } from "./mrkdwn.ts";
import { resultText } from "./private-file.ts";

export type ParsedCommand = { kind: "action"; action: ChatAction } | { kind: "reply"; text: string };

interface Subcommand {
  name: string;
  usage: string;
  summary: string;
  /** Arguments after the subcommand name → the action, or an error line for the user. */
  parse(args: string[]): ChatAction | { error: string };
}

const ACCOUNT = /^@?([A-Za-z0-9._]{1,30})$/;

function optionalAccount(kind: "pause" | "resume") {
  return (args: string[]): ChatAction | { error: string } => {
    if (args.length > 1) return { error: `\`${kind}\` takes at most one account; got \`${args.join(" ")}\`` };
    const [raw] = args;
    if (raw === undefined) return { kind };
    const match = ACCOUNT.exec(raw);
    if (!match?.[1]) return { error: `\`${raw}\` is not an Instagram account (a username or an id)` };
    return { kind, account: match[1] };
  };
}

function oneCustomer(kind: "forget" | "export") {
  return (args: string[]): ChatAction | { error: string } => {
    const [user] = args;
    if (args.length !== 1 || user === undefined || !ACCOUNT.test(user))
      return { error: `\`${kind}\` takes one customer: an @username or an id` };
    return { kind, user };
  };
}

function noArguments(action: ChatAction, name: string) {
  return (args: string[]): ChatAction | { error: string } =>
    args.length === 0 ? action : { error: `\`${name}\` takes no arguments; got \`${args.join(" ")}\`` };
}

/** Moderation by link or id: the core finds the comment or post; only the shape is checked here. */
function moderation(name: string, action: ModerationCommand, what: "comment" | "post") {
  const target = what === "comment" ? "comment (its link or id)" : "post (its link or media id)";
  return (args: string[]): ChatAction | { error: string } => {
    const [first, ...rest] = args;
    if (first === undefined)
      return { error: `\`${name}\` needs a ${target}${action === "reply" ? " and the reply's text" : ""}` };
    if (!parseInstagramTarget(first))
      return {
        error: `\`${first}\` is not a ${what === "comment" ? "comment link or id" : "post link or media id"}`,
      };
    if (action === "reply") {
      const text = rest.join(" ").trim();
      if (text === "") return { error: "`reply` needs the public reply's text after the comment" };
      return { kind: "moderate", action, target: first, text };
    }
    if (rest.length > 0) return { error: `\`${name}\` takes one ${target}; got \`${args.join(" ")}\`` };
    return { kind: "moderate", action, target: first };
  };
}

export const SUBCOMMANDS: Subcommand[] = [
  {
    name: "hide",
    usage: "hide <comment link|id>",
    summary: "hide a comment from everyone but its author",
    parse: moderation("hide", "hide", "comment"),
  },
  {
    name: "unhide",
    usage: "unhide <comment link|id>",
    summary: "show a hidden comment again",
    parse: moderation("unhide", "unhide", "comment"),
  },
  {
    name: "delete",
    usage: "delete <comment link|id>",
    summary: "delete a comment on Instagram for good (admins)",
    parse: moderation("delete", "delete", "comment"),
  },
  {
    name: "reply",
    usage: "reply <comment link|id> text…",
    summary: "answer a comment publicly, under it",
    parse: moderation("reply", "reply", "comment"),
  },
  {
    name: "comments-off",
    usage: "comments-off <post link|media id>",
    summary: "turn comments off for a post or reel",
    parse: moderation("comments-off", "comments_off", "post"),
  },
  {
    name: "comments-on",
    usage: "comments-on <post link|media id>",
    summary: "turn comments back on for a post or reel",
    parse: moderation("comments-on", "comments_on", "post"),
  },
  {
    name: "pause",
    usage: "pause [account]",
    summary: "hold replies to Instagram (one account, or every account of this channel)",
    parse: optionalAccount("pause"),
  },
  {
    name: "resume",
    usage: "resume [account]",
    summary: "send held replies and go on sending",
    parse: optionalAccount("resume"),
  },
  {
    name: "status",
    usage: "status",
    summary: "accounts, sending state and queues of this channel",
    parse: noArguments({ kind: "status" }, "status"),
  },
  {
    name: "consent",
    usage: "consent @username|id granted|revoked",
    summary: "record a customer's consent (admins); revoked stops every automated message",
    parse: (args) => {
      const [user, state] = args;
      if (
        args.length !== 2 ||
        user === undefined ||
        !ACCOUNT.test(user) ||
        (state !== "granted" && state !== "revoked")
      )
        return { error: "`consent` takes a customer (@username or id) and granted or revoked" };
      return { kind: "consent_set", user, consent: state };
    },
  },
  {
    name: "forget",
    usage: "forget @username|id",
    summary: "erase everything stored about one Instagram user and their mirrored messages (admins)",
    parse: oneCustomer("forget"),
  },
  {
    name: "export",
    usage: "export @username|id",
    summary:
      "every row stored about one Instagram user, as a JSON file sent to you by direct message (admins)",
    parse: oneCustomer("export"),
  },
  {
    name: "digest",
    usage: "digest [24h|7d]",
    summary: "post the managers' digest of this channel's accounts here now (admins; default 24h)",
    parse: (args) => {
      const [span = "24h"] = args;
      if (args.length > 1 || (span !== "24h" && span !== "7d"))
        return { error: "`digest` takes 24h or 7d (default 24h)" };
      return { kind: "digest", span };
    },
  },
  {
    name: "rules",
    usage: 'rules list | rules enable ID | rules disable ID | rules test "text"',
    summary: "the auto-reply rules: list them, turn one on or off (admins), or see which would answer a text",
    parse: rulesArguments,
  },
];

const RULE_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function rulesArguments(args: string[]): ChatAction | { error: string } {
  const [verb, ...rest] = args;
  switch (verb?.toLowerCase()) {
    case "list":
      return rest.length === 0 ? { kind: "rules_list" } : { error: "`rules list` takes no arguments" };
    case "enable":
    case "disable": {
      const id = rest[0];
      if (rest.length !== 1 || id === undefined || !RULE_ID.test(id))
        return { error: `\`rules ${verb.toLowerCase()}\` takes one rule id (see /ig rules list)` };
      return { kind: "rules_toggle", ruleId: id, enabled: verb.toLowerCase() === "enable" };
    }
    case "test": {
      const text = rest
        .join(" ")
        .replace(/^["“”']|["“”']$/g, "")
        .trim();
      return text ? { kind: "rules_test", text } : { error: "`rules test` needs a text to try, in quotes" };
    }
    default:
      return { error: verb ? `unknown rules command \`${verb}\`` : "say what to do with the rules" };
  }
}

export function usage(): string {
  const lines = SUBCOMMANDS.map((s) => `• \`/ig ${escapeText(s.usage)}\` — ${s.summary}`);
  return [
    "*/ig* commands:",
    ...lines,
    "• `/ig help` — this list",
    // Slack runs no custom command inside a thread, so a conversation's own controls are on its root.
    "In a conversation's thread: the root's Close (Reopen), Take and Snooze, or ✅ (close) and 👀 (take) on the root.",
  ].join("\n");
}

export function parseIgCommand(text: string): ParsedCommand {
  const [name, ...args] = text
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  if (name === undefined || name.toLowerCase() === "help") return { kind: "reply", text: usage() };
  const sub = SUBCOMMANDS.find((s) => s.name === name.toLowerCase());
  if (!sub) return { kind: "reply", text: `unknown subcommand \`${escapeText(name)}\`; try /ig help` };
  const parsed = sub.parse(args);
  if ("error" in parsed)
    return { kind: "reply", text: `${escapeText(parsed.error)}\nusage: \`/ig ${escapeText(sub.usage)}\`` };
  return { kind: "action", action: parsed };
}

export function registerIgCommand(app: App, deps: ListenerDeps): void {
  app.command("/ig", async ({ command, ack, respond }) => {
    const parsed = parseIgCommand(command.text ?? "");
    if (parsed.kind === "reply") {
      await ack({ response_type: "ephemeral", text: parsed.text });
      return;
    }
    await ack();
    deps.background("/ig", async () => {
      const result = await deps.inbox.action({
        agent: await agentIdentity(deps, command.user_id),
        channel: command.channel_id,
        action: parsed.action,
      });
      const text = await resultText(deps, command.user_id, result);
      await respond({ response_type: "ephemeral", text: escapeText(text) });
    });
  });
}
