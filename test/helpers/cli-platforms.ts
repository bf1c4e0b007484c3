// This build's chat platforms plus a test-only one, for running the CLI with a third platform
// (`cli(args, env, input, { platforms: CLI_PLATFORMS })`): its options and checks come from the
// descriptor alone. It has no credentials, so it is always on; nothing here starts it.
import { platforms as built } from "../../adapters/index.ts";
import { definePlatform } from "../../src/chat/platform.ts";

export const roomChat = definePlatform<Record<string, never>, Record<string, never>>({
  name: "roomchat",
  label: "RoomChat",
  env: {},
  credentials: [],
  channel: { pattern: /^room-\d+$/, example: "room-42", hint: "the room's number, as room-42." },
  refs: { user: { prefix: "roomchat", example: "ann" } },
  settings: () => ({}),
  summary: () => "in memory",
  async create() {
    throw new Error("roomchat only exists for the CLI's tests");
  },
});

export const platforms = [...built, roomChat];

export const CLI_PLATFORMS = new URL(import.meta.url);
