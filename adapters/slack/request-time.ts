// Slack signs `v0:<timestamp>:<body>` and sends the timestamp in X-Slack-Request-Timestamp; a
// request is only fresh within five minutes of it. Bolt's ExpressReceiver (5.x) refuses a
// timestamp too far in the past but accepts any in the future, and has no option for it: a signed
// request captured (or signed ahead by whoever held the secret for a moment) and dated later would
// replay until that date. This runs before Bolt on the same route and refuses both directions; the
// signature itself is still Bolt's to check.

import type { RequestHandler } from "express";
import type { Logger } from "../../src/log/logger.ts";

/** Slack's documented window, either way. */
export const MAX_SKEW_SECONDS = 5 * 60;

export function slackRequestTime(log: Logger, now: () => number = Date.now): RequestHandler {
  return (req, res, next) => {
    const header = req.get("x-slack-request-timestamp");
    // Whole seconds, as Slack sends them; anything else cannot be a signature Slack made.
    const ts = header !== undefined && /^\d{1,12}$/.test(header) ? Number(header) : undefined;
    const skew = ts === undefined ? undefined : ts - Math.floor(now() / 1000);
    if (skew !== undefined && Math.abs(skew) <= MAX_SKEW_SECONDS) {
      next();
      return;
    }
    log.warn(
      skew === undefined
        ? { reason: header === undefined ? "missing timestamp" : "malformed timestamp" }
        : { reason: skew > 0 ? "timestamp in the future" : "timestamp too old", skewSeconds: skew },
      "slack request refused: X-Slack-Request-Timestamp is not within 5 minutes of now",
    );
    // As Bolt answers a failed verification: 401, no body.
    res.status(401).end();
  };
}
