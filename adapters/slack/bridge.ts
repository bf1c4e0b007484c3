// The Slack side of threadbridge: a ChatAdapter (plus FileSource) for the core, and the router that
// receives Slack's events, commands and interactions (mounted by the caller; no body parser may
// run before it, Bolt verifies signatures on the raw body).

import { App, ExpressReceiver, HTTPModuleFunctions } from "@slack/bolt";
import { type RetryOptions, WebClient, WebClientEvent, type WebClientOptions } from "@slack/web-api";
import express from "express";
import type { ChatAdapter, ChatInbox, FileSource } from "../../src/chat/chat-port.ts";
import type { Logger } from "../../src/log/logger.ts";
import { SlackAdapter } from "./adapter.ts";
import { boltLogger } from "./bolt-logger.ts";
import { channelPacer } from "./channel-pacer.ts";
import { registerIgCommand } from "./ig-command.ts";
import { EVENTS_PATH } from "./index.ts";
import { registerInteractions } from "./interactions.ts";
import { backgroundRunner, type ListenerDeps } from "./listener-deps.ts";
import { registerMessageListeners } from "./listeners.ts";
import { malformedSlackBody } from "./malformed.ts";
import { registerReactionListeners } from "./reactions.ts";
import { slackRequestTime } from "./request-time.ts";
import { errorFields } from "./slack-errors.ts";
import { registerSnippetShortcut } from "./snippet-shortcut.ts";
import { unknownInteractions } from "./unknown-interactions.ts";
import { userGroups } from "./user-groups.ts";
import { userNames } from "./user-names.ts";

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
}

export interface SlackBridge {
  adapter: ChatAdapter & FileSource;
  router: express.Router;
  /** Waits for interaction work still running after its ack (graceful shutdown, tests). */
  close(): Promise<void>;
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

type BotIdentity = { botId: string; botUserId: string };

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

const { defaultProcessEventErrorHandler } = HTTPModuleFunctions;

export function createSlack(options: SlackOptions): SlackBridge {
  const log = options.log.child({ component: "slack" });
  const logger = boltLogger(log);
  // Captured once so file downloads go through the very fetch the WebClient uses.
  const fetchFn = globalThis.fetch;
  const clientOptions: WebClientOptions = {
    slackApiUrl: options.apiUrl,
    retryConfig: retryConfig(options.retry ?? DEFAULT_RETRY),
    timeout: 10_000,
    // On 429 the client waits Retry-After (pausing its queue) and tries again within retryConfig.
    rejectRateLimitedCalls: false,
    fetch: fetchFn,
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

  const router = express.Router();
  // Registered before the receiver adds its own handlers to the route, so it runs first.
  router.post(EVENTS_PATH, slackRequestTime(log));
  const receiver = new ExpressReceiver({
    signingSecret: options.signingSecret,
    router,
    endpoints: EVENTS_PATH,
    // An agent's message is stored by the core before Slack gets its 200; a failure answers 500
    // and Slack delivers again.
    processBeforeResponse: true,
    processEventErrorHandler: async (args) => {
      const why = malformedSlackBody((args.request as { body?: unknown }).body);
      if (why === undefined || args.response.headersSent) return defaultProcessEventErrorHandler(args);
      log.warn({ reason: why }, "malformed slack request refused");
      args.response.writeHead(400);
      args.response.end();
      return true;
    },
    logger,
  });
  const app = new App({
    receiver,
    // A custom authorize rather than `token`: with a token and no bot ids Bolt runs auth.test in
    // its constructor, and a failure there is an unhandled rejection.
    authorize: async () => ({ botToken: options.botToken, ...(await identity()) }),
    logger,
    clientOptions: { ...clientOptions },
  });
  app.error(async (err) => {
    log.error({ err: errorFields(err) }, "slack listener failed");
    throw err;
  });

  const background = backgroundRunner(log);
  const deps: ListenerDeps = {
    inbox: options.inbox,
    client,
    names: userNames(client, log),
    groups: userGroups(client, options.adminGroups ?? [], log),
    adapter,
    log,
    background: background.run,
  };
  // Around every listener: whatever none of them acknowledged is answered here within Slack's 3 s.
  app.use(unknownInteractions(deps));
  registerMessageListeners(app, deps);
  registerInteractions(app, deps);
  registerSnippetShortcut(app, deps);
  registerReactionListeners(app, deps);
  registerIgCommand(app, deps);

  return { adapter, router, close: background.drain };
}
