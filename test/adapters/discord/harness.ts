// A Discord bridge wired to the fake Discord, with a recording inbox in place of the core.

import { Writable } from "node:stream";
import { createDiscord, type DiscordBridge } from "../../../adapters/discord/bridge.ts";
import type {
  ActionRequest,
  ActionResult,
  AgentActivity,
  AgentMessage,
  AgentMessageOutcome,
  ChatInbox,
  ChatPlatform,
  DmHeader,
  ThreadRef,
} from "../../../src/chat/chat-port.ts";
import { createLogger } from "../../../src/log/logger.ts";
import { type DiscordServer, startDiscordServer } from "../../fakes/discord-server.ts";

export const TEXT = "100000000000000001";
export const FORUM = "100000000000000002";
export const OTHER = "100000000000000003";
export const ROLE_MOD = "400000000000000001";
export const AGENT = "500000000000000001";
export const AGENT2 = "500000000000000002";

type Change = Parameters<ChatInbox["agentChanged"]>[0];

/** Stands in for the core: records what the adapter hands over and answers as scripted. */
export class RecordingInbox implements ChatInbox {
  messages: AgentMessage[] = [];
  changes: Change[] = [];
  actions: ActionRequest[] = [];
  activities: AgentActivity[] = [];
  activeQueries: { platform: ChatPlatform; since: Date }[] = [];
  active: ThreadRef[] = [];
  outcome: (m: AgentMessage) => AgentMessageOutcome = () => ({ kind: "queued", messageId: 1 });
  result: ActionResult = { ok: true, text: "done" };

  async agentMessage(message: AgentMessage): Promise<AgentMessageOutcome> {
    this.messages.push(message);
    return this.outcome(message);
  }

  async agentChanged(change: Change): Promise<void> {
    this.changes.push(change);
  }

  async agentActivity(activity: AgentActivity): Promise<void> {
    this.activities.push(activity);
  }

  async action(request: ActionRequest): Promise<ActionResult> {
    this.actions.push(request);
    return this.result;
  }

  async activeThreads(platform: ChatPlatform, since: Date): Promise<ThreadRef[]> {
    this.activeQueries.push({ platform, since });
    return this.active;
  }
}

export interface DiscordHarness {
  discord: DiscordServer;
  inbox: RecordingInbox;
  bridge: DiscordBridge;
  logs: Record<string, unknown>[];
  rawLogs: string[];
  close(): Promise<void>;
}

export async function startDiscordHarness(
  options: { catchUpMarginMs?: number; retries?: number } = {},
): Promise<DiscordHarness> {
  const discord = await startDiscordServer({
    channels: [
      { id: TEXT, name: "instagram", type: "text" },
      { id: FORUM, name: "instagram-forum", type: "forum" },
      { id: OTHER, name: "general", type: "text" },
    ],
    roles: [{ id: ROLE_MOD, name: "moderators" }],
  });
  discord.addUser({ id: AGENT, username: "ana", globalName: "Ana Lima", roles: [ROLE_MOD] });
  discord.addUser({ id: AGENT2, username: "bo" });
  const inbox = new RecordingInbox();
  const logs: Record<string, unknown>[] = [];
  const rawLogs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        rawLogs.push(line);
        logs.push(JSON.parse(line));
      }
      done();
    },
  });
  const bridge = createDiscord({
    token: discord.token,
    appId: discord.applicationId,
    apiUrl: discord.apiUrl,
    log: createLogger("debug", { destination }),
    inbox,
    retries: options.retries ?? 1,
    ...(options.catchUpMarginMs !== undefined ? { catchUpMarginMs: options.catchUpMarginMs } : {}),
  });
  return {
    discord,
    inbox,
    bridge,
    logs,
    rawLogs,
    async close() {
      await bridge.close();
      await discord.close();
    },
  };
}

/** A plain DM thread's header, for tests about what happens in an open thread. */
export const PLAIN_DM: DmHeader = {
  kind: "dm",
  account: { id: "1", username: "brand" },
  customer: { id: "900", name: "Jo" },
  window: { kind: "none" },
  status: "open",
  consent: "unknown",
  links: [],
};

/** A harness connected to the fake gateway, with one DM thread opened in the text channel. */
export async function startWithThread(): Promise<{ h: DiscordHarness; thread: ThreadRef }> {
  const h = await startDiscordHarness();
  await h.bridge.connect();
  return { h, thread: await h.bridge.adapter.openThread(TEXT, PLAIN_DM) };
}
