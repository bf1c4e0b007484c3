// Agent display names for AgentIdentity and mention rewriting. One users.info per agent per TTL;
// a failed lookup falls back to the id and is not cached, so the next message tries again.

import type { WebClient } from "@slack/web-api";
import type { Logger } from "../../src/log/logger.ts";
import { errorFields } from "./slack-errors.ts";

const TTL_MS = 10 * 60_000;
const MAX_ENTRIES = 2_000;

export interface UserNames {
  /** The display name, or the id when Slack cannot say. */
  name(userId: string): Promise<string>;
}

export function userNames(client: WebClient, log: Logger, now: () => number = Date.now): UserNames {
  const cache = new Map<string, { at: number; name: Promise<string> }>();

  async function lookup(userId: string): Promise<string> {
    try {
      const res = await client.users.info({ user: userId });
      const profile = res.user?.profile;
      return profile?.display_name || profile?.real_name || res.user?.real_name || res.user?.name || userId;
    } catch (err) {
      cache.delete(userId);
      log.warn({ user: userId, err: errorFields(err) }, "slack users.info failed; using the user id as name");
      return userId;
    }
  }

  return {
    name(userId) {
      const hit = cache.get(userId);
      if (hit && now() - hit.at < TTL_MS) return hit.name;
      if (cache.size >= MAX_ENTRIES) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      const name = lookup(userId);
      cache.set(userId, { at: now(), name });
      return name;
    },
  };
}
