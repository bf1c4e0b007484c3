// "Quote in reply": a message shortcut on a mirrored message opens a modal for the answer; its
// submission posts the answer in the thread (where its delivery mark goes) and hands it to the core
// as the agent's reply quoting that message, which Instagram shows as a reply to it (the Message
// Replies API). Slack has no reply to one message inside a thread, so the shortcut is the gesture.

import type { App, MessageShortcut } from "@slack/bolt";
import { z } from "zod";
import { plain } from "./blocks.ts";
import { safeJson } from "./interactions.ts";
import { agentIdentity, type ListenerDeps, tellUser } from "./listener-deps.ts";
import { showOutcome } from "./listeners.ts";
import { escapeText, truncate } from "./mrkdwn.ts";
import { QUOTE_SHORTCUT } from "./shortcuts.ts";
import { SlackMessage } from "./slack-message.ts";

export const QUOTE_MODAL = "ig_quote_send";
const TEXT_BLOCK = "reply";
const TEXT_ACTION = "text";

const QuoteMeta = z.object({
  channel: z.string().min(1),
  thread: z.string().min(1),
  quoted: z.string().min(1),
  preview: z.string(),
});
type QuoteMeta = z.infer<typeof QuoteMeta>;

export function quoteModal(meta: QuoteMeta) {
  return {
    type: "modal" as const,
    callback_id: QUOTE_MODAL,
    private_metadata: JSON.stringify(meta),
    title: plain("Quote in reply"),
    submit: plain("Send"),
    close: plain("Cancel"),
    blocks: [
      {
        type: "input" as const,
        block_id: TEXT_BLOCK,
        label: plain("Your reply"),
        hint: plain(`Instagram shows it as a reply to “${truncate(meta.preview, 120) || "this message"}”.`),
        element: {
          type: "plain_text_input" as const,
          action_id: TEXT_ACTION,
          multiline: true,
          max_length: 3000,
        },
      },
    ],
  };
}

export function registerQuoteShortcut(app: App, deps: ListenerDeps): void {
  app.shortcut<MessageShortcut>(
    { callback_id: QUOTE_SHORTCUT.callback_id, type: "message_action" },
    async ({ ack, shortcut }) => {
      await ack();
      const channel = shortcut.channel.id;
      const message = SlackMessage.safeParse(shortcut.message);
      const threadTs = message.success ? (message.data.thread_ts ?? undefined) : undefined;
      deps.background(QUOTE_SHORTCUT.callback_id, async () => {
        // A root has nothing to quote: the quoted message is one inside a thread.
        if (!message.success || !threadTs || threadTs === message.data.ts) {
          await tellUser(
            deps,
            { channel, user: shortcut.user.id, threadTs },
            "“Quote in reply” works on a customer's message inside a mirrored thread.",
          );
          return;
        }
        await deps.client.views.open({
          trigger_id: shortcut.trigger_id,
          view: quoteModal({
            channel,
            thread: threadTs,
            quoted: message.data.ts,
            preview: (message.data.text ?? "").replace(/\s+/g, " ").trim(),
          }),
        });
      });
    },
  );

  app.view(QUOTE_MODAL, async ({ ack, view, body }) => {
    const typed: unknown = view.state?.values?.[TEXT_BLOCK]?.[TEXT_ACTION]?.value;
    const text = typeof typed === "string" ? typed.trim() : "";
    if (text === "") {
      await ack({ response_action: "errors", errors: { [TEXT_BLOCK]: "Write the reply first." } });
      return;
    }
    await ack();
    const meta = QuoteMeta.safeParse(safeJson(view.private_metadata));
    if (!meta.success) return;
    const { channel, thread, quoted, preview } = meta.data;
    const user = body.user.id;
    deps.background(QUOTE_MODAL, async () => {
      const agent = await agentIdentity(deps, user);
      // The answer shows in the thread like any reply, quoting what it answers; the bot posts it
      // because a modal's text has no message of its own to carry the delivery mark.
      const quote = truncate(preview, 150) || "a message";
      const posted = await deps.client.chat.postMessage({
        channel,
        thread_ts: thread,
        text: `*${escapeText(agent.name)}* ↩️ _${escapeText(quote)}_\n${escapeText(text)}`,
      });
      if (!posted.ts) return;
      const outcome = await deps.inbox.agentMessage({
        agent,
        thread: { channel, thread },
        message: posted.ts,
        text,
        files: [],
        explicitReply: true,
        quoting: quoted,
      });
      await showOutcome(deps, { channel, thread }, user, outcome);
    });
  });
}
