// Sends the chaos load the way Meta and Slack do: signed POSTs, each retried on any non-2xx answer
// or connection error until it is accepted (a 503 while Postgres restarts, a refused connection
// while the web process restarts), one conversation's events in order, many conversations at once.

import { sign } from "../../src/instagram/signature.ts";
import type { SlackServer } from "../../test/fakes/slack-server.ts";
import { postSlackEvent } from "../../test/helpers/slack.ts";
import { type Conversation, replyText } from "./load.ts";

export interface DriveStats {
  webhooksSent: number;
  webhooksAccepted: number;
  /** Non-2xx answers and connection errors, each retried. */
  webhookRetries: number;
  statuses: Map<string, number>;
  repliesTyped: number;
}

export interface DriveOptions {
  url: () => string;
  appSecret: string;
  slack: SlackServer;
  slackSecret: string;
  agent: string;
  /** The chat thread of a conversation, once it exists. */
  threadOf: (c: Conversation) => Promise<string | undefined>;
  lanes: number;
  deadline: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilAccepted(
  stats: DriveStats,
  deadline: number,
  send: () => Promise<number>,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let outcome: string;
    try {
      const status = await send();
      if (status >= 200 && status < 300) return;
      outcome = String(status);
    } catch (err) {
      outcome = (err as { cause?: { code?: string } }).cause?.code ?? "network error";
    }
    stats.webhookRetries += 1;
    stats.statuses.set(outcome, (stats.statuses.get(outcome) ?? 0) + 1);
    if (Date.now() > deadline) throw new Error(`chaos: still refused (${outcome}) at the deadline`);
    await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 4)));
  }
}

/** Delivers one signed Instagram webhook as Meta does: again and again until it is accepted. */
export async function postSignedWebhook(
  o: Pick<DriveOptions, "url" | "appSecret" | "deadline">,
  stats: DriveStats,
  body: object,
): Promise<void> {
  const raw = JSON.stringify(body);
  stats.webhooksSent += 1;
  await untilAccepted(stats, o.deadline, async () => {
    const res = await fetch(`${o.url()}/webhooks/instagram`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": sign(raw, o.appSecret) },
      body: raw,
      signal: AbortSignal.timeout(15_000),
    });
    await res.arrayBuffer();
    return res.status;
  });
  stats.webhooksAccepted += 1;
}

export function newDriveStats(): DriveStats {
  return { webhooksSent: 0, webhooksAccepted: 0, webhookRetries: 0, statuses: new Map(), repliesTyped: 0 };
}

export async function drive(conversations: Conversation[], o: DriveOptions): Promise<DriveStats> {
  const stats = newDriveStats();
  const postWebhook = (body: object) => postSignedWebhook(o, stats, body);
  const typeReply = async (c: Conversation, root: string, k: number) => {
    const text = replyText(c.key, k);
    const ts = o.slack.seedMessage(c.account.channel, { user: o.agent, text, thread_ts: root });
    const event = {
      type: "message",
      channel: c.account.channel,
      channel_type: "channel",
      user: o.agent,
      text,
      ts,
      thread_ts: root,
    };
    // Slack retries an event with the same event_id; so does this.
    const eventId = `EvCHAOS${c.key}R${k}`;
    let tries = 0;
    await untilAccepted(stats, o.deadline, async () => {
      const retryNum = tries++;
      const res = await postSlackEvent(o.url(), o.slackSecret, event, {
        eventId,
        ...(retryNum > 0 ? { retryNum } : {}),
      });
      return res.status;
    });
    stats.repliesTyped += 1;
  };
  const lane = async (c: Conversation) => {
    for (const e of c.events) await postWebhook(e.body);
    if (c.replies === 0) return;
    let root: string | undefined;
    while (!root) {
      if (Date.now() > o.deadline) throw new Error(`chaos: no chat thread for ${c.key}`);
      root = await o.threadOf(c).catch(() => undefined);
      if (!root) await sleep(250);
    }
    for (let k = 0; k < c.replies; k++) await typeReply(c, root, k);
  };
  const queue = [...conversations];
  await Promise.all(
    Array.from({ length: o.lanes }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await lane(c);
    }),
  );
  return stats;
}
