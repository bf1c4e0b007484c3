// The web inbox's people, for automatic assignment (the core's MemberDirectory): the enabled named
// console users (src/http/console/users.ts). An account routed to an inbox names one of three
// groups as its pool (`accounts settings ID --assign round-robin --assign-pool all`): `all` of
// them, the `admins` or the `agents` (their console role). A disabled or removed user drops out at
// the next assignment; people signed in through a sign-on proxy are not listed (the console knows
// them only while they are signed in).

import type { GroupMember, MemberDirectory } from "../../src/chat/chat-port.ts";
import type { Database } from "../../src/db/database.ts";
import { type ConsoleRole, enabledUsers } from "../../src/http/console/users.ts";

const GROUPS: Record<string, (role: ConsoleRole) => boolean> = {
  all: () => true,
  admins: (role) => role === "admin",
  agents: (role) => role === "agent",
};

export const POOL_GROUPS = Object.keys(GROUPS);

export function consoleUserDirectory(db: Database): MemberDirectory {
  return {
    async groupMembers(group: string): Promise<GroupMember[]> {
      const member = GROUPS[group];
      if (!member)
        throw new Error(`web: no group ${group} (a web inbox's pool is ${POOL_GROUPS.join(", ")})`);
      return (await enabledUsers(db))
        .filter((u) => member(u.role))
        .map((u) => ({ id: u.name, name: u.displayName }));
    },
  };
}
