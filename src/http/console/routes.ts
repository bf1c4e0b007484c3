import { readFileSync } from "node:fs";
import express from "express";
import type { PgBoss } from "pg-boss";
import { recordAudit } from "../../audit/audit-log.ts";
import type { ChatAdapter } from "../../chat/chat-port.ts";
import type { Config } from "../../config/config.ts";
import type { Database } from "../../db/database.ts";
import { runDoctor } from "../../health/doctor.ts";
import { CONNECT_BACKFILL_MS, queueBackfill } from "../../ingest/backfill.ts";
import { type ChatPlatform, listAccounts, removeAccount } from "../../instagram/accounts.ts";
import type { TokenCipher } from "../../instagram/token-cipher.ts";
import type { Logger } from "../../log/logger.ts";
import type { InstagramGateway } from "../../outbound/instagram-gateway.ts";
import { discardDeadLetters, listDeadLetters, replayDeadLetters } from "../../queue/dead-letters.ts";
import { ConsoleAuth, HOME } from "./auth.ts";
import { registerBrowseRoutes } from "./conversation-routes.ts";
import { problemPage } from "./layout.ts";
import { form, secured } from "./middleware.ts";
import { businessLoginOff, registerOAuthRoutes } from "./oauth-routes.ts";
import { registerOperationsRoutes } from "./operations-routes.ts";
import {
  accountsPage,
  type DeletionRequest,
  disconnectPage,
  doctorPage,
  privacyPage,
  queuePage,
} from "./pages.ts";
import { registerRulesRoutes } from "./rules-routes.ts";
import { type ConsoleSession, SessionCookies } from "./session.ts";

// The web console (issue 9): accounts, connecting and disconnecting them, the queue and its dead
// letters, and Meta's deletion requests, for the operators signed in (auth.ts). Plain HTML forms;
// every change is a POST with a CSRF token and is audited.

export interface ConsoleDeps {
  db: Database;
  boss: PgBoss;
  cipher: TokenCipher | undefined;
  gateway: InstagramGateway;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  config: Config;
  log: Logger;
}

const CSS = readFileSync(new URL("./console.css", import.meta.url), "utf8");
const DEAD_SHOWN = 100;

export function consoleRouter(deps: ConsoleDeps): express.Router {
  const { db, boss, config, log } = deps;
  const router = express.Router();
  const sessions = config.console.sessionSecret
    ? new SessionCookies(config.console.sessionSecret, {
        secure: config.publicUrl.startsWith("https:"),
        hours: config.console.sessionHours,
      })
    : undefined;
  const auth = new ConsoleAuth({ config: config.console, sessions, publicUrl: config.publicUrl, db, log });
  const operator = (user: string | undefined) => ({ kind: "operator" as const, id: `console:${user}` });

  router.get("/console.css", (_req, res) => {
    res.type("css").set("cache-control", "public, max-age=3600").send(CSS);
  });
  // Browsers ask for it on every page; a blank answer keeps their consoles quiet.
  router.get("/favicon.ico", (_req, res) => {
    res.set("cache-control", "public, max-age=86400").status(204).end();
  });
  auth.register(router);
  registerOAuthRoutes(router, {
    db,
    cipher: deps.cipher,
    graph: deps.gateway.unmetered,
    graphUrl: config.instagram.graphUrl,
    businessLogin: config.businessLogin,
    publicUrl: config.publicUrl,
    adapters: deps.adapters,
    availablePlatforms: config.availablePlatforms,
    auth,
    log,
    onConnected: (account) => queueBackfill(boss, account, new Date(Date.now() - CONNECT_BACKFILL_MS)),
  });

  router.get(
    "/",
    secured,
    auth.page(async (_req, res, session) => {
      const view = {
        accounts: await listAccounts(db),
        platforms: config.availablePlatforms,
        businessLoginOff: businessLoginOff({
          businessLogin: config.businessLogin,
          cipher: deps.cipher,
          publicUrl: config.publicUrl,
        }),
      };
      res.type("html").send(accountsPage(session, view, auth.notice(res, session)));
    }),
  );

  const accountOf = async (res: express.Response, id: string | undefined, session: ConsoleSession) => {
    const account = id ? (await listAccounts(db)).find((a) => a.id === id) : undefined;
    if (!account)
      res
        .status(404)
        .type("html")
        .send(
          problemPage("No such account", `No Instagram account ${id ?? ""} is known here.`, HOME, session),
        );
    return account;
  };

  router.get(
    "/accounts/:id/disconnect",
    secured,
    auth.page(async (req, res, session) => {
      const account = await accountOf(res, req.params.id as string, session);
      if (account) res.type("html").send(disconnectPage(session, account));
    }),
  );

  router.post(
    "/accounts/:id/disconnect",
    secured,
    form,
    auth.action(async (req, res, session) => {
      const account = await accountOf(res, req.params.id as string, session);
      if (!account) return;
      const name = account.username ? `@${account.username}` : account.id;
      // Before the token goes: it is what Instagram needs to stop delivering this account's events.
      const stopped = await deps.gateway.call(account.id, "platform", (token) =>
        deps.gateway.graph.unsubscribeApps(token, account.id),
      );
      const unsubscribed = stopped.kind === "ok";
      const why = stopped.kind === "ok" ? "" : "reason" in stopped ? stopped.reason : stopped.error.reason;
      if (!unsubscribed)
        log.warn(
          { account: account.id, outcome: stopped.kind, reason: why },
          "could not unsubscribe a disconnected account from webhooks",
        );
      await removeAccount(db, account.id);
      await recordAudit(db, {
        actor: operator(session.user),
        account: account.id,
        action: "account_removed",
        details: { via: "console", unsubscribed },
      });
      log.info({ account: account.id, user: session.user, unsubscribed }, "account disconnected");
      auth.update(res, session, {
        flash: unsubscribed
          ? `Disconnected ${name}.`
          : `Disconnected ${name}. Instagram could not be told to stop sending its events (${why}); they are stored but not mirrored.`,
      });
      res.redirect(303, "/");
    }),
  );

  router.get(
    "/queue",
    secured,
    auth.page(async (_req, res, session) => {
      const inbound = await db.query<{ status: string; n: number }>(
        "SELECT status, count(*)::int AS n FROM inbound_events WHERE status IN ('queued', 'dead') GROUP BY status",
      );
      const outbound = await db.query<{ account_id: string; delivery_state: string; n: number }>(
        `SELECT account_id, delivery_state, count(*)::int AS n FROM messages
          WHERE delivery_state IN ('pending', 'held') GROUP BY 1, 2 ORDER BY 1`,
      );
      const count = (status: string) => inbound.rows.find((r) => r.status === status)?.n ?? 0;
      const perAccount = new Map<string, { account: string; pending: number; held: number }>();
      for (const r of outbound.rows) {
        const entry = perAccount.get(r.account_id) ?? { account: r.account_id, pending: 0, held: 0 };
        if (r.delivery_state === "pending") entry.pending = r.n;
        else entry.held = r.n;
        perAccount.set(r.account_id, entry);
      }
      const view = {
        queued: count("queued"),
        deadTotal: count("dead"),
        dead: await listDeadLetters(db, DEAD_SHOWN),
        outbound: [...perAccount.values()],
      };
      res.type("html").send(queuePage(session, view, auth.notice(res, session)));
    }),
  );

  const deadLetterActions = [
    ["replay", "Replayed", "dead_letters_replayed", replayDeadLetters],
    ["discard", "Discarded", "dead_letters_discarded", discardDeadLetters],
  ] as const;
  for (const [name, done, action, act] of deadLetterActions)
    router.post(
      `/queue/${name}`,
      secured,
      form,
      auth.action(async (req, res, session) => {
        const body = req.body as Record<string, unknown>;
        const id = typeof body.id === "string" && /^\d{1,15}$/.test(body.id) ? Number(body.id) : undefined;
        if (body.all !== "1" && id === undefined) {
          res
            .status(400)
            .type("html")
            .send(problemPage("Nothing to do", "Name a dead letter by its event id.", QUEUE, session));
          return;
        }
        const acted = await act(db, boss, body.all === "1" ? "all" : [id as number]);
        if (acted.length > 0)
          await recordAudit(db, { actor: operator(session.user), action, details: { events: acted } });
        auth.update(res, session, {
          flash:
            acted.length > 0
              ? `${done} ${acted.length} event(s): ${acted.join(", ")}.`
              : "No such dead letter (it may have been handled already).",
        });
        res.redirect(303, "/queue");
      }),
    );

  // The doctor's checks, run at each visit (read-only: nothing to confirm, so no CSRF form).
  router.get(
    "/doctor",
    secured,
    auth.page(async (_req, res, session) => {
      const checks = await runDoctor({ config, log, db });
      res.type("html").send(doctorPage(session, checks, new Date()));
    }),
  );

  registerBrowseRoutes(router, {
    db,
    auth,
    adapters: deps.adapters,
    platforms: config.availablePlatforms,
    humanAgent: config.instagram.humanAgent,
    log,
  });
  registerRulesRoutes(router, { db, auth, log, operator });
  registerOperationsRoutes(router, {
    db,
    auth,
    adapters: deps.adapters,
    availablePlatforms: config.availablePlatforms,
    config,
    log,
    operator,
  });

  router.get(
    "/privacy",
    secured,
    auth.page(async (_req, res, session) => {
      res.type("html").send(privacyPage(session, await deletionRequests(db)));
    }),
  );

  router.get(
    "/privacy/lookup",
    secured,
    auth.page(async (req, res, session) => {
      const code = typeof req.query.code === "string" ? req.query.code.trim().toUpperCase() : "";
      if (/^[A-Z0-9]{6,32}$/.test(code)) {
        res.redirect(303, `/privacy/deletion/${code}`);
        return;
      }
      res
        .status(400)
        .type("html")
        .send(
          privacyPage(
            session,
            await deletionRequests(db),
            `“${code}” is not a confirmation code (6 to 32 letters and digits).`,
          ),
        );
    }),
  );

  return router;
}

const QUEUE = { href: "/queue", label: "Back to the queue" };

async function deletionRequests(db: Database): Promise<DeletionRequest[]> {
  const { rows } = await db.query<{
    code: string;
    status: string;
    requested_at: Date;
    completed_at: Date | null;
  }>(
    "SELECT code, status, requested_at, completed_at FROM data_requests WHERE kind = 'deletion' ORDER BY requested_at DESC LIMIT 50",
  );
  return rows.map((r) => ({
    code: r.code,
    status: r.status,
    requestedAt: new Date(r.requested_at),
    completedAt: r.completed_at ? new Date(r.completed_at) : null,
  }));
}
