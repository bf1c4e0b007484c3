// An in-memory chat platform's whole world: rooms (channels), threads, messages, reactions and the
// files people attached, plus what people do there. It outlives the service (a restart finds its
// threads again, as on a real platform); the adapter (adapter.ts) is what the core writes through,
// and the people's side below hands their actions to the ChatInbox the core gave the platform.

import type {
  ActionRequest,
  ActionResult,
  AgentIdentity,
  ChatInbox,
  ThreadRef,
} from "../../../../src/chat/chat-port.ts";
import {
  CONVERSATION_ACTION_IDS,
  commentButtonAction,
  conversationButtonOp,
} from "../../../../src/chat/header-text.ts";
import { COMMANDS } from "../../../../src/commands/catalog.ts";
import type { Surface } from "../../../../src/commands/registry.ts";

export const PLATFORM = "memory";

/** `/ig` in a room: named options (like a slash command's), in channels and threads alike. */
export const SLASH: Surface = {
  prefix: "/ig ",
  kind: "slash",
  inThreads: true,
  input: "options",
  style: "plain",
  bold: (text) => text,
  escape: (text) => text,
  footer: [],
};

export interface Button {
  id: string;
  /** What the button acts on (a comment id, a message id). */
  value?: string;
  /** A menu's choices. */
  options?: string[];
}

export interface RoomMessage {
  id: string;
  channel: string;
  /** The thread it is in (a root is in its own); undefined for a channel's top-level message. */
  thread: string | undefined;
  /** `bridge`: written through the adapter; otherwise a person's id. */
  author: string;
  /** The name and picture it is posted under (mirrored posts). */
  as?: { name: string; icon?: string };
  text: string;
  buttons: Button[];
  /** Emoji → who put it there (`bridge` for the adapter). */
  reactions: Map<string, Set<string>>;
  /** The idempotency key it was made with. */
  key?: string;
  edited: boolean;
  files: { id: string; name: string; mimeType: string }[];
  at: number;
}

export interface PrivateNote {
  to: string;
  /** The answer to a command the person ran (else the bridge spoke up on its own). */
  answer: boolean;
  text: string;
  file?: { name: string; mimeType: string; content: string };
}

export interface Person {
  id: string;
  name: string;
}

const ROOT_REACTIONS: Record<string, ActionRequest["action"]> = {
  "✅": { kind: "conversation", change: { op: "close" } },
  "✔️": { kind: "conversation", change: { op: "close" } },
  "👀": { kind: "conversation", change: { op: "take" } },
};

export class Room {
  readonly messages: RoomMessage[] = [];
  /** Threads that were deleted whole. */
  readonly gone = new Set<string>();
  /** Every thread the adapter opened, with its root's text then, in order. */
  readonly opened: { thread: string; text: string }[] = [];
  /** What was shown to one person alone. */
  readonly notes: PrivateNote[] = [];
  readonly files = new Map<string, { name: string; mimeType: string; data: Buffer }>();
  #next = 0;
  #inbox: ChatInbox | undefined;
  readonly people = new Map<string, Person>();
  /** Groups of people (id → member ids), as platforms have user groups or roles. */
  readonly groups = new Map<string, string[]>();

  constructor(people: Person[]) {
    for (const p of people) this.people.set(p.id, p);
  }

  /** The core connects (each time the service starts). */
  connect(inbox: ChatInbox): void {
    this.#inbox = inbox;
  }

  nextId(prefix: string): string {
    return `${prefix}${++this.#next}`;
  }

  find(id: string): RoomMessage | undefined {
    return this.messages.find((m) => m.id === id);
  }

  thread(thread: string): RoomMessage[] {
    return this.messages.filter((m) => m.thread === thread);
  }

  add(
    m: Omit<RoomMessage, "id" | "reactions" | "edited" | "at" | "files"> & Partial<RoomMessage>,
  ): RoomMessage {
    const message: RoomMessage = {
      id: this.nextId("m"),
      reactions: new Map(),
      edited: false,
      files: [],
      at: Date.now(),
      ...m,
    };
    this.messages.push(message);
    return message;
  }

  delete(id: string): void {
    const i = this.messages.findIndex((m) => m.id === id);
    if (i >= 0) this.messages.splice(i, 1);
  }

  // ——— what people do ———

  #inboxOrFail(): ChatInbox {
    if (!this.#inbox) throw new Error("the memory platform is not running");
    return this.#inbox;
  }

  #agent(person: string): AgentIdentity {
    const p = this.people.get(person);
    return { platform: PLATFORM, id: person, name: p?.name ?? person };
  }

  #ref(thread: string): ThreadRef {
    const root = this.find(thread);
    if (!root) throw new Error(`no thread ${thread}`);
    return { channel: root.channel, thread };
  }

  /** A person writes in a thread; resolves once the core has taken it, with the message's id. */
  async say(
    thread: string,
    person: string,
    text: string,
    files: { name: string; mimeType: string; data: Buffer }[] = [],
    quoting?: string,
  ): Promise<string> {
    const ref = this.#ref(thread);
    const attached = files.map((f) => {
      const id = this.nextId("f");
      this.files.set(id, f);
      return { id, name: f.name, mimeType: f.mimeType };
    });
    const m = this.add({ channel: ref.channel, thread, author: person, text, buttons: [], files: attached });
    const outcome = await this.#inboxOrFail().agentMessage({
      agent: this.#agent(person),
      thread: ref,
      message: m.id,
      text,
      files: attached.map((f) => ({ ...f, size: this.files.get(f.id)?.data.length ?? 0 })),
      ...(quoting ? { quoting } : {}),
    });
    // What the thread shows for an outcome: queued ones are marked by the core itself.
    if (outcome.kind === "command") this.#reply(ref, outcome.reply, []);
    else if (outcome.kind === "refused") this.#reply(ref, outcome.reason, [person]);
    else if (outcome.kind === "queued" && outcome.privately)
      await this.#tell(person, { ok: true, text: outcome.privately }, false);
    return m.id;
  }

  #reply(ref: ThreadRef, text: string, mention: string[]): void {
    const names = mention.map((id) => `@${this.people.get(id)?.name ?? id} `).join("");
    this.add({
      channel: ref.channel,
      thread: ref.thread,
      author: "bridge",
      text: `${names}${text}`,
      buttons: [],
    });
  }

  async #act(person: string, where: ThreadRef, action: ActionRequest["action"], onlyRefusals: boolean) {
    const result = await this.#inboxOrFail().action({
      agent: this.#agent(person),
      thread: where,
      channel: where.channel,
      action,
    });
    if (!(result.ok && onlyRefusals)) await this.#tell(person, result, false);
  }

  async #tell(person: string, result: ActionResult, answer: boolean): Promise<PrivateNote> {
    const note: PrivateNote = { to: person, answer, text: result.text };
    if (result.file) {
      note.file = { name: result.file.name, mimeType: result.file.mimeType, content: result.file.content };
      await result.file.delivered();
    }
    this.notes.push(note);
    return note;
  }

  /** A person uses a button (or picks `pick` in a menu) of a message. */
  async press(message: string, buttonId: string, person: string, pick?: string): Promise<void> {
    const m = this.find(message);
    const button = m?.buttons.find((b) => b.id === buttonId);
    if (!m?.thread || !button) throw new Error(`message ${message} shows no ${buttonId}`);
    const where = this.#ref(m.thread);
    const op = conversationButtonOp(buttonId);
    if (op) return this.#act(person, where, { kind: "conversation", change: { op } }, true);
    if (buttonId === CONVERSATION_ACTION_IDS.snooze) {
      if (!pick || !button.options?.includes(pick)) throw new Error(`${buttonId} offers no ${pick}`);
      return this.#act(
        person,
        where,
        { kind: "conversation", change: { op: "snooze", minutes: Number(pick) } },
        true,
      );
    }
    if (buttonId === "ig_retry")
      return this.#act(person, where, { kind: "retry", messageId: Number(button.value) }, false);
    const comment = commentButtonAction(buttonId);
    if (comment && comment !== "reply_public" && comment !== "reply_private" && button.value)
      return this.#act(person, where, { kind: "comment", action: comment, commentId: button.value }, false);
    throw new Error(`the memory platform has no way to use ${buttonId}`);
  }

  /** A person (or the bridge) puts an emoji on a message: ✅ and 👀 on a thread's root close and
   * take its conversation. */
  async react(message: string, emoji: string, who: string): Promise<void> {
    const m = this.find(message);
    if (!m) throw new Error(`no message ${message}`);
    m.reactions.set(emoji, new Set([...(m.reactions.get(emoji) ?? []), who]));
    await this.#reacted(m, emoji, who, true);
    const action = ROOT_REACTIONS[emoji];
    if (!action || who === "bridge" || m.author !== "bridge" || m.thread !== m.id) return;
    await this.#act(who, this.#ref(m.id), action, true);
  }

  /** A person takes their emoji off a message. */
  async unreact(message: string, emoji: string, who: string): Promise<void> {
    const m = this.find(message);
    if (!m) throw new Error(`no message ${message}`);
    m.reactions.get(emoji)?.delete(who);
    await this.#reacted(m, emoji, who, false);
  }

  /** A person's emoji on a message of a thread (not its root): the core hears of it, and what it
   * says back goes to that person alone. */
  async #reacted(m: RoomMessage, emoji: string, who: string, on: boolean): Promise<void> {
    if (who === "bridge" || !m.thread || m.thread === m.id) return;
    const told = await this.#inboxOrFail().agentReaction?.({
      agent: this.#agent(who),
      thread: this.#ref(m.thread),
      message: m.id,
      emoji,
      on,
    });
    if (told?.privately) await this.#tell(who, { ok: false, text: told.privately }, false);
  }

  /** `/ig name` with named options, in a channel or a thread: what the asker alone is told. */
  async command(
    name: string,
    options: Record<string, string>,
    person: string,
    where: string,
  ): Promise<PrivateNote> {
    const parsed = COMMANDS.parseOptions(SLASH, COMMANDS.optionPath(name), options);
    if (parsed.kind === "reply") return this.#tell(person, { ok: false, text: parsed.text }, true);
    const root = this.find(where);
    const request: ActionRequest = {
      agent: this.#agent(person),
      channel: root ? root.channel : where,
      action: parsed,
    };
    if (root?.thread) request.thread = this.#ref(root.thread);
    const result = await this.#inboxOrFail().action(request);
    // A change the thread already shows to everyone needs no answer of its own.
    return this.#tell(person, result.ok && result.announced ? { ok: true, text: "" } : result, true);
  }
}
