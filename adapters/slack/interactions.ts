// Buttons, the reply modal and the "Send to Instagram" message shortcut → ChatInbox. Each acks
// first and does its work in the background: Slack wants the answer within 3 s, and the core may
// be calling Instagram.

import type {
  App,
  BlockAction,
  BlockButtonAction,
  BlockStaticSelectAction,
  MessageShortcut,
} from "@slack/bolt";
import { z } from "zod";
import type { ActionRequest, ConversationChange, ThreadRef } from "../../src/chat/chat-port.ts";
import { COMMENT_ACTION_IDS, CONVERSATION_ACTION_IDS } from "../../src/chat/header-text.ts";
import { plain } from "./blocks.ts";
import { agentIdentity, type ListenerDeps, tellUser } from "./listener-deps.ts";
import { resultText } from "./private-file.ts";
import { SEND_SHORTCUT } from "./shortcuts.ts";
import { humanThreadReply, toAgentMessage } from "./slack-message.ts";

export const REPLY_MODAL = "ig_comment_reply";
const REPLY_BLOCK = "reply";
const REPLY_INPUT = "text";

const ReplyMetadata = z.object({
  commentId: z.string(),
  action: z.enum(["reply_public", "reply_private"]),
  channel: z.string(),
  thread: z.string(),
});
type ReplyMetadata = z.infer<typeof ReplyMetadata>;

/** The thread a button was clicked in: the root's own ts, or its thread's. */
function clickedThread(body: BlockAction): ThreadRef | undefined {
  const channel = body.channel?.id ?? body.container?.channel_id;
  const message = body.message;
  if (!channel || !message) return undefined;
  const threadTs = typeof message.thread_ts === "string" ? message.thread_ts : message.ts;
  return { channel, thread: threadTs };
}

/** `onlyRefusals`: the core already said in the thread what was done (conversation changes), so
 * the person who acted hears back only when nothing was. */
export async function runAction(
  deps: ListenerDeps,
  user: string,
  thread: ThreadRef,
  action: ActionRequest["action"],
  options: { onlyRefusals?: boolean } = {},
) {
  const result = await deps.inbox.action({
    agent: await agentIdentity(deps, user),
    thread,
    channel: thread.channel,
    action,
  });
  if (result.ok && options.onlyRefusals) return;
  await tellUser(
    deps,
    { channel: thread.channel, user, threadTs: thread.thread },
    await resultText(deps, user, result),
  );
}

function changeThread(deps: ListenerDeps, body: BlockAction, change: ConversationChange | undefined) {
  const thread = clickedThread(body);
  if (!thread || !change) return;
  deps.background(`conversation ${change.op}`, () =>
    runAction(deps, body.user.id, thread, { kind: "conversation", change }, { onlyRefusals: true }),
  );
}

function replyModal(meta: ReplyMetadata) {
  const isPrivate = meta.action === "reply_private";
  return {
    type: "modal" as const,
    callback_id: REPLY_MODAL,
    private_metadata: JSON.stringify(meta),
    title: plain(isPrivate ? "Reply privately" : "Reply publicly"),
    submit: plain("Send"),
    close: plain("Cancel"),
    blocks: [
      {
        type: "input" as const,
        block_id: REPLY_BLOCK,
        label: plain(isPrivate ? "Direct message to the comment's author" : "Public reply under the comment"),
        hint: plain(
          isPrivate
            ? "Instagram allows one private reply per comment, within 7 days of it."
            : "Everyone who sees the post sees this reply.",
        ),
        element: {
          type: "plain_text_input" as const,
          action_id: REPLY_INPUT,
          multiline: true,
          max_length: isPrivate ? 1000 : 2200,
        },
      },
    ],
  };
}

export function registerInteractions(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>("ig_retry", async ({ ack, body, action }) => {
    await ack();
    const thread = clickedThread(body);
    const messageId = Number(action.value);
    if (!thread || !Number.isSafeInteger(messageId)) return;
    deps.background("ig_retry", () => runAction(deps, body.user.id, thread, { kind: "retry", messageId }));
  });

  for (const action of ["hide", "unhide", "delete"] as const) {
    app.action<BlockButtonAction>(COMMENT_ACTION_IDS[action], async ({ ack, body, action: button }) => {
      await ack();
      const thread = clickedThread(body);
      const commentId = button.value;
      if (!thread || !commentId) return;
      deps.background(button.action_id, () =>
        runAction(deps, body.user.id, thread, { kind: "comment", action, commentId }),
      );
    });
  }

  for (const op of ["close", "reopen", "take", "take_control"] as const) {
    app.action<BlockButtonAction>(CONVERSATION_ACTION_IDS[op], async ({ ack, body }) => {
      await ack();
      changeThread(deps, body, { op });
    });
  }

  app.action<BlockStaticSelectAction>(CONVERSATION_ACTION_IDS.snooze, async ({ ack, body, action }) => {
    await ack();
    const minutes = Number(action.selected_option?.value);
    changeThread(deps, body, Number.isSafeInteger(minutes) ? { op: "snooze", minutes } : undefined);
  });

  for (const action of ["reply_public", "reply_private"] as const) {
    app.action<BlockButtonAction>(COMMENT_ACTION_IDS[action], async ({ ack, body, action: button }) => {
      await ack();
      const thread = clickedThread(body);
      const commentId = button.value;
      if (!thread || !commentId) return;
      const view = replyModal({ commentId, action, channel: thread.channel, thread: thread.thread });
      // The trigger id is valid for 3 s only, so the modal opens right away.
      deps.background("views.open", async () => {
        await deps.client.views.open({ trigger_id: body.trigger_id, view });
      });
    });
  }

  app.view(REPLY_MODAL, async ({ ack, view, body }) => {
    const meta = ReplyMetadata.safeParse(safeJson(view.private_metadata));
    // Read defensively: the payload is signed by Slack but its shape is not ours to trust.
    const value: unknown = view.state?.values?.[REPLY_BLOCK]?.[REPLY_INPUT]?.value;
    const text = typeof value === "string" ? value.trim() : "";
    if (!text) {
      await ack({ response_action: "errors", errors: { [REPLY_BLOCK]: "Write a reply first." } });
      return;
    }
    await ack();
    if (!meta.success) return;
    const { channel, thread, commentId, action } = meta.data;
    const ref = { channel, thread };
    deps.background(REPLY_MODAL, () =>
      runAction(deps, body.user.id, ref, { kind: "comment", action, commentId, text }),
    );
  });

  app.shortcut<MessageShortcut>(
    { callback_id: SEND_SHORTCUT.callback_id, type: "message_action" },
    async ({ ack, shortcut }) => {
      await ack();
      const channel = shortcut.channel.id;
      const user = shortcut.user.id;
      deps.background("ig_send", async () => {
        const reply = humanThreadReply(channel, shortcut.message);
        const where = { channel, user, threadTs: reply?.thread.thread };
        if (!reply) {
          await tellUser(
            deps,
            where,
            "“Send to Instagram” works on an agent's reply inside a mirrored thread.",
          );
          return;
        }
        if (reply.user !== user) {
          await tellUser(deps, where, "Only the author of a message can send it to Instagram.");
          return;
        }
        const outcome = await deps.inbox.agentMessage(await toAgentMessage(reply, deps, true));
        switch (outcome.kind) {
          case "command":
            await deps.adapter.notice(reply.thread, outcome.reply);
            break;
          case "refused":
            // Privately, whatever the refusal: the shortcut is a private gesture.
            await tellUser(deps, where, outcome.reason);
            break;
          case "duplicate":
            await tellUser(deps, where, "This message was already taken for Instagram.");
            break;
          case "not_mirrored":
            await tellUser(deps, where, "This thread is not mirrored from Instagram.");
            break;
          case "note":
            await tellUser(deps, where, "This message stays an internal note.");
            break;
          case "queued":
            break;
        }
      });
    },
  );
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
