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
  { usage: "help", summary: "this list" },
];

export function usage(): string {
  return ["**/ig** commands:", ...SUBCOMMANDS.map((s) => `• \`/ig ${s.usage}\` — ${s.summary}`)].join("\n");
}

/** The subcommand and its `account` option → an action, or a line for the person who asked. */
export function parseIgCommand(subcommand: string | null, account: string | null): ParsedCommand {
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
