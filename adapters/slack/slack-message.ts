// Reading Slack message payloads (events, edits, deletions, shortcut targets) into what the core
// needs. Payloads are parsed rather than cast: Slack adds fields and omits others freely.

import type { WebClient } from "@slack/web-api";
import { z } from "zod";
import type { AgentFile, AgentMessage, ThreadRef } from "../../src/chat/chat-port.ts";
import { mentionedUsers, toPlainText } from "./mrkdwn.ts";
import type { UserGroups } from "./user-groups.ts";
import type { UserNames } from "./user-names.ts";

const SlackFile = z.object({
  id: z.string(),
  name: z.string().nullish(),
  title: z.string().nullish(),
  mimetype: z.string().nullish(),
  size: z.number().nullish(),
  mode: z.string().nullish(),
});

export const SlackMessage = z.object({
  subtype: z.string().nullish(),
  user: z.string().nullish(),
  text: z.string().nullish(),
  ts: z.string(),
  thread_ts: z.string().nullish(),
  bot_id: z.string().nullish(),
  app_id: z.string().nullish(),
  files: z.array(SlackFile).nullish(),
  edited: z.object({ user: z.string().nullish(), ts: z.string().nullish() }).nullish(),
});
export type SlackMessage = z.infer<typeof SlackMessage>;

/** Subtypes that are a person writing something new. */
const HUMAN_SUBTYPES = new Set([undefined, null, "file_share", "thread_broadcast"]);

export interface HumanReply {
  user: string;
  ts: string;
  thread: ThreadRef;
  message: SlackMessage;
}

/** A person's reply inside a thread (not the root, not a bot or app), or undefined. */
export function humanThreadReply(channel: string, raw: unknown): HumanReply | undefined {
  const parsed = SlackMessage.safeParse(raw);
  if (!parsed.success) return undefined;
  const m = parsed.data;
  if (!HUMAN_SUBTYPES.has(m.subtype) || m.bot_id || m.app_id || !m.user) return undefined;
  if (!m.thread_ts || m.thread_ts === m.ts) return undefined;
  return { user: m.user, ts: m.ts, thread: { channel, thread: m.thread_ts }, message: m };
}

// Files deleted or beyond the workspace's history limit cannot be fetched.
const UNAVAILABLE_FILE_MODES = new Set(["tombstone", "hidden_by_limit"]);

async function agentFiles(client: WebClient, files: SlackMessage["files"]): Promise<AgentFile[]> {
  const out: AgentFile[] = [];
  for (const f of files ?? []) {
    if (f.mode && UNAVAILABLE_FILE_MODES.has(f.mode)) continue;
    let { name, mimetype, size } = f;
    // Some events carry only the id ("file_access": "check_file_info").
    if (!mimetype) {
      const info = await client.files.info({ file: f.id });
      name ??= info.file?.name;
      mimetype = info.file?.mimetype;
      size ??= info.file?.size;
    }
    out.push({
      id: f.id,
      name: name || f.title || f.id,
      mimeType: mimetype || "application/octet-stream",
      size: size ?? 0,
    });
  }
  return out;
}

export async function toAgentMessage(
  reply: HumanReply,
  deps: { client: WebClient; names: UserNames; groups: UserGroups },
  explicitReply = false,
): Promise<AgentMessage> {
  const raw = reply.message.text ?? "";
  const mentioned = mentionedUsers(raw);
  // Roles too: a `!delete` typed in a thread is as privileged as the button.
  const [name, roles, mentionNames, files] = await Promise.all([
    deps.names.name(reply.user),
    deps.groups.of(reply.user),
    Promise.all(mentioned.map(async (id) => [id, await deps.names.name(id)] as const)),
    agentFiles(deps.client, reply.message.files),
  ]);
  const lookup = new Map(mentionNames);
  return {
    agent: { platform: "slack", id: reply.user, name, roles },
    thread: reply.thread,
    message: reply.ts,
    text: toPlainText(raw, (id) => lookup.get(id)),
    files,
    ...(explicitReply ? { explicitReply: true } : {}),
  };
}
