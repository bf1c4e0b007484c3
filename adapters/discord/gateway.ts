// The gateway side: one discord.js Client (in exactly one process; the caller elects it) that hands
// agents' messages, edits, deletions, interactions and ✅/👀 on roots to the core, and catches up
// on what agents wrote while no process was connected. Posting never needs it (adapter.ts is REST
// only).

import {
  type APIChannel,
  type APIMessage,
  Client,
  Events,
  GatewayIntentBits,
  type Message,
  type MessageReaction,
  type OmitPartialGroupDMChannel,
  type PartialMessage,
  type PartialMessageReaction,
  Partials,
  type PartialUser,
  type REST,
  type RESTOptions,
  Routes,
  type Typing,
  type User,
} from "discord.js";
import type {
  AgentIdentity,
  AgentMessageOutcome,
  ChatInbox,
  ConversationChange,
  ThreadRef,
} from "../../src/chat/chat-port.ts";
import type { Logger } from "../../src/log/logger.ts";
import type { DiscordAdapter } from "./adapter.ts";
import {
  agentOf,
  fromApiMessage,
  fromMessage,
  type IncomingMessage,
  isHumanMessage,
  memberIdentity,
  toAgentMessage,
} from "./agent-message.ts";
import type { Background } from "./background.ts";
import { ErrorCode, errorFields, isDiscordError } from "./discord-errors.ts";
import { rootReactionChange } from "./emoji.ts";
import { onInteraction } from "./interactions.ts";

export interface GatewayDeps {
  token: string;
  rest: Partial<RESTOptions>;
  adapter: DiscordAdapter;
  inbox: ChatInbox;
  log: Logger;
  background: Background;
  /** How far before `catchUpSince` (or the connect call) catching up reads back. */
  catchUpMarginMs: number;
}

interface ThreadInfo {
  parentId: string;
  ownerId: string | null;
}

const DISCORD_EPOCH = 1_420_070_400_000n;
const CATCH_UP_PAGES = 10;
const THREAD_CACHE_MAX = 5_000;

/** The smallest snowflake of a moment: messages created after it have larger ids. */
export function snowflakeAt(at: Date): string {
  const ms = BigInt(Math.max(0, at.getTime())) - DISCORD_EPOCH;
  return (ms > 0n ? ms << 22n : 0n).toString();
}

function byId(a: { id: string }, b: { id: string }): number {
  const x = BigInt(a.id);
  const y = BigInt(b.id);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** At most one typing indicator per thread this often (Instagram shows one for about 20 s). */
const TYPING_EVERY_MS = 8_000;

export class DiscordGateway {
  readonly #deps: GatewayDeps;
  readonly #rest: REST;
  #client: Client | undefined;
  /** Threads never change parent: a thread's parent and owner, once known. */
  readonly #threads = new Map<string, ThreadInfo | null>();
  /** When the gateway last delivered something: a new session catches up from there. */
  #lastEventAt = Date.now();

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#rest = deps.adapter.rest;
  }

  get connected(): boolean {
    return this.#client?.isReady() === true;
  }

  async connect(options: { catchUpSince?: Date } = {}): Promise<void> {
    if (this.#client) return;
    const { log } = this.#deps;
    const asked = new Date();
    const client = new Client({
      intents: [
        GatewayIntentBits.Guilds,
        GatewayIntentBits.GuildMessages,
        GatewayIntentBits.MessageContent,
        // ✅ and 👀 on a thread's root.
        GatewayIntentBits.GuildMessageReactions,
        // An agent typing in a thread shows the customer Instagram's typing indicator.
        GatewayIntentBits.GuildMessageTyping,
      ],
      // Deletions, edits and reactions of messages sent before this process connected arrive as
      // partials (a root is usually older than the process).
      partials: [Partials.Message, Partials.Channel, Partials.Reaction],
      rest: this.#deps.rest,
      allowedMentions: { parse: [] },
    });
    this.#client = client;
    this.#listen(client);
    const ready = new Promise<void>((resolve, reject) => {
      client.once(Events.ClientReady, () => resolve());
      client.once(Events.Error, reject);
    });
    try {
      await client.login(this.#deps.token);
      await ready;
    } catch (err) {
      this.#client = undefined;
      await client.destroy().catch(() => undefined);
      throw err;
    }
    this.#lastEventAt = Date.now();
    log.info({ user: client.user?.id }, "discord gateway ready");
    const since = new Date((options.catchUpSince ?? asked).getTime() - this.#deps.catchUpMarginMs);
    this.#deps.background.run("catch-up", () => this.catchUp(since));
  }

  async disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      await client.destroy();
      this.#deps.log.info("discord gateway disconnected");
    }
  }

  /** Hands over what agents wrote in active mirrored threads after `since` (the core dedupes). */
  async catchUp(since: Date): Promise<void> {
    const { inbox, log } = this.#deps;
    const threads = await inbox.activeThreads("discord", since);
    const after = snowflakeAt(since);
    let handed = 0;
    for (const thread of threads) {
      await this.#deps.background.inOrder(thread.thread, "catch-up thread", async () => {
        try {
          handed += await this.#catchUpThread(thread, after);
        } catch (err) {
          if (isDiscordError(err, ErrorCode.UnknownChannel, ErrorCode.MissingAccess)) return;
          throw err;
        }
      });
    }
    log.info({ threads: threads.length, messages: handed }, "discord catch-up done");
  }

  async #catchUpThread(thread: ThreadRef, after: string): Promise<number> {
    const bot = await this.#botUserId();
    const messages: APIMessage[] = [];
    let cursor = after;
    for (let page = 0; page < CATCH_UP_PAGES; page += 1) {
      const batch = (await this.#rest.get(Routes.channelMessages(thread.thread), {
        query: new URLSearchParams({ after: cursor, limit: "100" }),
      })) as APIMessage[];
      messages.push(...batch);
      if (batch.length < 100) break;
      cursor = [...batch].sort(byId).at(-1)?.id ?? cursor;
    }
    messages.sort(byId);
    // Answered already (a delivery mark, or the bot's reply to it): handled by a live process.
    const answered = new Set(
      messages
        .filter((m) => m.author.id === bot && !m.webhook_id && m.message_reference?.message_id)
        .map((m) => m.message_reference?.message_id),
    );
    let handed = 0;
    for (const raw of messages) {
      const m = fromApiMessage(raw);
      if (!isHumanMessage(m) || answered.has(m.id) || raw.reactions?.some((r) => r.me)) continue;
      await this.#handOver(m, thread);
      handed += 1;
    }
    return handed;
  }

  // ——— listeners ———

  #listen(client: Client): void {
    const { background, log } = this.#deps;
    client.on(Events.Raw, () => {
      this.#lastEventAt = Date.now();
    });
    client.on(Events.MessageCreate, (message) => {
      if (message.author.bot || message.webhookId || !message.inGuild()) return;
      void background.inOrder(message.channelId, "messageCreate", () => this.#onMessage(message));
    });
    client.on(Events.MessageUpdate, (before, after) => {
      background.run("messageUpdate", () => this.#onEdit(before, after));
    });
    client.on(Events.MessageDelete, (message) => {
      background.run("messageDelete", () => this.#onDelete(message));
    });
    client.on(Events.TypingStart, (typing) => {
      if (typing.user.bot || !typing.inGuild()) return;
      background.run("typingStart", () => this.#onTyping(typing));
    });
    client.on(Events.MessageReactionAdd, (reaction, user) => {
      if (!user.bot && user.id !== client.user?.id)
        background.run("agentReaction", () => this.#onAgentReaction(reaction, user, true));
      const change = rootReactionChange(reaction.emoji.name);
      // The bot's own reactions are delivery marks and customers' reactions.
      if (!change || user.bot || user.id === client.user?.id) return;
      background.run("messageReactionAdd", () => this.#onRootReaction(reaction, user, change));
    });
    client.on(Events.MessageReactionRemove, (reaction, user) => {
      if (user.bot || user.id === client.user?.id) return;
      background.run("agentReaction", () => this.#onAgentReaction(reaction, user, false));
    });
    client.on(Events.InteractionCreate, (interaction) => {
      background.run("interaction", () =>
        onInteraction({ inbox: this.#deps.inbox, log, threadOf: (id) => this.#threadRef(id) }, interaction),
      );
    });
    client.on(Events.ShardResume, () => {
      log.info("discord gateway session resumed");
    });
    // A new session after a lost one (not a resume): Discord replays nothing, so read back.
    let sessions = 0;
    client.on(Events.ShardReady, () => {
      sessions += 1;
      if (sessions === 1) return;
      const since = new Date(this.#lastEventAt - this.#deps.catchUpMarginMs);
      log.info("discord gateway session renewed; catching up");
      background.run("catch-up", () => this.catchUp(since));
    });
    client.on(Events.Error, (err) => log.error({ err: errorFields(err) }, "discord client error"));
    client.on(Events.Warn, (message) => log.warn({ detail: message }, "discord client warning"));
  }

  /** Discord repeats TYPING_START about every 10 s while someone types; one indicator per thread
   * per TYPING_EVERY_MS is plenty (Instagram shows one for about 20 s). */
  readonly #typedAt = new Map<string, number>();

  async #onTyping(typing: Typing): Promise<void> {
    const last = this.#typedAt.get(typing.channel.id) ?? 0;
    if (Date.now() - last < TYPING_EVERY_MS) return;
    const thread = await this.#mirroredThread(typing.channel.id);
    if (!thread) return;
    this.#typedAt.set(typing.channel.id, Date.now());
    if (this.#typedAt.size > 1000) this.#typedAt.clear();
    await this.#deps.inbox.agentActivity?.({
      agent: memberIdentity(
        typing.user.partial ? await typing.user.fetch() : typing.user,
        typing.member,
        typing.guild?.id ?? null,
      ),
      thread,
      kind: "typing",
    });
  }

  async #onMessage(message: Message): Promise<void> {
    const incoming = fromMessage(message);
    if (!isHumanMessage(incoming)) return;
    const thread = await this.#mirroredThread(message.channelId);
    if (!thread) return;
    await this.#handOver(incoming, thread);
  }

  async #handOver(m: IncomingMessage, thread: ThreadRef): Promise<void> {
    const outcome = await this.#deps.inbox.agentMessage(toAgentMessage(m, thread));
    this.#deps.log.debug(
      { thread: thread.thread, message: m.id, outcome: outcome.kind },
      "discord agent message handed over",
    );
    await this.#showOutcome(thread, m, outcome);
  }

  /** What the thread shows for an outcome; queued ones are marked by the core itself. A refusal
   * for the agent alone (an unknown saved reply) goes to them privately. */
  async #showOutcome(thread: ThreadRef, m: IncomingMessage, outcome: AgentMessageOutcome): Promise<void> {
    if (outcome.kind === "command") await this.#deps.adapter.noticeReplying(thread, outcome.reply, {}, m.id);
    else if (outcome.kind === "refused" && outcome.privately)
      await this.#deps.adapter.tellPrivately(m.author.id, thread, outcome.reason, m.id);
    else if (outcome.kind === "queued" && outcome.privately)
      await this.#deps.adapter.tellPrivately(m.author.id, thread, outcome.privately, m.id);
    else if (outcome.kind === "refused")
      await this.#deps.adapter.noticeReplying(thread, outcome.reason, { mention: [m.author.id] }, m.id);
  }

  async #onEdit(
    before: OmitPartialGroupDMChannel<Message | PartialMessage>,
    after: OmitPartialGroupDMChannel<Message>,
  ): Promise<void> {
    if (!after.editedTimestamp) return;
    if (!before.partial && before.content === after.content) return;
    const incoming = fromMessage(after);
    if (!isHumanMessage(incoming)) return;
    const thread = await this.#mirroredThread(after.channelId);
    if (!thread) return;
    await this.#deps.inbox.agentChanged({
      agent: agentOf(incoming),
      thread,
      message: after.id,
      change: "edited",
    });
  }

  async #onDelete(message: OmitPartialGroupDMChannel<Message | PartialMessage>): Promise<void> {
    // A partial deletion tells only the ids; the core ignores ids that are not agents' replies.
    let agent: AgentIdentity = { platform: "discord", id: "unknown", name: "unknown" };
    if (!message.partial) {
      const incoming = fromMessage(message);
      if (!isHumanMessage(incoming)) return;
      agent = agentOf(incoming);
    }
    const thread = await this.#mirroredThread(message.channelId);
    if (!thread) return;
    await this.#deps.inbox.agentChanged({ agent, thread, message: message.id, change: "deleted" });
  }

  /** ✅ or 👀 on a mirrored thread's root: the same as its Close and Take buttons. Anywhere else
   * the emoji is just an emoji. A refusal goes to the thread, mentioning whoever reacted (a
   * reaction has no private answer). */
  /** An agent's emoji on (or off) a message inside a mirrored thread: the core makes it the
   * business's reaction to a mirrored customer message on Instagram (and ignores it anywhere
   * else). A custom emoji goes as `:name:`, which the core explains it cannot send. */
  async #onAgentReaction(
    reaction: MessageReaction | PartialMessageReaction,
    reactor: User | PartialUser,
    on: boolean,
  ): Promise<void> {
    if (!this.#deps.inbox.agentReaction) return;
    const message = reaction.message;
    const thread = await this.#mirroredThread(message.channelId);
    if (!thread || message.id === (await this.#deps.adapter.headerMessageId(thread))) return;
    const user = reactor.partial ? await reactor.fetch() : reactor;
    if (user.bot) return;
    const emoji = reaction.emoji.id
      ? `:${reaction.emoji.name ?? reaction.emoji.id}:`
      : (reaction.emoji.name ?? "");
    const guild = message.guild;
    const member =
      guild?.members.cache.get(user.id) ?? (await guild?.members.fetch(user.id).catch(() => undefined));
    const told = await this.#deps.inbox.agentReaction({
      agent: memberIdentity(user, member, message.guildId),
      thread,
      message: message.id,
      emoji,
      on,
    });
    if (told.privately) await this.#deps.adapter.tellPrivately(user.id, thread, told.privately, message.id);
  }

  async #onRootReaction(
    reaction: MessageReaction | PartialMessageReaction,
    reactor: User | PartialUser,
    change: ConversationChange,
  ): Promise<void> {
    const message = reaction.message;
    const thread = await this.#mirroredThread(message.channelId);
    if (!thread || message.id !== (await this.#deps.adapter.headerMessageId(thread))) return;
    const user = reactor.partial ? await reactor.fetch() : reactor;
    if (user.bot) return;
    const guild = message.guild;
    const member =
      guild?.members.cache.get(user.id) ?? (await guild?.members.fetch(user.id).catch(() => undefined));
    const result = await this.#deps.inbox.action({
      agent: memberIdentity(user, member, message.guildId),
      thread,
      channel: thread.channel,
      action: { kind: "conversation", change },
    });
    if (!result.ok) await this.#deps.adapter.noticeReplying(thread, result.text, { mention: [user.id] });
  }

  // ——— threads ———

  /** The ref of a thread the bot opened; undefined for channels, and for threads someone else
   * started (the core has the final word on the rest). */
  async #mirroredThread(channelId: string): Promise<ThreadRef | undefined> {
    const info = await this.#threadInfo(channelId);
    if (!info) return undefined;
    const bot = this.#client?.user?.id;
    if (info.ownerId && bot && info.ownerId !== bot) return undefined;
    return { channel: info.parentId, thread: channelId };
  }

  async #threadRef(channelId: string): Promise<ThreadRef | undefined> {
    const info = await this.#threadInfo(channelId);
    return info ? { channel: info.parentId, thread: channelId } : undefined;
  }

  async #threadInfo(channelId: string): Promise<ThreadInfo | undefined> {
    const cached = this.#client?.channels.cache.get(channelId);
    if (cached) {
      if (!cached.isThread() || !cached.parentId) return undefined;
      return { parentId: cached.parentId, ownerId: cached.ownerId };
    }
    const known = this.#threads.get(channelId);
    if (known !== undefined) return known ?? undefined;
    let info: ThreadInfo | null = null;
    try {
      const channel = (await this.#rest.get(Routes.channel(channelId))) as APIChannel;
      if ("parent_id" in channel && channel.parent_id && "thread_metadata" in channel)
        info = {
          parentId: channel.parent_id,
          ownerId: "owner_id" in channel ? (channel.owner_id ?? null) : null,
        };
    } catch (err) {
      if (!isDiscordError(err, ErrorCode.UnknownChannel, ErrorCode.MissingAccess)) throw err;
    }
    if (this.#threads.size >= THREAD_CACHE_MAX) this.#threads.clear();
    this.#threads.set(channelId, info);
    return info ?? undefined;
  }

  async #botUserId(): Promise<string> {
    return this.#client?.user?.id ?? this.#deps.adapter.botUserId();
  }
}
