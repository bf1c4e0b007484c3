// Work the gateway handlers start without awaiting it (discord.js does not await listeners): a
// runner that logs failures and can be drained, and a per-thread queue that keeps an agent's
// messages in the order they were written (live and caught-up messages of one thread included).

import type { Logger } from "../../src/log/logger.ts";
import { errorFields } from "./discord-errors.ts";

export interface Background {
  run(what: string, task: () => Promise<void>): void;
  /** Runs `task` after everything queued earlier under `key` has finished. */
  inOrder(key: string, what: string, task: () => Promise<void>): Promise<void>;
  drain(): Promise<void>;
}

export function background(log: Logger): Background {
  const running = new Set<Promise<void>>();
  const tails = new Map<string, Promise<void>>();

  function run(what: string, task: () => Promise<void>): void {
    const p = task()
      .catch((err: unknown) => log.error({ what, err: errorFields(err) }, "discord handler failed"))
      .finally(() => running.delete(p));
    running.add(p);
  }

  return {
    run,
    inOrder(key, what, task) {
      const previous = tails.get(key) ?? Promise.resolve();
      const next = previous.then(task).catch((err: unknown) => {
        log.error({ what, err: errorFields(err) }, "discord handler failed");
      });
      tails.set(key, next);
      const done = next.finally(() => {
        if (tails.get(key) === next) tails.delete(key);
        running.delete(done);
      });
      running.add(done);
      return done;
    },
    async drain() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
