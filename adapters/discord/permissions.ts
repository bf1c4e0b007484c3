// The permissions the adapter needs in a routed channel, and the bot's permissions there computed
// the way Discord does (its "Permissions" documentation: the guild's @everyone role and the member's
// roles, Administrator and ownership granting all, then the channel's overwrites for @everyone, the
// member's roles and the member, deny before allow at each step).

import { ChannelType, PermissionFlagsBits } from "discord.js";

/** What each permission is for, in the order the checks name them. */
const USES: Array<[keyof typeof PermissionFlagsBits, string, "all" | "forum" | "text"]> = [
  ["ViewChannel", "see the channel", "all"],
  ["SendMessages", "post alerts and digests (and forum posts)", "all"],
  ["CreatePublicThreads", "open a thread per conversation", "text"],
  ["SendMessagesInThreads", "post in the threads", "all"],
  ["ManageThreads", "reopen archived threads and rename them", "all"],
  ["ManageWebhooks", "post customers' messages under their names", "all"],
  ["ManageChannels", "create the forum's status tags", "forum"],
  ["EmbedLinks", "show thread roots and notices as embeds", "all"],
  ["AttachFiles", "attach the digest's chart", "all"],
  ["ReadMessageHistory", "find its own posts again and mark them", "all"],
  ["AddReactions", "delivery marks and customers' reactions", "all"],
];

export function isForum(type: number): boolean {
  return type === ChannelType.GuildForum || type === ChannelType.GuildMedia;
}

/** The permissions needed in a channel of `type`, with their names and what they are for. */
export function neededPermissions(type: number): Array<{ name: string; bit: bigint; use: string }> {
  const forum = isForum(type);
  return USES.filter(([, , where]) => where === "all" || (where === "forum") === forum).map(([key, use]) => ({
    name: key.replace(/([a-z])([A-Z])/g, "$1 $2"),
    bit: PermissionFlagsBits[key],
    use,
  }));
}

export interface Overwrite {
  id: string;
  /** 0 role, 1 member. */
  type: number;
  allow: string;
  deny: string;
}

/** The member's permissions in a channel (Discord's computation; guild id = the @everyone role). */
export function channelPermissions(input: {
  guildId: string;
  ownerId: string | undefined;
  roles: Array<{ id: string; permissions: string }>;
  member: { id: string; roles: readonly string[] };
  overwrites: readonly Overwrite[];
}): bigint {
  const all = Object.values(PermissionFlagsBits).reduce((a, b) => a | b, 0n);
  if (input.ownerId === input.member.id) return all;
  const rolePerms = (id: string) => BigInt(input.roles.find((r) => r.id === id)?.permissions ?? "0");
  let perms = rolePerms(input.guildId);
  for (const role of input.member.roles) perms |= rolePerms(role);
  if ((perms & PermissionFlagsBits.Administrator) !== 0n) return all;
  const apply = (o: { allow: bigint; deny: bigint } | undefined) => {
    if (o) perms = (perms & ~o.deny) | o.allow;
  };
  const parsed = (o: Overwrite | undefined) =>
    o ? { allow: BigInt(o.allow || "0"), deny: BigInt(o.deny || "0") } : undefined;
  apply(parsed(input.overwrites.find((o) => o.type === 0 && o.id === input.guildId)));
  let allow = 0n;
  let deny = 0n;
  for (const o of input.overwrites)
    if (o.type === 0 && o.id !== input.guildId && input.member.roles.includes(o.id)) {
      allow |= BigInt(o.allow || "0");
      deny |= BigInt(o.deny || "0");
    }
  apply({ allow, deny });
  apply(parsed(input.overwrites.find((o) => o.type === 1 && o.id === input.member.id)));
  return perms;
}
