// The platforms the contract suite runs on: this build's three and the in-memory one that exists
// only here. CONTRACT_PLATFORMS=memory,slack runs a subset (while working on one platform).

import type { ContractPlatform } from "../harness.ts";
import { discord } from "./discord.ts";
import { memory } from "./memory/harness.ts";
import { slack } from "./slack.ts";
import { web } from "./web.ts";

const ALL: readonly ContractPlatform[] = [slack, discord, memory, web];

const wanted = process.env.CONTRACT_PLATFORMS?.split(",").map((name) => name.trim());

export const contractPlatforms: readonly ContractPlatform[] = wanted
  ? ALL.filter((p) => wanted.includes(p.name))
  : ALL;
