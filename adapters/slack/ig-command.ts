// The `/ig` slash command on Slack: the core's commands (src/commands), typed as text. Slack runs
// no custom command inside a thread, so `/ig` offers the channel commands; a thread has `!help`,
// and the root's buttons and emoji.

import type { App } from "@slack/bolt";
import { COMMANDS, SLASH_COMMAND } from "../../src/commands/catalog.ts";
import type { ParsedCommand, Surface } from "../../src/commands/registry.ts";
import { agentIdentity, type ListenerDeps } from "./listener-deps.ts";
import { escapeText } from "./mrkdwn.ts";
import { resultText } from "./private-file.ts";

export const SLASH: Surface = {
  prefix: "/ig ",
  kind: "slash",
  inThreads: false,
  input: "text",
  style: "markup",
  bold: (text) => `*${text}*`,
  escape: escapeText,
  footer: [
    "In a conversation's thread: the root's Close (Reopen), Take and Snooze, or ✅ (close) and 👀 (take) on the root; !help there lists what can be typed in the thread.",
  ],
};

/** The `/ig` entry of manifest/slack.yaml (`npm run manifests` writes it). */
export function manifestEntry(): { description: string; usage_hint: string } {
  const names = COMMANDS.offered(SLASH).map((c) => c.name.split(" ")[0] as string);
  return { description: SLASH_COMMAND.description, usage_hint: [...new Set(names), "help"].join(" | ") };
}

export function usage(): string {
  return escapeText(COMMANDS.help(SLASH));
}

export function parseIgCommand(text: string): ParsedCommand {
  return COMMANDS.parseText(SLASH, text);
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
        action: parsed,
      });
      const text = await resultText(deps, command.user_id, result);
      await respond({ response_type: "ephemeral", text: escapeText(text) });
    });
  });
}
