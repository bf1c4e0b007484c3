// Slack user groups named in ADMIN_USERS (`slack-group:S…`): which of them an agent belongs to,
// handed to the core as the agent's roles. Membership is read per group with
// usergroups.users.list and kept for a minute, so a removed moderator loses rights quickly
// without a Slack call on every click. A failed read grants nothing and is not cached: privilege
// fails closed.

import type { WebClient } from "@slack/web-api";
import type { Logger } from "../../src/log/logger.ts";
import { errorFields } from "./slack-errors.ts";

const TTL_MS = 60_000;

export interface UserGroups {
  /** The configured groups `userId` is a member of. */
  of(userId: string): Promise<string[]>;
}

export function userGroups(
  client: WebClient,
  groups: readonly string[],
  log: Logger,
  now: () => number = Date.now,
): UserGroups {
  const cache = new Map<string, { at: number; members: Promise<ReadonlySet<string>> }>();

  async function read(group: string): Promise<ReadonlySet<string>> {
    try {
      const res = await client.usergroups.users.list({ usergroup: group });
      return new Set(res.users ?? []);
    } catch (err) {
      cache.delete(group);
      log.warn(
        { group, err: errorFields(err) },
        "slack usergroups.users.list failed; the group grants nothing",
      );
      return new Set();
    }
  }

  function members(group: string): Promise<ReadonlySet<string>> {
    const hit = cache.get(group);
    if (hit && now() - hit.at < TTL_MS) return hit.members;
    const fresh = read(group);
    cache.set(group, { at: now(), members: fresh });
    return fresh;
  }

  return {
    async of(userId) {
      if (groups.length === 0) return [];
      const sets = await Promise.all(groups.map(members));
      return groups.filter((_, i) => sets[i]?.has(userId));
    },
  };
}
