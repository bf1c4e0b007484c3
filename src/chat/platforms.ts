import type { PlatformDescriptor } from "./platform.ts";

// The list of chat platforms the entry point hands to the core, and what the core asks of it.

const NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Refuses a list the core could not tell apart: two platforms of one name, or two claiming one
 * ADMIN_USERS prefix or environment variable. A programming error, found at start-up.
 */
export function checkPlatforms(platforms: readonly PlatformDescriptor[]): void {
  const names = new Set<string>();
  const prefixes = new Map<string, string>();
  const variables = new Map<string, string>();
  for (const p of platforms) {
    if (!NAME.test(p.name)) throw new Error(`chat platform name ${JSON.stringify(p.name)}: expected ${NAME}`);
    if (names.has(p.name)) throw new Error(`chat platform ${p.name} is listed twice`);
    names.add(p.name);
    for (const ref of [p.refs.user, p.refs.group]) {
      if (!ref) continue;
      const other = prefixes.get(ref.prefix);
      if (other)
        throw new Error(`chat platforms ${other} and ${p.name} both claim the prefix ${ref.prefix}:`);
      prefixes.set(ref.prefix, p.name);
    }
    for (const variable of Object.keys(p.env)) {
      const other = variables.get(variable);
      if (other) throw new Error(`chat platforms ${other} and ${p.name} both read ${variable}`);
      variables.set(variable, p.name);
    }
  }
}

/** The descriptor of `name`, if the list has it. */
export function platformNamed(
  platforms: readonly PlatformDescriptor[],
  name: string | null | undefined,
): PlatformDescriptor | undefined {
  return platforms.find((p) => p.name === name);
}

/** For people: "Slack"; a platform this build does not have (a stored row) shows its name. */
export function platformLabel(platforms: readonly PlatformDescriptor[], name: string): string {
  return platformNamed(platforms, name)?.label ?? name;
}

/** Why `channel` is not a channel id of `platform` (one sentence), or undefined when it is one. */
export function channelProblem(platform: PlatformDescriptor, channel: string): string | undefined {
  if (platform.channel.pattern.test(channel)) return undefined;
  return `“${channel}” is not a ${platform.label} channel id (expected ${platform.channel.example}).`;
}
