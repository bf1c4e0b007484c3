// The contract harness on Discord: the service's real discord.js client (REST and gateway) against
// the fake Discord (test/fakes/discord-server.ts), through test/helpers/discord-bridge.ts. People
// act the way Discord tells the service: gateway messages, reactions and interactions.

import { expect } from "vitest";
import { readCommandManifest } from "../../../adapters/discord/commands.ts";
import { escapeMarkdown } from "../../../adapters/discord/markdown.ts";
import { COMMANDS } from "../../../src/commands/catalog.ts";
import type { FakeMessage, InteractionResponse, SlashOption } from "../../fakes/discord-server.ts";
import {
  ADMIN,
  AGENT,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../../helpers/discord-bridge.ts";
import type { Answer, ChatHarness, ChatPerson, ContractPlatform, Mark, Posted } from "../harness.ts";

export const OTHER_CHANNEL = "100000000000000009";

const MARKS: Record<Mark, string> = { pending: "⏳", held: "⏸️", sent: "✅", failed: "⚠️" };

/** Discord markdown escapes taken off (escapeMarkdown's backslashes, the broadcast guard). */
const plainText = (text: string) => text.replace(/\\([\\*_~`|<>[\]#.+-])/g, "$1").replace(/@\u200b/g, "@");

type Component = { type: number; custom_id?: string; components?: Component[] };

const customIds = (m: FakeMessage): string[] =>
  (m.components as Component[]).flatMap((row) =>
    (row.components ?? [row]).flatMap((c) => (c.custom_id ? [c.custom_id] : [])),
  );

function posted(m: FakeMessage, bot: string): Posted {
  return {
    id: m.id,
    text: m.content,
    shows: `${m.content}\n${JSON.stringify(m.embeds)}\n${JSON.stringify(m.components)}`,
    ...(m.webhookId && m.username
      ? { author: { name: m.username, ...(m.avatarUrl ? { icon: m.avatarUrl } : {}) } }
      : {}),
    edited: m.editedAt !== undefined,
    fromBridge: m.author.id === bot || m.webhookId !== undefined,
    actions: customIds(m).map((id) => id.split(":")[0] as string),
  };
}

/** The option types of `/ig`'s leaf options, from the registered manifest. */
async function optionTypes(): Promise<Map<string, number>> {
  type Option = { name: string; type: number; options?: Option[] };
  const [command] = (await readCommandManifest()) as unknown as [{ options: Option[] }];
  const types = new Map<string, number>();
  const walk = (path: string[], options: Option[]) => {
    for (const o of options) {
      if (o.type === 1 || o.type === 2) walk([...path, o.name], o.options ?? []);
      else types.set(`${path.join(" ")}:${o.name}`, o.type);
    }
  };
  walk([], command.options);
  return types;
}

/** The role the scenarios use as an assignment pool. */
const POOL_ROLE = "700000000000000099";

export const discord: ContractPlatform = {
  name: "discord",
  async start(options = {}) {
    const d = await startDiscordHarness(
      options.env ?? {},
      { channels: [{ id: OTHER_CHANNEL, name: "other-brand", type: "text" }] },
      options.backend,
    );
    const types = await optionTypes();
    // Both people also hold the role the scenarios use as an assignment pool.
    d.discord.addUser({ ...AGENT, roles: [POOL_ROLE] });
    d.discord.addUser({ ...ADMIN, roles: [...ADMIN.roles, POOL_ROLE] });
    const agent: ChatPerson = { id: AGENT.id, name: AGENT.username };
    const admin: ChatPerson = { id: ADMIN.id, name: ADMIN.username };
    const bot = d.discord.botUserId;
    const live = (thread: string) =>
      d.discord.channel(thread) ? d.discord.messages(thread).filter((m) => !m.deleted) : [];
    const found = (thread: string, id: string) => {
      const m = d.discord.message(thread, id);
      return m && !m.deleted ? m : undefined;
    };
    const text = (r: InteractionResponse | undefined) =>
      String(r?.message?.content ?? (r?.data as { content?: unknown } | undefined)?.content ?? "");
    const h: ChatHarness = {
      platform: "discord",
      account: TEXT_ACCOUNT,
      channel: TEXT_CHANNEL,
      otherChannel: OTHER_CHANNEL,
      agent,
      admin,
      pool: POOL_ROLE,
      erasesPeoplesMessages: true,
      cannotQuote: undefined,
      commandsInThreads: true,
      graph: d.graph,
      t: d.t,
      get service() {
        return d.service;
      },
      url: () => d.url(),
      restart: () => d.restart(),
      close: () => d.close(),
      key: (p) => `discord:${p.id}`,
      sends: () => d.sends(),
      threadOf: (customer) => d.threadOf(TEXT_ACCOUNT, customer),
      commentThreadOf: (root) => d.commentThreadOf(root),
      root(thread) {
        const first = live(thread)[0];
        return first ? posted(first, bot) : undefined;
      },
      posts: async (thread, n) => (await d.posts(thread, n)).map((m) => posted(m, bot)),
      messages: (thread) => live(thread).map((m) => posted(m, bot)),
      message(thread, id) {
        const m = found(thread, id);
        return m ? posted(m, bot) : undefined;
      },
      threadCount: () => d.discord.threads(TEXT_CHANNEL).length,
      threadsOpened: (name) =>
        d.discord
          .callsOf("POST", new RegExp(`^/channels/${TEXT_CHANNEL}/threads$`))
          .filter((c) => String((c.body as { name?: unknown } | undefined)?.name).includes(name)).length,
      said: (words) => expect.stringMatching(new RegExp(`^${RegExp.escape(escapeMarkdown(words))}$`)),
      reactions: (thread, message) =>
        [...(found(thread, message)?.reactions ?? new Map<string, Set<string>>())]
          .filter(([, who]) => who.size > 0)
          .map(([emoji]) => emoji),
      marked: (thread, message, mark) => (found(thread, message)?.reactions.get(MARKS[mark])?.size ?? 0) > 0,

      agentTypes: (thread, as) => d.discord.userTyping(thread, as?.id ?? AGENT.id),
      async agentSays(thread, content, options = {}) {
        const m = await d.discord.userMessage(thread, {
          authorId: options.as?.id ?? AGENT.id,
          content,
          ...(options.quoting ? { replyTo: options.quoting } : {}),
          ...(options.files
            ? {
                attachments: options.files.map((f) => ({
                  filename: f.name,
                  contentType: f.mimeType,
                  data: f.data,
                })),
              }
            : {}),
        });
        return m.id;
      },
      async press(thread, message, actionId, options = {}) {
        const m = found(thread, message);
        if (!m) throw new Error(`no message ${message} in ${thread}`);
        const customId = customIds(m).find((id) => id === actionId || id.startsWith(`${actionId}:`));
        if (!customId) throw new Error(`message ${message} shows no ${actionId}`);
        const user = (options.as ?? agent).id;
        const select = (m.components as Component[])
          .flatMap((row) => row.components ?? [])
          .some((c) => c.custom_id === customId && c.type === 3);
        const interaction = select
          ? await d.discord.selectMenu(thread, message, customId, [options.pick ?? ""], user)
          : await d.discord.clickButton(thread, message, customId, user);
        // Discord wants an answer within 3 s: the press is over once the service gave one.
        await interaction.waitForResponse();
      },
      async react(thread, message, emoji, as = agent) {
        await d.discord.userReact(thread, message, emoji, as === "bridge" ? bot : as.id);
      },
      async unreact(thread, message, emoji, as = agent) {
        await d.discord.userReact(thread, message, emoji, as.id, false);
      },
      async command(name, args = {}, options = {}) {
        // Where the manifest puts it: `/ig conversation close` for `close`.
        const [first, second] = COMMANDS.optionPath(name) as [string, string | undefined];
        const leaf: SlashOption[] = Object.entries(args).map(([option, value]) => ({
          name: option,
          type: types.get(`${COMMANDS.optionPath(name).join(" ")}:${option}`) ?? 3,
          value,
        }));
        const tree: SlashOption[] =
          second === undefined
            ? [{ name: first, type: 1, options: leaf }]
            : [{ name: first, type: 2, options: [{ name: second, type: 1, options: leaf }] }];
        const user = (options.as ?? agent).id;
        const interaction = await d.discord.slashCommand(options.in ?? TEXT_CHANNEL, "ig", tree, user);
        const reply = await interaction.waitForResponse();
        // A parse error is the reply itself; anything else defers, then edits (or deletes) it.
        const last = reply.type === 4 ? reply : (await interaction.waitForResponses(2, 10_000))[1];
        const answer: Answer = { text: last?.kind === "delete_original" ? "" : plainText(text(last)) };
        const file = last?.message?.attachments[0];
        if (file)
          answer.file = {
            name: file.filename,
            mimeType: file.contentType,
            content: file.data.toString("utf8"),
            onlyFor: (last?.message?.flags ?? 0) & 64 ? user : undefined,
          };
        return answer;
      },
      // Ephemeral answers to buttons and reactions, and direct messages (where a thread message
      // has no ephemeral answer on Discord).
      toldPrivately: (person) => [
        ...d.discord
          .interactions()
          .filter((i) => i.userId === person.id && i.type !== 2)
          .flatMap((i) => i.responses.map(text))
          .filter((t) => t.length > 0),
        ...d.discord.directMessages(person.id).map((m) => plainText(m.content)),
      ],
      stateOf: async (ref) => {
        const { rows } = await d.service.db.query<{ delivery_state: string; delivery_error: string | null }>(
          "SELECT delivery_state, delivery_error FROM messages WHERE chat_ref = $1",
          [ref],
        );
        return rows[0];
      },
      settled: (ref, state) => d.settled(ref, state),
    };
    return h;
  },
};
