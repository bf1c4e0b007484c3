// Slack's posting side alone: the Web API client and the ChatAdapter (plus FileSource) built on it,
// without Bolt. Every process that posts uses it; bridge.ts adds the router that receives Slack's
// events in the web role, so a worker never loads Bolt.

import { type RetryOptions, WebClient, WebClientEvent, type WebClientOptions } from "@slack/web-api";
import type { ChatAdapter, ChatInbox, FileSource } from "../../src/chat/chat-port.ts";
import type { Logger } from "../../src/log/logger.ts";
import { requestFetch } from "../../src/net/request-fetch.ts";
import { SlackAdapter } from "./adapter.ts";
import { boltLogger } from "./bolt-logger.ts";
import { channelPacer } from "./channel-pacer.ts";

export interface SlackOptions {
  botToken: string;
  signingSecret: string;
  /** Web API base, e.g. https://slack.com/api/ (tests: the fake's URL). */
  apiUrl: string;
  log: Logger;
  inbox: ChatInbox;
  /** Bounded retries: the caller's durable job retries are the real retry mechanism. */
  retry?: { retries: number; maxTimeoutMs: number };
  /** Skip auth.test when given (tests). */
  botId?: string;
  botUserId?: string;
  /** Posts per second per channel (Slack's limit is about 1, with short bursts). Default 1. */
  postsPerSecond?: number;
  /** User group ids (`S…`) whose members are admins: their membership becomes the agent's roles. */
  adminGroups?: readonly string[];
  /** How often an opened Home tab is built again and published when it changed; 0: only when
   * opened. Default 60. */
  homeRefreshSeconds?: number;
}

const DEFAULT_RETRY = { retries: 3, maxTimeoutMs: 5_000 };

/** How many of Slack's 429s one call waits out (the client sleeps each Retry-After) on top of its
 * `retries` for failures. A rate limit is Slack saying "in N seconds", not a failure of the event:
 * handed to the job's retries, a burst of them grew the job's backoff to minutes (found by the
 * chaos run: one event took all 20 answers of a 429 burst and waited four minutes more). */
const RATE_LIMIT_RETRIES = 10;

/** The error the WebClient throws after sleeping a 429's Retry-After, to have p-retry call again. */
function isRateLimitRetry(err: Error): boolean {
  const original = (err as { original?: unknown }).original;
  return original instanceof Error && original.message.startsWith("A rate limit was exceeded");
}

function retryConfig(retry: { retries: number; maxTimeoutMs: number }): RetryOptions {
  const options: RetryOptions & { onFailedAttempt: (err: Error & { attemptNumber: number }) => void } = {
    retries: retry.retries + RATE_LIMIT_RETRIES,
    factor: 2,
    minTimeout: Math.min(500, retry.maxTimeoutMs),
    maxTimeout: retry.maxTimeoutMs,
    randomize: true,
    // The client hands this to p-retry, which gives up with the error thrown here: the retries
    // beyond `retry.retries` are for rate limits only.
    onFailedAttempt: (err) => {
      if (!isRateLimitRetry(err) && err.attemptNumber > retry.retries) throw err;
    },
  };
  return options;
}

export type BotIdentity = { botId: string; botUserId: string };

/** The bot's ids, from the options or one auth.test whose success is kept (a failure is retried
 * on the next request, never left as an unhandled rejection). */
function botIdentity(client: WebClient, options: SlackOptions): () => Promise<BotIdentity> {
  if (options.botId && options.botUserId) {
    const fixed = Promise.resolve({ botId: options.botId, botUserId: options.botUserId });
    return () => fixed;
  }
  let pending: Promise<BotIdentity> | undefined;
  return () => {
    if (!pending) {
      const attempt = client.auth.test().then((res) => {
        if (!res.bot_id || !res.user_id)
          throw new Error("slack auth.test gave no bot id: is SLACK_BOT_TOKEN a bot token?");
        return { botId: res.bot_id, botUserId: res.user_id };
      });
      attempt.catch(() => {
        if (pending === attempt) pending = undefined;
      });
      pending = attempt;
    }
    return pending;
  };
}

export interface SlackClient {
  client: WebClient;
  clientOptions: WebClientOptions;
  adapter: ChatAdapter & FileSource & SlackAdapter;
  identity: () => Promise<BotIdentity>;
  log: Logger;
  logger: ReturnType<typeof boltLogger>;
}

/** The Web API client with its retries and rate-limit waits, and the adapter posting through it. */
export function createSlackClient(options: SlackOptions): SlackClient {
  const log = options.log.child({ component: "slack" });
  const logger = boltLogger(log);
  // Node's fetch, captured once: the Web API client hands it what requestFetch does not take
  // (uploads), and file downloads, which stream, use it alone.
  const fetchFn = globalThis.fetch;
  const clientOptions: WebClientOptions = {
    slackApiUrl: options.apiUrl,
    retryConfig: retryConfig(options.retry ?? DEFAULT_RETRY),
    timeout: 10_000,
    // On 429 the client waits Retry-After (pausing its queue) and tries again within retryConfig.
    rejectRateLimitedCalls: false,
    // The Web API's calls (one or two per mirrored event) through undici's request API rather
    // than the WHATWG fetch over it: a third of the CPU per call (src/net/request-fetch.ts).
    fetch: requestFetch(fetchFn),
    logger,
  };
  // One client with the token for everything: Bolt's per-listener clients would be separate
  // instances, each with its own rate-limit pause.
  const client = new WebClient(options.botToken, clientOptions);
  client.on(WebClientEvent.RATE_LIMITED, (retryAfterSeconds: number, request: { url?: string }) => {
    const method = request.url?.split("/").pop();
    log.warn({ method, retryAfterSeconds }, "slack rate limited; waiting Retry-After");
  });
  const identity = botIdentity(client, options);

  const adapter = new SlackAdapter({
    client,
    botToken: options.botToken,
    botUserId: async () => (await identity()).botUserId,
    fetch: fetchFn,
    fileOrigins: [new URL(options.apiUrl).origin],
    log,
    pace: channelPacer(options.postsPerSecond ?? 1),
  });
  return { client, clientOptions, adapter, identity, log, logger };
}
