// The memory platform's ChatAdapter: what the core asks to show, rendered as plain text lines and
// buttons in the Room. Like any adapter it decides how a root, a post and a notice look; the
// wording shared by every platform comes from the core (src/chat/header-text.ts).

import type {
  AgentFile,
  ChatAdapter,
  ChatMessageRef,
  ConversationStatus,
  Digest,
  DigestChart,
  DmHeader,
  FileSource,
  GroupMember,
  Idempotency,
  Mark,
  MemberDirectory,
  MirrorPost,
  NoticeOptions,
  Person,
  ThreadHeader,
  ThreadRef,
} from "../../../../src/chat/chat-port.ts";
import {
  accountLabel,
  COMMENT_ACTION_IDS,
  CONVERSATION_ACTION_IDS,
  controlSummary,
  conversationButtons,
  customerContextLines,
  followerSummary,
  MENTION_NOTE,
  mediaKind,
  mentionTitle,
  QUEUE_BADGES,
  SNOOZE_CHOICES,
  windowSummary,
} from "../../../../src/chat/header-text.ts";
import { type Button, PLATFORM, type Room, type RoomMessage } from "./room.ts";

const MARKS: Record<Mark, string> = { pending: "⏳", held: "⏸️", sent: "✅", failed: "⚠️" };

const shown = (p: Person) => p.name ?? (p.username ? `@${p.username}` : p.id);
const who = (p: Person) => [shown(p), p.username ? `@${p.username}` : undefined].filter(Boolean).join(" · ");

function conversationControls(status: ConversationStatus, control?: DmHeader["control"]): Button[] {
  return [
    ...conversationButtons(status, control).map(({ op }) => ({ id: CONVERSATION_ACTION_IDS[op] })),
    { id: CONVERSATION_ACTION_IDS.snooze, options: SNOOZE_CHOICES.map((c) => String(c.minutes)) },
  ];
}

/** The customer's notes, labels and other threads; links written as "label: url". */
function contextLines(ctx: DmHeader["context"]): string[] {
  return customerContextLines(
    ctx,
    (at) => at.toISOString(),
    (t) => t,
    (url, label) => `${label}: ${url}`,
  );
}

function renderHeader(header: ThreadHeader): { text: string; buttons: Button[] } {
  const lines: (string | undefined)[] = [];
  if (header.kind === "mention") {
    // Read here, answered on Instagram: no buttons.
    lines.push(mentionTitle(header), header.text ?? header.unresolved, header.media.permalink, MENTION_NOTE);
    lines.push(...header.links.map((l) => `${l.label}: ${l.url}`));
    return { text: lines.filter(Boolean).join("\n"), buttons: [] };
  }
  const status = [`Status: ${header.status}`];
  if (header.kind === "dm" && header.queue) status.unshift(QUEUE_BADGES[header.queue]);
  if (header.assignee) status.push(`assigned to ${header.assignee}`);
  if (header.kind === "dm") {
    lines.push(`Instagram DM with ${who(header.customer)}`, followerSummary(header.customer));
    if (header.consent === "revoked") lines.push("⛔ Consent revoked: no automated messages");
    if (header.held) lines.push(`⏸️ Replies held: ${header.held}`);
    if (header.control) lines.push(controlSummary(header.control));
    if (header.entry) lines.push(header.entry.title, ...header.entry.lines);
    if (header.entry?.url) lines.push(header.entry.url);
    lines.push(...contextLines(header.context));
    lines.push(windowSummary(header.window, (at) => at.toISOString()));
    lines.push([...status, `Instagram DM to ${accountLabel(header.account)}`].join(" · "));
    if (header.seenAt) lines.push(`👁 Seen ${header.seenAt.toISOString()}`);
    lines.push(...header.links.map((l) => `${l.label}: ${l.url}`));
    return {
      text: lines.filter(Boolean).join("\n"),
      buttons: conversationControls(header.status, header.control),
    };
  }
  const { media, comment } = header;
  lines.push(`💬 Comment on ${accountLabel(header.account)}'s ${mediaKind(header)}`);
  if (media.caption) lines.push(`> ${media.caption}`);
  if (media.permalink) lines.push(media.permalink);
  lines.push(`${who(comment.author)} · ${comment.at.toISOString()}`);
  lines.push(comment.deleted ? `~${comment.text ?? ""}~ (deleted)` : (comment.text ?? "(no text)"));
  const state: string[] = [];
  if (comment.hidden) state.push("🙈 Hidden on Instagram");
  if (comment.deleted) state.push("🗑 Deleted");
  if (header.privateReplyUsed) state.push("✉️ Private reply used");
  lines.push([...state, ...status].join(" · "));
  lines.push(...contextLines(header.context));
  if (header.held) lines.push(`⏸️ Replies held: ${header.held}`);
  lines.push(...header.links.map((l) => `${l.label}: ${l.url}`));
  return {
    text: lines.join("\n"),
    buttons: [
      ...header.actions.map((a) => ({ id: COMMENT_ACTION_IDS[a], value: comment.id })),
      ...conversationControls(header.status),
    ],
  };
}

function renderPost(post: MirrorPost): string {
  if (post.removed) return ["message removed", post.attribution].filter(Boolean).join("\n");
  const lines: (string | undefined)[] = [];
  if (post.quote) lines.push(`> ${post.quote.author}: ${post.quote.text}`);
  lines.push(post.text);
  for (const a of post.attachments)
    lines.push(
      a.kind === "image"
        ? `[image ${a.url}]`
        : a.kind === "link"
          ? `[${a.label} ${a.url}]`
          : a.kind === "card"
            ? `[${a.title}${a.url ? ` ${a.url}` : ""}]`
            : `[${a.text}]`,
    );
  lines.push(...post.context, post.attribution);
  return lines.filter((l) => l !== undefined && l !== "").join("\n");
}

export class MemoryAdapter implements ChatAdapter, FileSource, MemberDirectory {
  readonly platform = PLATFORM;
  readonly #room: Room;

  constructor(room: Room) {
    this.#room = room;
  }

  /** A message made earlier under the same key (an attempt that died before storing the ref). */
  #made(once: Idempotency | undefined): RoomMessage | undefined {
    return once?.since ? this.#room.messages.find((m) => m.key === once.key) : undefined;
  }

  #message(thread: ThreadRef, id: string): RoomMessage {
    const m = this.#room.find(id);
    if (!m || m.thread !== thread.thread) throw new Error(`memory: no message ${id} in ${thread.thread}`);
    return m;
  }

  async openThread(channel: string, header: ThreadHeader, once?: Idempotency): Promise<ThreadRef> {
    const earlier = this.#made(once);
    if (earlier) return { channel, thread: earlier.id };
    const { text, buttons } = renderHeader(header);
    const root = this.#room.add({
      channel,
      thread: undefined,
      author: "bridge",
      text,
      buttons,
      ...(once ? { key: once.key } : {}),
    });
    root.thread = root.id;
    this.#room.opened.push({ thread: root.id, text });
    return { channel, thread: root.id };
  }

  async updateHeader(thread: ThreadRef, header: ThreadHeader): Promise<void> {
    const root = this.#message(thread, thread.thread);
    Object.assign(root, renderHeader(header), { edited: true });
  }

  async post(thread: ThreadRef, post: MirrorPost, once?: Idempotency): Promise<ChatMessageRef> {
    if (this.#room.gone.has(thread.thread)) throw new Error(`memory: thread ${thread.thread} is gone`);
    const earlier = this.#made(once);
    if (earlier) return earlier.id;
    const m = this.#room.add({
      channel: thread.channel,
      thread: thread.thread,
      author: "bridge",
      as: { name: post.author.name, ...(post.author.iconUrl ? { icon: post.author.iconUrl } : {}) },
      text: renderPost(post),
      buttons: [],
      ...(once ? { key: once.key } : {}),
    });
    return m.id;
  }

  async update(thread: ThreadRef, message: ChatMessageRef, post: MirrorPost): Promise<void> {
    Object.assign(this.#message(thread, message), { text: renderPost(post), edited: true });
  }

  async remove(_thread: ThreadRef, message: ChatMessageRef): Promise<void> {
    this.#room.delete(message);
  }

  async removeThread(thread: ThreadRef): Promise<void> {
    for (const m of this.#room.thread(thread.thread)) this.#room.delete(m.id);
    this.#room.gone.add(thread.thread);
  }

  async react(thread: ThreadRef, message: ChatMessageRef, emoji: string, on: boolean): Promise<void> {
    const m = this.#message(thread, message);
    const who = new Set(m.reactions.get(emoji) ?? []);
    if (on) who.add("bridge");
    else who.delete("bridge");
    m.reactions.set(emoji, who);
  }

  async mark(thread: ThreadRef, message: ChatMessageRef, mark: Mark | undefined): Promise<void> {
    const m = this.#message(thread, message);
    for (const emoji of Object.values(MARKS)) m.reactions.get(emoji)?.delete("bridge");
    if (mark) m.reactions.set(MARKS[mark], new Set([...(m.reactions.get(MARKS[mark]) ?? []), "bridge"]));
  }

  async notice(thread: ThreadRef, text: string, options: NoticeOptions = {}): Promise<ChatMessageRef> {
    if (this.#room.gone.has(thread.thread)) throw new Error(`memory: thread ${thread.thread} is gone`);
    const mentions = [...(options.mention ?? []), ...(options.mentionGroups ?? [])].map((id) => `@${id} `);
    const m = this.#room.add({
      channel: thread.channel,
      thread: thread.thread,
      author: "bridge",
      text: `ℹ️ ${mentions.join("")}${text}`,
      buttons:
        options.retryMessageId === undefined
          ? []
          : [{ id: "ig_retry", value: String(options.retryMessageId) }],
    });
    return m.id;
  }

  async alert(channel: string, text: string): Promise<void> {
    this.#room.add({ channel, thread: undefined, author: "bridge", text: `⚠️ ${text}`, buttons: [] });
  }

  /** The room's own address for a thread, so answers that link threads can be checked here too. */
  async threadLink(thread: ThreadRef): Promise<string | undefined> {
    return this.#room.gone.has(thread.thread) ? undefined : `memory://${thread.channel}/${thread.thread}`;
  }

  async postDigest(channel: string, digest: Digest, chart?: DigestChart): Promise<void> {
    const lines = [
      `Digest for ${accountLabel(digest.account)}`,
      `opened ${digest.conversations.opened}, closed ${digest.conversations.closed}, waiting ${digest.conversations.waiting}`,
      ...(chart ? [`[chart ${chart.name}: ${chart.alt}]`] : []),
    ];
    this.#room.add({ channel, thread: undefined, author: "bridge", text: lines.join("\n"), buttons: [] });
  }

  /** A group of the room's people (`Room.groups`). */
  async groupMembers(group: string): Promise<GroupMember[]> {
    const ids = this.#room.groups.get(group);
    if (!ids) throw new Error(`no group ${group}`);
    return ids.map((id) => ({ id, name: this.#room.people.get(id)?.name ?? id }));
  }

  async fetchFile(file: AgentFile): Promise<Response> {
    const stored = this.#room.files.get(file.id);
    if (!stored) return new Response("no such file", { status: 404 });
    return new Response(new Uint8Array(stored.data), { headers: { "content-type": stored.mimeType } });
  }
}
