// Instagram echoes every message an app sends back through the `messages` webhook (`is_echo`).
// The product leans on those echoes after a crash: a send interrupted between Instagram's answer
// and the storing of it is recognised by its echo instead of being sent again. So the chaos run
// plays Instagram's part: each Send API call the Graph fake delivered is echoed to the web process,
// signed and retried until accepted, like every other webhook.

import type { GraphLoadServer } from "../../test/fakes/graph-load-server.ts";
import { type DriveOptions, type DriveStats, newDriveStats, postSignedWebhook } from "./drive.ts";

const POLL_MS = 200;

export interface Echoes {
  stats: DriveStats;
  /** Echoes every send answered so far, then stops. */
  stop(): Promise<void>;
}

export function startEchoes(
  graph: GraphLoadServer,
  o: Pick<DriveOptions, "url" | "appSecret" | "deadline">,
): Echoes {
  const stats = newDriveStats();
  let next = 0;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const pass = () => {
    for (; next < graph.calls.length; next++) {
      const call = graph.calls[next];
      // Delivered: answered, or taken whose answer found its caller gone (a killed worker).
      // DMs only: a private reply's echo names the person, which the fake does not know.
      const delivered = call && (call.outcome === 200 || call.outcome === "dropped") && call.messageId;
      if (!call || !delivered || !call.body?.recipient?.id) continue;
      const at = Date.now();
      const echo = {
        object: "instagram",
        entry: [
          {
            id: call.account,
            time: at,
            messaging: [
              {
                sender: { id: call.account },
                recipient: { id: call.body.recipient.id },
                timestamp: at,
                message: { mid: call.messageId, ...(call.text ? { text: call.text } : {}), is_echo: true },
              },
            ],
          },
        ],
      };
      const p = postSignedWebhook(o, stats, echo).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  };
  const timer = setInterval(() => {
    if (!stopped) pass();
  }, POLL_MS);
  return {
    stats,
    async stop() {
      stopped = true;
      clearInterval(timer);
      pass();
      await Promise.all(inFlight);
    },
  };
}
