// Discord messages (live from the gateway, or read back through REST when catching up) → what the
// core needs. Both sources are first brought to one small shape, so the rules of what counts as an
// agent's message live in one place.

import {
  type APIInteractionGuildMember,
  type APIMessage,
  type GuildMember,
  type Message,
  MessageType,
  type User,
} from "discord.js";
import type { AgentFile, AgentIdentity, AgentMessage, ThreadRef } from "../../src/chat/chat-port.ts";
import { toPlainText } from "./markdown.ts";

export interface IncomingMessage {
  id: string;
  /** The thread (or channel) it was written in. */
  channelId: string;
  type: number;
  author: { id: string; name: string; bot: boolean };
  webhookId: string | null;
  system: boolean;
  content: string;
  attachments: AgentFile[];
  /** The message of the same thread it replies to (Discord's reply, `message_reference`). */
  replyTo?: string;
  /** The author's role ids, where Discord gave them (live messages). */
  roles?: string[];
  /** Display names of the users, roles and channels mentioned. */
  names: { users: Map<string, string>; roles: Map<string, string>; channels: Map<string, string> };
}

/** Message types a person writes; joins, pins, thread starters and command replies are not. */
const HUMAN_TYPES = new Set<number>([MessageType.Default, MessageType.Reply]);

export function isHumanMessage(m: IncomingMessage): boolean {
  return !m.author.bot && !m.webhookId && !m.system && HUMAN_TYPES.has(m.type);
}

function fileOf(a: { url: string; name: string; contentType: string | null | undefined; size: number }) {
  return { id: a.url, name: a.name, mimeType: a.contentType || "application/octet-stream", size: a.size };
}

export function fromMessage(message: Message): IncomingMessage {
  const member = message.member;
  const users = new Map<string, string>();
  for (const user of message.mentions.users.values()) users.set(user.id, user.displayName);
  for (const m of message.mentions.members?.values() ?? []) users.set(m.id, m.displayName);
  const roles = new Map<string, string>();
  for (const role of message.mentions.roles.values()) roles.set(role.id, role.name);
  const channels = new Map<string, string>();
  for (const channel of message.mentions.channels.values())
    if ("name" in channel && typeof channel.name === "string") channels.set(channel.id, channel.name);
  const incoming: IncomingMessage = {
    id: message.id,
    channelId: message.channelId,
    type: message.type,
    author: {
      id: message.author.id,
      name: member?.displayName ?? message.author.displayName,
      bot: message.author.bot,
    },
    webhookId: message.webhookId,
    system: message.system,
    content: message.content,
    attachments: [...message.attachments.values()].map((a) =>
      fileOf({ url: a.url, name: a.name, contentType: a.contentType, size: a.size }),
    ),
    names: { users, roles, channels },
  };
  if (member) incoming.roles = [...member.roles.cache.keys()].filter((id) => id !== message.guildId);
  const replied = repliedTo(message.type, message.reference?.messageId, message.reference?.channelId);
  if (replied && message.reference?.channelId === message.channelId) incoming.replyTo = replied;
  return incoming;
}

export function fromApiMessage(message: APIMessage): IncomingMessage {
  const users = new Map<string, string>();
  for (const user of message.mentions ?? []) users.set(user.id, user.global_name ?? user.username);
  const replied = repliedTo(
    message.type,
    message.message_reference?.message_id,
    message.message_reference?.channel_id,
  );
  return {
    ...(replied && message.message_reference?.channel_id === message.channel_id ? { replyTo: replied } : {}),
    id: message.id,
    channelId: message.channel_id,
    type: message.type,
    author: {
      id: message.author.id,
      name: message.author.global_name ?? message.author.username,
      bot: message.author.bot === true,
    },
    webhookId: message.webhook_id ?? null,
    system: message.author.system === true,
    content: message.content ?? "",
    attachments: (message.attachments ?? []).map((a) =>
      fileOf({ url: a.url, name: a.filename, contentType: a.content_type, size: a.size }),
    ),
    names: { users, roles: new Map(), channels: new Map() },
  };
}

/** The message a reply answers: only a Reply names one (a forward or a pin also carries a
 * reference), and only within the same thread. */
function repliedTo(type: number, messageId: string | undefined, channelId: string | undefined) {
  return type === MessageType.Reply && messageId && channelId ? messageId : undefined;
}

export function agentOf(m: IncomingMessage): AgentIdentity {
  const agent: AgentIdentity = { platform: "discord", id: m.author.id, name: m.author.name };
  if (m.roles) agent.roles = m.roles;
  return agent;
}

/** Who acted (a button, a command, a reaction), with their roles for the core's privilege check
 * (ADMIN_USERS `discord-role:<id>`). */
export function memberIdentity(
  user: User,
  member: GuildMember | APIInteractionGuildMember | null | undefined,
  guildId: string | null,
): AgentIdentity {
  let name = user.displayName;
  let roles: string[] = [];
  if (member) {
    if (Array.isArray(member.roles)) roles = member.roles;
    else roles = [...member.roles.cache.keys()];
    if ("displayName" in member) name = member.displayName;
    else if (member.nick) name = member.nick;
  }
  // @everyone has the guild's id and is nobody's distinguishing role.
  roles = roles.filter((id) => id !== guildId);
  return { platform: "discord", id: user.id, name, roles };
}

export function toAgentMessage(m: IncomingMessage, thread: ThreadRef): AgentMessage {
  const { names } = m;
  return {
    agent: agentOf(m),
    thread,
    message: m.id,
    text: toPlainText(m.content, {
      user: (id) => names.users.get(id),
      role: (id) => names.roles.get(id),
      channel: (id) => names.channels.get(id),
    }),
    files: m.attachments,
    ...(m.replyTo ? { quoting: m.replyTo } : {}),
  };
}
