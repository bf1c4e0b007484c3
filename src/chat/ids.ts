import type { ChatPlatform } from "./chat-port.ts";
import type { PlatformDescriptor } from "./platform.ts";

// `platform:id` keys: how the core writes a chat person (audit actors, message authors, ADMIN_USERS
// entries) and how it reads them back. Platform names never contain a colon; ids may.

/** `slack:U0123ABCD` for a person of a platform. */
export function chatKey(platform: ChatPlatform, id: string): string {
  return `${platform}:${id}`;
}

/** The platform and id of a `platform:id` key, or undefined when it is not one (a rule id). */
export function parseChatKey(key: string): { platform: ChatPlatform; id: string } | undefined {
  const colon = key.indexOf(":");
  if (colon <= 0 || colon === key.length - 1) return undefined;
  return { platform: key.slice(0, colon), id: key.slice(colon + 1) };
}

/** An ADMIN_USERS or SLA_ON_DUTY entry, resolved: a person or a group of one platform. */
export interface ChatRef {
  platform: ChatPlatform;
  kind: "user" | "group";
  id: string;
}

/** One entry of every accepted prefix, comma-separated: `slack:U0123ABCD,slack-group:S0123ABCD,…`. */
export function refExample(
  platforms: readonly PlatformDescriptor[],
  kinds: ReadonlyArray<ChatRef["kind"]>,
): string {
  return [...prefixes(platforms, kinds)].map(([prefix, r]) => `${prefix}:${r.example}`).join(",");
}

/** Every `prefix:` a list of platforms accepts, with what it stands for. */
function prefixes(platforms: readonly PlatformDescriptor[], kinds: ReadonlyArray<ChatRef["kind"]>) {
  const out = new Map<string, { platform: ChatPlatform; kind: ChatRef["kind"]; example: string }>();
  for (const p of platforms)
    for (const kind of kinds) {
      const ref = p.refs[kind];
      if (ref) out.set(ref.prefix, { platform: p.name, kind, example: ref.example });
    }
  return out;
}

// Dots too: a web inbox console user may be named `ana.b`.
const REF_ID = /^[\w.-]+$/;

/**
 * Reads a comma-separated list of `prefix:id` entries (ADMIN_USERS: people and groups; SLA_ON_DUTY:
 * groups only). Returns the refs, or the complaint for the configuration error: what is expected,
 * with an example of every accepted prefix.
 */
export function parseRefs(
  list: string,
  platforms: readonly PlatformDescriptor[],
  kinds: ReadonlyArray<ChatRef["kind"]>,
): { ok: true; refs: ChatRef[] } | { ok: false; expected: string } {
  const known = prefixes(platforms, kinds);
  const expected =
    known.size === 0
      ? `no entries: no chat platform here has ${kinds.includes("user") ? "users or groups" : "groups"} to name`
      : `expected a comma-separated list such as ${refExample(platforms, kinds)}`;
  const refs: ChatRef[] = [];
  for (const entry of list.split(",").map((e) => e.trim())) {
    const colon = entry.indexOf(":");
    const ref = colon > 0 ? known.get(entry.slice(0, colon)) : undefined;
    const id = entry.slice(colon + 1);
    if (!ref || !REF_ID.test(id)) return { ok: false, expected };
    refs.push({ platform: ref.platform, kind: ref.kind, id });
  }
  return { ok: true, refs };
}
