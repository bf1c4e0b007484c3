// The faults of a chaos run, injected one after another on a schedule while the load runs.

import type { DiscordServer } from "../../test/fakes/discord-server.ts";
import type { GraphLoadServer } from "../../test/fakes/graph-load-server.ts";
import type { SlackServer } from "../../test/fakes/slack-server.ts";
import type { Postgres, RedisServer } from "../../test/helpers/servers.ts";

export interface FaultTargets {
  pg: Postgres;
  redis: RedisServer;
  slack: SlackServer;
  graph: GraphLoadServer;
  discord: DiscordServer;
  /** SIGKILLs one worker and starts a replacement. */
  killWorker(): Promise<void>;
  /** SIGTERMs the web process and starts it again on the same port. */
  restartWeb(): Promise<void>;
}

export const FAULTS = [
  "SIGKILL a worker",
  "restart web",
  "restart Redis",
  "restart Postgres",
  "crash Postgres",
  "Slack 429 burst",
  "Slack 500 burst",
  "Graph rate limit (code 4)",
  "Graph rate limit (code 613)",
  "Discord 500 burst",
] as const;
export type FaultName = (typeof FAULTS)[number];

export async function inject(name: FaultName, t: FaultTargets): Promise<void> {
  switch (name) {
    case "SIGKILL a worker":
      return t.killWorker();
    case "restart web":
      return t.restartWeb();
    case "restart Redis":
      return t.redis.restart();
    case "restart Postgres":
      return t.pg.restart();
    // What a clean restart writes out first is lost here: the commits that did not wait for the
    // flush (src/db/unflushed-commit.ts), whose jobs are then retried.
    case "crash Postgres":
      return t.pg.crash();
    case "Slack 429 burst":
      t.slack.failNext(20, { status: 429, retryAfter: 1, method: "chat.postMessage" });
      return;
    case "Slack 500 burst":
      t.slack.failNext(10, { status: 500, method: "chat.postMessage" });
      return;
    case "Graph rate limit (code 4)":
      t.graph.fault({ kind: "rate_limit", code: 4, count: 5, regainMinutes: 0.02 });
      return;
    case "Graph rate limit (code 613)":
      t.graph.fault({ kind: "rate_limit", code: 613, count: 5 });
      return;
    case "Discord 500 burst":
      t.discord.failNext(5, { status: 500 });
      return;
  }
}

/** Injects the faults in turn, `everyMs` apart, `rounds` times over, until `done()`. */
export async function runSchedule(
  t: FaultTargets,
  options: { everyMs: number; rounds: number; done: () => boolean },
  log: (line: string) => void,
): Promise<Map<FaultName, number>> {
  const counts = new Map<FaultName, number>(FAULTS.map((f) => [f, 0]));
  for (let round = 0; round < options.rounds; round++)
    for (const name of FAULTS) {
      await new Promise((r) => setTimeout(r, options.everyMs));
      if (options.done()) return counts;
      const at = Date.now();
      await inject(name, t);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      log(`fault: ${name} (${Date.now() - at} ms)`);
    }
  return counts;
}
