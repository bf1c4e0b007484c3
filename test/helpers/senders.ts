import type { OutboundLimiter } from "../../src/ratelimit/limiter.ts";

/**
 * Three senders per limiter (a process), each taking turns for `account`'s Send API text class as
 * fast as it is granted. `calls` gets the moment each turn was used, the moment an observer counts;
 * `stop()` ends the loops and waits for them.
 */
export function startSenders(
  limiters: OutboundLimiter[],
  account: string,
): { calls: number[]; stop: () => Promise<void> } {
  const calls: number[] = [];
  let running = true;
  const sender = async (l: OutboundLimiter) => {
    while (running) {
      await l.waitTurn(account, "send_text");
      calls.push(performance.now());
    }
  };
  const senders = limiters.flatMap((l) => [sender(l), sender(l), sender(l)]);
  return {
    calls,
    stop: async () => {
      running = false;
      await Promise.all(senders);
    },
  };
}
