// What console users do in the web inbox, handed to the core's ChatInbox exactly as the Slack and
// Discord adapters hand theirs: a message typed in a thread (`!commands`, `!!snippets`, notes and
// replies alike go through `agentMessage`), a button of a root or a notice, an emoji on the root,
// and `/ig …` typed in the inbox or a thread. router.ts turns HTTP requests into these calls.

import type {
  ActionRequest,
  ActionResult,
  AgentIdentity,
  ChatAction,
  ChatInbox,
  ThreadRef,
} from "../../src/chat/chat-port.ts";
import {
  CONVERSATION_ACTION_IDS,
  commentButtonAction,
  conversationButtonOp,
  SNOOZE_CHOICES,
} from "../../src/chat/header-text.ts";
import { COMMANDS } from "../../src/commands/catalog.ts";
import type { Surface } from "../../src/commands/registry.ts";
import type { ConsoleSession } from "../../src/http/console/session.ts";
import type { WebAdapter } from "./adapter.ts";
import type { LiveHub } from "./live.ts";
import type { WebStore } from "./store.ts";
import { PLATFORM, type WebPost } from "./view.ts";

/** `/ig` typed in the inbox's composer: the channel commands, and the thread commands in a thread. */
export const SLASH: Surface = {
  prefix: "/ig ",
  kind: "slash",
  inThreads: true,
  input: "text",
  style: "plain",
  bold: (text) => text,
  escape: (text) => text,
  footer: [
    "In a thread: the root's Close (Reopen), Take and Snooze, or ✅ (close) and 👀 (take) on the root; !help there lists what can be typed in the thread.",
  ],
};

/** The emoji the page offers on every message. */
export const EMOJI = ["✅", "✔️", "👀", "👍", "❤️", "🎉"] as const;

const ROOT_REACTIONS: Record<string, ChatAction> = {
  "✅": { kind: "conversation", change: { op: "close" } },
  "✔️": { kind: "conversation", change: { op: "close" } },
  "👀": { kind: "conversation", change: { op: "take" } },
};
const MAX_FILES = 4;

/** What the person who acted alone is told: a refusal, a command's answer, an export's file. */
export interface Told {
  text: string;
  file?: { name: string; mimeType: string; content: string };
}

export interface Upload {
  name: string;
  mimeType: string;
  data: Buffer;
}

export class WebPeople {
  readonly #store: WebStore;
  readonly #adapter: WebAdapter;
  readonly #live: LiveHub;
  readonly #inbox: ChatInbox;

  constructor(deps: { store: WebStore; adapter: WebAdapter; live: LiveHub; inbox: ChatInbox }) {
    this.#store = deps.store;
    this.#adapter = deps.adapter;
    this.#live = deps.live;
    this.#inbox = deps.inbox;
  }

  /** Who a signed-in console user is here: their user name as the id, their display name as the
   * name threads and signatures show, and admin when their console role is (ADMIN_USERS counts too). */
  static agent(session: ConsoleSession): AgentIdentity {
    const id = session.user ?? "";
    return {
      platform: PLATFORM,
      id,
      name: session.person?.name ?? id,
      ...(session.person?.role === "admin" ? { admin: true } : {}),
    };
  }

  /** Someone opened a thread's page: the customer's messages are seen (where the core allows). */
  async opened(agent: AgentIdentity, root: WebPost): Promise<void> {
    await this.#inbox.agentActivity?.({
      agent,
      thread: { channel: root.channel, thread: root.id },
      kind: "opened",
    });
  }

  /** Someone writes in a thread: `/ig …` is a command; anything else is a message of the thread,
   * stored, then handed to the core. Resolves with the message's id (none for a command). */
  async say(
    agent: AgentIdentity,
    root: WebPost,
    text: string,
    uploads: Upload[] = [],
    quote?: string,
  ): Promise<{ id?: string; told?: Told }> {
    const ref: ThreadRef = { channel: root.channel, thread: root.id };
    if (/^\/ig(\s|$)/i.test(text.trim()))
      return { told: await this.command(agent, root.channel, root, text.trim().replace(/^\/ig\s*/i, "")) };
    const files = uploads.slice(0, MAX_FILES);
    let post = await this.#store.add({
      channel: root.channel,
      thread: root.id,
      author: { kind: "person", id: agent.id },
      view: { kind: "message", text, buttons: [], as: { name: agent.name } },
    });
    if (files.length > 0) {
      const stored = [];
      for (const f of files)
        stored.push({ id: await this.#store.addFile(post.id, f), name: f.name, mimeType: f.mimeType });
      post = (await this.#store.setView(post.id, { ...post.view, files: stored }, false)) ?? post;
    }
    await this.#live.publish({ kind: "post", post });
    const outcome = await this.#inbox.agentMessage({
      agent,
      thread: ref,
      message: post.id,
      text,
      files: (post.view.files ?? []).map((f, i) => ({ ...f, size: files[i]?.data.length ?? 0 })),
      ...(quote && (await this.#store.get(quote))?.thread === root.id ? { quoting: quote } : {}),
    });
    // What the thread shows for an outcome: queued replies are marked by the core itself.
    if (outcome.kind === "command") await this.#adapter.notice(ref, outcome.reply);
    else if (outcome.kind === "refused" && outcome.privately)
      return { id: post.id, told: await this.#tell(agent, ref, { ok: false, text: outcome.reason }) };
    else if (outcome.kind === "refused")
      await this.#adapter.notice(ref, outcome.reason, { mention: [agent.id] });
    // A queued reply's line for the writer alone (whose conversation it is, a quote that could not go).
    else if (outcome.kind === "queued" && outcome.privately)
      return { id: post.id, told: await this.#tell(agent, ref, { ok: true, text: outcome.privately }) };
    return { id: post.id };
  }

  /** Someone uses a button of a message (`pick`: a menu's choice; `text`: a reply's words). */
  async press(
    user: AgentIdentity,
    post: WebPost,
    buttonId: string,
    input: { pick?: string | undefined; text?: string | undefined } = {},
  ): Promise<Told | undefined> {
    const button = post.view.buttons.find((b) => b.id === buttonId);
    if (!post.thread || !button) return { text: "That button is no longer there. Reload the page." };
    const where: ThreadRef = { channel: post.channel, thread: post.thread };
    const op = conversationButtonOp(buttonId);
    if (op) return this.#act(user, where, { kind: "conversation", change: { op } }, true);
    if (buttonId === CONVERSATION_ACTION_IDS.snooze) {
      const minutes = SNOOZE_CHOICES.find((c) => String(c.minutes) === input.pick)?.minutes;
      if (minutes === undefined) return { text: "Pick how long to snooze for." };
      return this.#act(user, where, { kind: "conversation", change: { op: "snooze", minutes } }, true);
    }
    if (buttonId === "ig_retry" && button.value)
      return this.#act(user, where, { kind: "retry", messageId: Number(button.value) }, false);
    const comment = commentButtonAction(buttonId);
    if (comment && button.value) {
      const replying = comment === "reply_public" || comment === "reply_private";
      const text = input.text?.trim();
      if (replying && !text) return { text: "Write the reply first." };
      return this.#act(
        user,
        where,
        { kind: "comment", action: comment, commentId: button.value, ...(replying ? { text } : {}) },
        false,
      );
    }
    return { text: "That button does nothing here." };
  }

  /** Someone puts an emoji on a message (again: takes it off). ✅ ✔️ and 👀 on a thread's root
   * close and take its conversation, as on the other platforms; on a message inside a thread the
   * core hears of it (the business reacting to a mirrored customer message on Instagram). */
  async react(user: AgentIdentity, post: WebPost, emoji: string): Promise<Told | undefined> {
    const on = !(post.reactions[emoji] ?? []).includes(user.id);
    const changed = await this.#store.react(post.id, emoji, user.id, on);
    if (changed) await this.#live.publish({ kind: "post", post: changed });
    if (post.thread && post.thread !== post.id && this.#inbox.agentReaction) {
      const told = await this.#inbox.agentReaction({
        agent: user,
        thread: { channel: post.channel, thread: post.thread },
        message: post.id,
        emoji,
        on,
      });
      return told.privately ? { text: told.privately } : undefined;
    }
    const action = ROOT_REACTIONS[emoji];
    if (!on || !action || post.thread !== post.id || post.author.kind !== "bridge") return undefined;
    return this.#act(user, { channel: post.channel, thread: post.id }, action, true);
  }

  /** Someone deletes their own message: it goes from the thread, and the core hears of it as from
   * Slack (a reply not yet sent is cancelled; one already sent cannot be unsent, and the thread
   * says so). */
  async delete(user: AgentIdentity, post: WebPost): Promise<Told | undefined> {
    if (post.author.kind !== "person" || post.author.id !== user.id || !post.thread)
      return { text: "Only its author can delete a message." };
    const thread: ThreadRef = { channel: post.channel, thread: post.thread };
    await this.#adapter.remove(thread, post.id);
    await this.#inbox.agentChanged({
      agent: user,
      thread,
      message: post.id,
      change: "deleted",
    });
    return undefined;
  }

  /** `/ig …` (the text after it) in the inbox `channel`, or in a thread. */
  async command(
    user: AgentIdentity,
    channel: string,
    root: WebPost | undefined,
    line: string,
  ): Promise<Told> {
    const parsed = COMMANDS.parseText(SLASH, line);
    if (parsed.kind === "reply") return { text: parsed.text };
    const request: ActionRequest = { agent: user, channel, action: parsed };
    if (root) request.thread = { channel: root.channel, thread: root.id };
    const result = await this.#inbox.action(request);
    // A change the thread already shows to everyone needs no answer of its own.
    return this.#told(result.ok && result.announced ? { ok: true, text: "" } : result);
  }

  async #act(
    user: AgentIdentity,
    where: ThreadRef,
    action: ChatAction,
    onlyRefusals: boolean,
  ): Promise<Told | undefined> {
    const result = await this.#inbox.action({
      agent: user,
      thread: where,
      channel: where.channel,
      action,
    });
    if (result.ok && onlyRefusals) return undefined;
    return this.#tell(user, where, result);
  }

  /** Tells the person on every page they have open (the answer of the request tells the one that asked). */
  async #tell(user: AgentIdentity, where: ThreadRef, result: ActionResult): Promise<Told> {
    const told = await this.#told(result);
    if (told.text)
      await this.#live.publish({
        kind: "told",
        to: user.id,
        channel: where.channel,
        thread: where.thread,
        text: told.text,
      });
    return told;
  }

  async #told(result: ActionResult): Promise<Told> {
    if (!result.file) return { text: result.text };
    const file = { name: result.file.name, mimeType: result.file.mimeType, content: result.file.content };
    // Handed over in this very answer, to the signed-in person who asked and nobody else.
    await result.file.delivered();
    return { text: result.text, file };
  }
}
