import type { PlatformDescriptor } from "../src/chat/platform.ts";
import { discord } from "./discord/index.ts";
import { slack } from "./slack/index.ts";
import { web } from "./web/index.ts";

// The chat platforms of this build, in the order they are listed (start-up summary, console,
// CLI help). The entry point hands this list to the core; a new platform is a new folder here and
// one more entry below.

export const platforms: readonly PlatformDescriptor[] = [slack, discord, web];
