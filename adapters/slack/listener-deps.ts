// What every Slack listener needs, and the two ways it answers the person who acted.

import type { WebClient } from "@slack/web-api";
import type { AgentIdentity, ChatInbox } from "../../src/chat/chat-port.ts";
import type { Logger } from "../../src/log/logger.ts";
import type { SlackAdapter } from "./adapter.ts";
import { escapeText } from "./mrkdwn.ts";
import { errorFields } from "./slack-errors.ts";
import type { UserGroups } from "./user-groups.ts";
import type { UserNames } from "./user-names.ts";

export interface ListenerDeps {
  inbox: ChatInbox;
  client: WebClient;
  names: UserNames;
  /** The ADMIN_USERS user groups an agent is in, passed to the core as roles. */
  groups: UserGroups;
  adapter: SlackAdapter;
  log: Logger;
  /** Work started after ack(): interactions must be answered within 3 s, and with
   * processBeforeResponse the HTTP answer waits for the listener. */
  background(what: string, task: () => Promise<void>): void;
}

export async function agentIdentity(deps: ListenerDeps, userId: string): Promise<AgentIdentity> {
  const [name, roles] = await Promise.all([deps.names.name(userId), deps.groups.of(userId)]);
  return { platform: "slack", id: userId, name, roles };
}

/** A line only `user` sees, in the thread when there is one. Text is plain; it is escaped here. */
export async function tellUser(
  deps: ListenerDeps,
  where: { channel: string; user: string; threadTs?: string | undefined },
  text: string,
): Promise<void> {
  try {
    await deps.client.chat.postEphemeral({
      channel: where.channel,
      user: where.user,
      text: escapeText(text),
      ...(where.threadTs ? { thread_ts: where.threadTs } : {}),
    });
  } catch (err) {
    deps.log.warn({ channel: where.channel, err: errorFields(err) }, "slack ephemeral answer failed");
  }
}

/** Runs detached work, logs its failure, and lets `drain` wait for whatever is still running. */
export function backgroundRunner(log: Logger): {
  run: ListenerDeps["background"];
  drain: () => Promise<void>;
} {
  const running = new Set<Promise<void>>();
  return {
    run(what, task) {
      const p = task()
        .catch((err: unknown) => log.error({ what, err: errorFields(err) }, "slack interaction failed"))
        .finally(() => running.delete(p));
      running.add(p);
    },
    async drain() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
