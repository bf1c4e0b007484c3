// `threadbridge` with another list of chat platforms: `node cli-entry.ts MODULE ARGS…`, where MODULE
// (a file URL) exports `platforms`, e.g. this build's plus a test-only one. See cli() in cli.ts.
import type { PlatformDescriptor } from "../../src/chat/platform.ts";
import { main } from "../../src/cli.ts";

const [node = "node", script = "", module = "", ...args] = process.argv;
const { platforms } = (await import(module)) as { platforms: readonly PlatformDescriptor[] };
await main([node, script, ...args], platforms);
