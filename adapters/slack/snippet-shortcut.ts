// "Send saved reply": a message shortcut on any message of a mirrored thread opens a modal with the
// saved replies the thread's account can send (a static select, Slack's limit of 100) and a line to
// add; its submission asks the core to send the picked one as the agent's reply (the `snippet`
// command). Slack runs no slash command inside a thread, so this is the thread's picker; typing
// `!!name` works too.

import type { App, MessageShortcut } from "@slack/bolt";
import { z } from "zod";
import type { CompletionChoice, ThreadRef } from "../../src/chat/chat-port.ts";
import { plain } from "./blocks.ts";
import { runAction, safeJson } from "./interactions.ts";
import { agentIdentity, type ListenerDeps, tellUser } from "./listener-deps.ts";
import { SNIPPET_SHORTCUT } from "./shortcuts.ts";
import { SlackMessage } from "./slack-message.ts";

export const SNIPPET_MODAL = "ig_snippet_send";
const NAME_BLOCK = "snippet";
const NAME_ACTION = "name";
const TEXT_BLOCK = "extra";
const TEXT_ACTION = "text";
/** Slack's most options in a static select. */
const MAX_OPTIONS = 100;
/** Slack's longest option text. */
const OPTION_TEXT_MAX = 75;

const ThreadMeta = z.object({ channel: z.string().min(1), thread: z.string().min(1) });

function optionText(label: string): string {
  return label.length > OPTION_TEXT_MAX ? `${label.slice(0, OPTION_TEXT_MAX - 1)}…` : label;
}

export function snippetModal(choices: readonly CompletionChoice[], thread: ThreadRef) {
  return {
    type: "modal" as const,
    callback_id: SNIPPET_MODAL,
    private_metadata: JSON.stringify(thread),
    title: plain("Send saved reply"),
    submit: plain("Send"),
    close: plain("Cancel"),
    blocks: [
      {
        type: "input" as const,
        block_id: NAME_BLOCK,
        label: plain("Saved reply"),
        hint: plain("Sent to the customer as your reply, with its pictures and quick replies."),
        element: {
          type: "static_select" as const,
          action_id: NAME_ACTION,
          placeholder: plain("Pick one"),
          options: choices
            .slice(0, MAX_OPTIONS)
            .map((c) => ({ text: plain(optionText(c.label)), value: c.value })),
        },
      },
      {
        type: "input" as const,
        block_id: TEXT_BLOCK,
        optional: true,
        label: plain("Add a line"),
        element: {
          type: "plain_text_input" as const,
          action_id: TEXT_ACTION,
          multiline: true,
          max_length: 1000,
        },
      },
    ],
  };
}

export function registerSnippetShortcut(app: App, deps: ListenerDeps): void {
  app.shortcut<MessageShortcut>(
    { callback_id: SNIPPET_SHORTCUT.callback_id, type: "message_action" },
    async ({ ack, shortcut }) => {
      await ack();
      const channel = shortcut.channel.id;
      const user = shortcut.user.id;
      const message = SlackMessage.safeParse(shortcut.message);
      if (!message.success) return;
      // On the root or on any reply: the thread is the root's.
      const thread: ThreadRef = { channel, thread: message.data.thread_ts ?? message.data.ts };
      deps.background(SNIPPET_SHORTCUT.callback_id, async () => {
        const choices =
          (await deps.inbox.complete?.({
            agent: await agentIdentity(deps, user),
            channel,
            thread,
            command: "snippet",
            option: "name",
            typed: "",
            limit: MAX_OPTIONS,
          })) ?? [];
        if (choices.length === 0) {
          await tellUser(
            deps,
            { channel, user, threadTs: thread.thread },
            "No saved reply to send here: “Send saved reply” works in a mirrored conversation's thread whose account has saved replies (threadbridge snippets import).",
          );
          return;
        }
        // The trigger id is valid for 3 s: the modal opens as soon as the names are known.
        await deps.client.views.open({
          trigger_id: shortcut.trigger_id,
          view: snippetModal(choices, thread),
        });
      });
    },
  );

  app.view(SNIPPET_MODAL, async ({ ack, view, body }) => {
    // Read defensively: the payload is signed by Slack but its shape is not ours to trust.
    const values = view.state?.values;
    const picked: unknown = values?.[NAME_BLOCK]?.[NAME_ACTION]?.selected_option?.value;
    const extra: unknown = values?.[TEXT_BLOCK]?.[TEXT_ACTION]?.value;
    if (typeof picked !== "string" || picked === "") {
      await ack({ response_action: "errors", errors: { [NAME_BLOCK]: "Pick a saved reply." } });
      return;
    }
    await ack();
    const meta = ThreadMeta.safeParse(safeJson(view.private_metadata));
    if (!meta.success) return;
    const thread = meta.data;
    const text = typeof extra === "string" ? extra.trim() : "";
    // What was sent shows in the thread; the agent hears back only when nothing was.
    deps.background(SNIPPET_MODAL, () =>
      runAction(
        deps,
        body.user.id,
        thread,
        { kind: "command", command: "snippet", args: { name: picked, text } },
        { onlyRefusals: true },
      ),
    );
  });
}
