// The `/ig` slash command (manifest/discord-commands.json): subcommands pause [account], resume
// [account], status, help. On Discord it also works inside threads.

import type { ChatAction } from "../../src/bridge/chat-port.ts";

export const IG_COMMAND = "ig";

export type ParsedCommand = { kind: "action"; action: ChatAction } | { kind: "reply"; text: string };

const ACCOUNT = /^@?([A-Za-z0-9._]{1,30})$/;

const SUBCOMMANDS = [
  { usage: "pause [account]", summary: "hold replies to Instagram (one account, or every account)" },
  { usage: "resume [account]", summary: "send held replies and go on sending" },
  { usage: "status", summary: "accounts, sending state and queues" },
  {
    usage: "rules list | enable id | disable id | test text",
    summary: "the auto-reply rules (enable and disable: admins)",
  },
  { usage: "help", summary: "this list" },
];

export function usage(): string {
  return ["**/ig** commands:", ...SUBCOMMANDS.map((s) => `• \`/ig ${s.usage}\` — ${s.summary}`)].join("\n");
}

/** The subcommand (and group) and their options → an action, or a line for the person who asked. */
export function parseIgCommand(
  subcommand: string | null,
  account: string | null,
  group: string | null = null,
  options: { id?: string | null; text?: string | null; state?: string | null; user?: string | null } = {},
): ParsedCommand {
  if (subcommand === "forget") {
    const user = options.user?.trim() ?? "";
    if (user !== "" && !ACCOUNT.test(user))
      return {
        kind: "reply",
        text: `\`${user.replace(/`/g, "")}\` is not an Instagram user (an @username or an id)`,
      };
    return { kind: "action", action: { kind: "forget", user } };
  }
  if (subcommand === "consent") {
    const state = options.state;
    if (state !== "granted" && state !== "revoked")
      return { kind: "reply", text: "`/ig consent` needs state granted or revoked" };
    const user = options.user?.trim() ?? "";
    if (user !== "" && !ACCOUNT.test(user))
      return {
        kind: "reply",
        text: `\`${user.replace(/`/g, "")}\` is not an Instagram user (an @username or an id)`,
      };
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
