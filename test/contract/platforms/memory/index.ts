// A chat platform that exists only in the tests: its whole world is a Room in memory. It is the
// proof that a platform is a descriptor and an adapter, nothing in src/ naming it: the harness
// hands the service this build's list plus this descriptor, as `adapters/index.ts` hands the list
// to the entry point.

import { definePlatform } from "../../../../src/chat/platform.ts";
import { MemoryAdapter } from "./adapter.ts";
import { PLATFORM, type Room } from "./room.ts";

/** The descriptor of a memory platform whose world is `room`. No credentials: always on where the
 * list holds it. */
export function memoryPlatform(room: Room) {
  return definePlatform<Record<string, never>, Record<string, never>>({
    name: PLATFORM,
    label: "Memory",
    env: {},
    credentials: [],
    channel: {
      pattern: /^room-[a-z0-9-]+$/,
      example: "room-support",
      hint: "the room's name, as room-support.",
    },
    refs: {
      user: { prefix: PLATFORM, example: "ana", what: "a person in a memory room" },
      group: { prefix: `${PLATFORM}-group`, example: "team", what: "a group of a memory room's people" },
    },
    settings: () => ({}),
    summary: () => "rooms in memory",
    async create(_settings, { inbox }) {
      room.connect(inbox);
      const adapter = new MemoryAdapter(room);
      return { adapter, files: adapter, members: adapter };
    },
  });
}
