import type express from "express";
import { recordAudit } from "../../audit/audit-log.ts";
import type { ChatAdapter } from "../../chat/chat-port.ts";
import { chatKey } from "../../chat/ids.ts";
import type { PlatformDescriptor } from "../../chat/platform.ts";
import { channelProblem, platformNamed } from "../../chat/platforms.ts";
import type { BusinessLoginConfig } from "../../config/console-config.ts";
import type { Database } from "../../db/database.ts";
import { addAccount, type ChatPlatform, listAccounts } from "../../instagram/accounts.ts";
import { BusinessLogin, missingScopes, SUBSCRIBED_FIELDS } from "../../instagram/business-login.ts";
import type { GraphClient } from "../../instagram/graph-client.ts";
import type { TokenCipher } from "../../instagram/token-cipher.ts";
import type { Logger } from "../../log/logger.ts";
import { expectedAnswer } from "../expected-answer.ts";
import { type ConsoleAuth, HOME } from "./auth.ts";
import { problemPage } from "./layout.ts";
import { form, secured } from "./middleware.ts";
import { type ConnectForm, connectPage } from "./pages.ts";
import {
  beginLogin,
  consumeState,
  finishLogin,
  heldToken,
  holdToken,
  type PendingAccount,
  pendingAccount,
  type StateRefusal,
} from "./pending-logins.ts";
import type { ConsoleSession } from "./session.ts";

// Business Login for Instagram from the console (reference 5): start → Instagram's consent →
// callback (state, code, long-lived token, /me, webhook subscription) → the operator picks the
// channel → the account is connected. The token never reaches the browser: between the callback
// and the channel it waits sealed in `oauth_logins`, keyed by an id the session cookie holds.

export interface OAuthRouteDeps {
  db: Database;
  cipher: TokenCipher | undefined;
  graph: GraphClient;
  graphUrl: string;
  businessLogin: BusinessLoginConfig | undefined;
  publicUrl: string;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  /** Every chat platform of this build; those with a running adapter are offered. */
  availablePlatforms: readonly PlatformDescriptor[];
  auth: ConsoleAuth;
  log: Logger;
  /** An account was (re)connected: recover what its webhooks may have missed (the backfill). */
  onConnected?: (account: string) => Promise<void>;
}

export { SUBSCRIBED_FIELDS };

const STATE_REFUSALS: Record<StateRefusal, string> = {
  missing:
    "Instagram came back without the state this console sent, so nothing shows this sign-in was yours.",
  unknown: "This sign-in was not started from your console session, or it lapsed.",
  other_session: "This sign-in was started in another browser session; it only completes where it began.",
  expired: "This sign-in took longer than 10 minutes and lapsed.",
  reused: "This sign-in was already used.",
};

const AGAIN = { href: "/oauth/instagram/start", label: "Connect again" };

export function registerOAuthRoutes(router: express.Router, deps: OAuthRouteDeps): void {
  const { db, auth, log } = deps;
  const login = deps.businessLogin
    ? new BusinessLogin({
        ...deps.businessLogin,
        graphUrl: deps.graphUrl,
        redirectUri: `${deps.publicUrl}/oauth/instagram/callback`,
      })
    : undefined;
  const platforms = deps.availablePlatforms.filter((p) => deps.adapters.has(p.name));

  /** Business Login needs the app's credentials and a key to seal tokens with. */
  const ready = (res: express.Response, session: ConsoleSession) => {
    if (login && deps.cipher) return { login, cipher: deps.cipher };
    expectedAnswer(res, "business login is off: setup page shown")
      .status(503)
      .type("html")
      .send(
        problemPage(
          "Business Login is off",
          `To connect accounts from here, ${businessLoginOff(deps)}`,
          HOME,
          session,
        ),
      );
    return undefined;
  };

  const failed = (res: express.Response, session: ConsoleSession, status: number, message: string) => {
    res
      .status(status)
      .type("html")
      .send(problemPage("Instagram connection failed", message, AGAIN, session));
  };

  router.get(
    "/oauth/instagram/start",
    secured,
    auth.page(async (_req, res, session) => {
      const on = ready(res, session);
      if (!on) return;
      const { state } = await beginLogin(db, session.sid);
      log.info({ user: session.user }, "business login started");
      res.redirect(303, on.login.authorizeUrl(state));
    }),
  );

  router.get(
    "/oauth/instagram/callback",
    secured,
    auth.page(async (req, res, session) => {
      const on = ready(res, session);
      if (!on) return;
      const q = req.query as Record<string, unknown>;
      const param = (name: string) => (typeof q[name] === "string" ? (q[name] as string) : undefined);
      const error = param("error");
      const state = param("state");
      if (error && !state) {
        // Meta's documented cancel carries no state: nothing ties it to this session, so its
        // words are not repeated (anyone could craft them), only that nothing was connected.
        log.info({ user: session.user, error }, "business login declined (no state)");
        failed(res, session, 400, declined(error));
        return;
      }
      // With a state, it is checked first, errors included: an answer this session did not ask
      // for is refused, not shown.
      const check = await consumeState(db, session.sid, state);
      if (!check.ok) {
        await auth.refuse(req, session.user, "oauth_state", { reason: check.reason });
        res
          .status(400)
          .type("html")
          .send(
            problemPage(
              "This Instagram sign-in cannot be used",
              `${STATE_REFUSALS[check.reason]} For your safety it was refused. Start again from the Accounts page.`,
              AGAIN,
              session,
            ),
          );
        return;
      }
      if (error) {
        const why = param("error_description") ?? param("error_reason");
        log.info({ user: session.user, error, reason: param("error_reason") }, "business login declined");
        failed(res, session, 400, declined(error, why));
        return;
      }
      const code = param("code");
      if (!code) {
        failed(
          res,
          session,
          400,
          "Instagram came back without an authorization code. Nothing was connected.",
        );
        return;
      }
      const short = await on.login.exchangeCode(code);
      if (!short.ok) {
        log.warn({ error: short.error.message }, "business login: code exchange failed");
        failed(res, session, 502, `Instagram did not accept the authorization code: ${short.error.message}`);
        return;
      }
      const missing = short.value.permissions.length > 0 ? missingScopes(short.value.permissions) : [];
      if (missing.length > 0) {
        failed(
          res,
          session,
          400,
          `The account did not grant every permission threadbridge needs (missing: ${missing.join(", ")}). Connect again and leave every permission on.`,
        );
        return;
      }
      const long = await on.login.longLived(short.value.accessToken);
      if (!long.ok) {
        log.warn({ error: long.error.message }, "business login: long-lived exchange failed");
        failed(res, session, 502, `Instagram did not issue a long-lived token: ${long.error.message}`);
        return;
      }
      const token = long.value.accessToken;
      const me = await deps.graph.getMe(token);
      if (!me.ok) {
        failed(
          res,
          session,
          502,
          `Instagram did not say which account this is: ${me.error.reason} (${me.error.message})`,
        );
        return;
      }
      const subscribed = await deps.graph.subscribeApps(token, SUBSCRIBED_FIELDS);
      if (!subscribed.ok) {
        failed(
          res,
          session,
          502,
          `Instagram did not turn on webhook delivery for @${me.value.username}: ${subscribed.error.reason} (${subscribed.error.message})`,
        );
        return;
      }
      await holdToken(db, on.cipher, check.loginId, {
        igUserId: me.value.userId,
        username: me.value.username,
        token,
        tokenExpiresAt: long.value.expiresAt,
      });
      auth.update(res, session, { pending: check.loginId });
      log.info(
        { account: me.value.userId, username: me.value.username },
        "business login: account authorized",
      );
      res.redirect(303, "/oauth/instagram/connect");
    }),
  );

  const waiting = async (res: express.Response, session: ConsoleSession) => {
    const pending = session.pending ? await pendingAccount(db, session.pending, session.sid) : undefined;
    if (!pending)
      res
        .status(404)
        .type("html")
        .send(
          problemPage(
            "No account is waiting",
            "No Instagram account is waiting for a channel: it was connected already, or half an hour passed.",
            AGAIN,
            session,
          ),
        );
    return pending;
  };

  router.get(
    "/oauth/instagram/connect",
    secured,
    auth.page(async (_req, res, session) => {
      const pending = await waiting(res, session);
      if (!pending) return;
      // Reconnecting an account keeps its destination unless the operator changes it.
      const known = (await listAccounts(db)).find((a) => a.id === pending.igUserId);
      const prefill: ConnectForm = known?.chat
        ? {
            platform: known.chat.platform,
            channel: known.chat.channel,
            digest: known.digestChannel ?? undefined,
          }
        : {};
      res
        .type("html")
        .send(connectPage(session, pending, { offered: platforms, all: deps.availablePlatforms }, prefill));
    }),
  );

  router.post(
    "/oauth/instagram/connect",
    secured,
    form,
    auth.action(async (req, res, session) => {
      const on = ready(res, session);
      if (!on) return;
      const pending = await waiting(res, session);
      if (!pending) return;
      const { choice, problem } = destinationChoice(req.body, platforms);
      if (problem || !choice.platform || !choice.channel) {
        res
          .status(400)
          .type("html")
          .send(
            connectPage(
              session,
              pending,
              { offered: platforms, all: deps.availablePlatforms },
              choice,
              problem ?? "Choose a platform and a channel.",
            ),
          );
        return;
      }
      const chat = { platform: choice.platform, channel: choice.channel };
      const token = await heldToken(db, on.cipher, pending.loginId);
      if (token !== undefined) {
        await addAccount(db, on.cipher, {
          igUserId: pending.igUserId,
          username: pending.username,
          token,
          tokenExpiresAt: pending.tokenExpiresAt,
          chat,
          digestChannel: choice.digest,
        });
      }
      // A double submit connects once: only the request that clears the held token records it.
      if (token !== undefined && (await finishLogin(db, pending.loginId))) {
        await recordAudit(db, {
          actor: { kind: "operator", id: `console:${session.user}` },
          account: pending.igUserId,
          action: "account_added",
          details: {
            via: "business_login",
            destination: chatKey(chat.platform, chat.channel),
            ...(choice.digest ? { digest: choice.digest } : {}),
          },
        });
        log.info(
          { account: pending.igUserId, destination: chatKey(chat.platform, chat.channel) },
          "account connected",
        );
        await deps
          .onConnected?.(pending.igUserId)
          .catch((err: unknown) =>
            log.warn({ err, account: pending.igUserId }, "could not queue the backfill"),
          );
      }
      const platform = platformNamed(platforms, chat.platform);
      const invite = platform?.channel.invite
        ? `on ${platform.label}: ${platform.channel.invite}`
        : undefined;
      const announced = await announce(deps, pending, chat, invite);
      auth.update(res, session, {
        pending: undefined,
        flash: `Connected @${pending.username} to ${platform?.label ?? chat.platform} ${chat.channel}.${announced}`,
      });
      res.redirect(303, "/");
    }),
  );
}

/** Why Business Login is off and how to turn it on; undefined when it is on. */
export function businessLoginOff(deps: {
  businessLogin: BusinessLoginConfig | undefined;
  cipher: TokenCipher | undefined;
  publicUrl: string;
}): string | undefined {
  if (!deps.businessLogin)
    return `set IG_APP_ID and IG_APP_SECRET (Instagram → API setup with Instagram login → Business login settings) and add ${deps.publicUrl}/oauth/instagram/callback as an OAuth redirect URI there.`;
  if (!deps.cipher) return "set TOKEN_ENCRYPTION_KEY so tokens can be stored encrypted.";
  return undefined;
}

function declined(error: string, why?: string): string {
  const said = why ? `: “${why.slice(0, 300)}”` : "";
  return error === "access_denied"
    ? `Instagram says the connection was declined${said}. Nothing was connected.`
    : `Instagram returned the error “${error.slice(0, 100)}”${said}. Nothing was connected.`;
}

/** The destination a connect or route form chose (platform, channel, digest channel), and what is
 * wrong with it. */
export function destinationChoice(
  form: unknown,
  platforms: readonly PlatformDescriptor[],
): { choice: ConnectForm; problem: string | undefined } {
  const body = (typeof form === "object" && form !== null ? form : {}) as Record<string, unknown>;
  const text = (name: string) => (typeof body[name] === "string" ? (body[name] as string).trim() : "");
  const choice: ConnectForm = {
    platform: platforms.find((p) => p.name === text("platform"))?.name,
    channel: text("channel"),
    digest: text("digest") || undefined,
  };
  return { choice, problem: destinationProblem(choice, platforms) };
}

/** What is wrong with a chosen destination (connecting or routing an account), among the platforms
 * running here; undefined when nothing is. */
export function destinationProblem(
  choice: ConnectForm,
  platforms: readonly PlatformDescriptor[],
): string | undefined {
  const platform = platformNamed(platforms, choice.platform);
  if (!platform) return `Choose ${platforms.map((p) => p.label).join(" or ")}.`;
  const channelWrong = channelProblem(platform, choice.channel ?? "");
  if (channelWrong) return channelWrong;
  const { pattern, example } = platform.channel;
  if (choice.digest && !pattern.test(choice.digest))
    return `The digest channel “${choice.digest}” is not a channel id (expected ${example}).`;
  return undefined;
}

/** Says hello in the channel, which also shows whether the bot can post there. */
async function announce(
  deps: OAuthRouteDeps,
  pending: PendingAccount,
  chat: { platform: ChatPlatform; channel: string },
  invite: string | undefined,
): Promise<string> {
  const adapter = deps.adapters.get(chat.platform);
  if (!adapter) return "";
  try {
    await adapter.alert(
      chat.channel,
      `✅ @${pending.username} is connected: its Instagram conversations and comment threads will appear here.`,
    );
    return "";
  } catch (err) {
    deps.log.warn(
      {
        account: pending.igUserId,
        channel: chat.channel,
        err: err instanceof Error ? err.message : String(err),
      },
      "could not post in the new account's channel",
    );
    return ` The bot could not post there yet: invite it to the channel${invite ? ` (${invite})` : ""}.`;
  }
}
