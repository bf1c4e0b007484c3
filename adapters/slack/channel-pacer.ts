// Slack allows about one chat.postMessage per second per channel, with short bursts (reference
// A10). Posting faster only earns 429s, and the WebClient answers a 429 by pausing every request
// it makes, for every channel. So posts wait their turn per channel here, in arrival order; the
// 429 handling stays as the backstop (other processes share the channel's allowance).

import { RateLimiterMemory, RateLimiterQueue } from "rate-limiter-flexible";

export type Pace = (channel: string) => Promise<void>;

export function channelPacer(postsPerSecond: number): Pace {
  // Evenly spaced at a 100 ms grain (one post per second at Slack's rate, five per 100 ms at 50/s):
  // a burst never exceeds the allowance, and the timers stay coarse at high test rates.
  const points = Math.max(1, Math.floor(postsPerSecond / 10));
  const queue = new RateLimiterQueue(new RateLimiterMemory({ points, duration: points / postsPerSecond }), {
    maxQueueSize: 100_000,
  });
  return async (channel) => {
    await queue.removeTokens(1, channel);
  };
}
