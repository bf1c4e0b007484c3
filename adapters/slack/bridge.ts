// The Slack side of threadbridge in the web role: the ChatAdapter (plus FileSource) of client.ts, and
// the router that receives Slack's events, commands and interactions (mounted by the caller; no
// body parser may run before it, Bolt verifies signatures on the raw body).

import { App, ExpressReceiver, HTTPModuleFunctions } from "@slack/bolt";
import express from "express";
import type { ChatAdapter, FileSource, MemberDirectory } from "../../src/chat/chat-port.ts";
import { createSlackClient, type SlackOptions } from "./client.ts";
import { HomeRefresher, registerHome } from "./home.ts";
import { registerIgCommand } from "./ig-command.ts";
import { EVENTS_PATH } from "./index.ts";
import { registerInteractions } from "./interactions.ts";
import { backgroundRunner, type ListenerDeps } from "./listener-deps.ts";
import { registerMessageListeners } from "./listeners.ts";
import { malformedSlackBody } from "./malformed.ts";
import { registerQuoteShortcut } from "./quote-shortcut.ts";
import { registerReactionListeners } from "./reactions.ts";
import { slackRequestTime } from "./request-time.ts";
import { errorFields } from "./slack-errors.ts";
import { registerSnippetShortcut } from "./snippet-shortcut.ts";
import { unknownInteractions } from "./unknown-interactions.ts";
import { userGroups } from "./user-groups.ts";
import { userNames } from "./user-names.ts";

export type { SlackOptions };

export interface SlackBridge {
  adapter: ChatAdapter & FileSource & MemberDirectory;
  router: express.Router;
  /** Waits for interaction work still running after its ack (graceful shutdown, tests). */
  close(): Promise<void>;
}

const { defaultProcessEventErrorHandler } = HTTPModuleFunctions;

export function createSlack(options: SlackOptions): SlackBridge {
  const { client, clientOptions, adapter, identity, log, logger } = createSlackClient(options);

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
  registerQuoteShortcut(app, deps);
  registerReactionListeners(app, deps);
  registerIgCommand(app, deps);
  const home = new HomeRefresher(deps, (options.homeRefreshSeconds ?? 60) * 1000);
  registerHome(app, deps, home);

  return {
    adapter,
    router,
    close: async () => {
      await home.close();
      await background.drain();
    },
  };
}
