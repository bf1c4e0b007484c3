import type express from "express";
import { recordAudit } from "../../audit/audit-log.ts";
import type { ChatAdapter, ChatPlatform } from "../../chat/chat-port.ts";
import { chatKey } from "../../chat/ids.ts";
import type { PlatformDescriptor } from "../../chat/platform.ts";
import { platformLabel } from "../../chat/platforms.ts";
import type { Config } from "../../config/config.ts";
import type { Database } from "../../db/database.ts";
import type { DigestSpan } from "../../digest/digest-service.ts";
import { type AccountSummary, listAccounts, routeAccount } from "../../instagram/accounts.ts";
import type { Logger } from "../../log/logger.ts";
import { type PauseScope, pause, pauses, resume } from "../../outbound/pause.ts";
import { type ConsoleAuth, HOME } from "./auth.ts";
import { queryText } from "./conversation-routes.ts";
import { problemPage } from "./layout.ts";
import { form, inlineImages, secured } from "./middleware.ts";
import { destinationChoice } from "./oauth-routes.ts";
import { DIGEST_SPANS, type DigestPreview, digestPage, routePage, sendingPage } from "./operations-pages.ts";
import type { ConnectForm } from "./pages.ts";
import type { ConsoleSession } from "./session.ts";

// Pause and resume, routing, and the digest preview (issue 20): the same functions as
// `threadbridge pause`/`resume`, `accounts route` and `digest --print`. Each change is a CSRF-checked
// POST and is audited (pause.ts audits its own switches).

export interface OperationsDeps {
  db: Database;
  auth: ConsoleAuth;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  availablePlatforms: readonly PlatformDescriptor[];
  config: Config;
  log: Logger;
  operator: (user: string | undefined) => { kind: "operator"; id: string };
}

const SENDING = { href: "/sending", label: "Back to sending" };

export function registerOperationsRoutes(router: express.Router, deps: OperationsDeps): void {
  const { db, auth, log } = deps;
  // Only where threads can go now: a platform running here (as in `accounts route`).
  const platforms = deps.availablePlatforms.filter((p) => deps.adapters.has(p.name));

  router.get(
    "/sending",
    secured,
    auth.page(async (_req, res, session) => {
      const { rows } = await db.query<{ account_id: string; delivery_state: string; n: number }>(
        `SELECT account_id, delivery_state, count(*)::int AS n FROM messages
          WHERE delivery_state IN ('pending', 'held') GROUP BY 1, 2`,
      );
      const outbound = new Map<string, { pending: number; held: number }>();
      for (const r of rows) {
        const entry = outbound.get(r.account_id) ?? { pending: 0, held: 0 };
        entry[r.delivery_state === "held" ? "held" : "pending"] = r.n;
        outbound.set(r.account_id, entry);
      }
      const [overview, accounts] = await Promise.all([pauses(db), listAccounts(db)]);
      res
        .type("html")
        .send(
          sendingPage(
            session,
            { pauses: overview, accounts: accounts.filter((a) => a.status !== "removed"), outbound },
            auth.notice(res, session),
          ),
        );
    }),
  );

  for (const kind of ["pause", "resume"] as const)
    router.post(
      `/sending/${kind}`,
      secured,
      form,
      auth.action(async (req, res, session) => {
        const body = req.body as Record<string, unknown>;
        const account = typeof body.account === "string" && body.account !== "" ? body.account : undefined;
        const scope: PauseScope = account === undefined ? "global" : { account };
        const actor = deps.operator(session.user);
        const found =
          kind === "pause"
            ? await pause(db, scope, `${session.user ?? "operator"} (console)`, actor)
            : await resume(db, scope, actor);
        if (!found) {
          res
            .status(404)
            .type("html")
            .send(
              problemPage(
                "No such account",
                `No Instagram account ${account} is known here.`,
                SENDING,
                session,
              ),
            );
          return;
        }
        const what = account === undefined ? "every account" : `account ${account}`;
        log.info({ scope: account ?? "global", user: session.user }, `sending ${kind}d from the console`);
        auth.update(res, session, {
          flash:
            kind === "pause"
              ? `Paused sending for ${what}. Replies are held until you resume.`
              : `Resumed sending for ${what}. Held replies go out in order.`,
        });
        res.redirect(303, "/sending");
      }),
    );

  const accountOf = async (res: express.Response, id: string, session: ConsoleSession) => {
    const account = (await listAccounts(db)).find((a) => a.id === id && a.status !== "removed");
    if (!account)
      res
        .status(404)
        .type("html")
        .send(problemPage("No such account", `No Instagram account ${id} is known here.`, HOME, session));
    return account;
  };
  const current = (a: AccountSummary): ConnectForm => ({
    platform: a.chat?.platform,
    channel: a.chat?.channel,
    digest: a.digestChannel ?? undefined,
  });

  router.get(
    "/accounts/:id/route",
    secured,
    auth.page(async (req, res, session) => {
      const account = await accountOf(res, req.params.id as string, session);
      if (account) res.type("html").send(routePage(session, account, platforms, current(account)));
    }),
  );

  router.post(
    "/accounts/:id/route",
    secured,
    form,
    auth.action(async (req, res, session) => {
      const account = await accountOf(res, req.params.id as string, session);
      if (!account) return;
      const { choice, problem } = destinationChoice(req.body, platforms);
      if (problem || !choice.platform || !choice.channel) {
        res
          .status(400)
          .type("html")
          .send(
            routePage(session, account, platforms, choice, problem ?? "Choose a platform and a channel."),
          );
        return;
      }
      const chat = { platform: choice.platform, channel: choice.channel };
      await routeAccount(db, account.id, chat, choice.digest);
      await recordAudit(db, {
        actor: deps.operator(session.user),
        account: account.id,
        action: "account_routed",
        details: {
          via: "console",
          destination: chatKey(chat.platform, chat.channel),
          ...(choice.digest ? { digest: choice.digest } : {}),
        },
      });
      log.info({ account: account.id, destination: chatKey(chat.platform, chat.channel) }, "account routed");
      const name = account.username ? `@${account.username}` : account.id;
      auth.update(res, session, {
        flash: `Routed ${name} to ${platformLabel(platforms, chat.platform)} ${chat.channel}.`,
      });
      res.redirect(303, "/");
    }),
  );

  router.get(
    "/digest",
    secured,
    inlineImages,
    auth.page(async (req, res, session) => {
      const accounts = (await listAccounts(db)).filter((a) => a.status !== "removed");
      const spanText = queryText(req, "span", 10);
      const span: DigestSpan = DIGEST_SPANS.find(([s]) => s === spanText)?.[0] ?? "24h";
      const accountId = queryText(req, "account") ?? accounts[0]?.id;
      const account = accounts.find((a) => a.id === accountId);
      let preview: DigestPreview | undefined;
      if (account) {
        // Loaded on first use: the chart's canvas is only needed here and in the digest worker.
        const [{ DigestService }, { digestText }, { renderDigestChart }] = await Promise.all([
          import("../../digest/digest-service.ts"),
          import("../../digest/digest-text.ts"),
          import("../../digest/chart.ts"),
        ]);
        const service = new DigestService({ db, adapters: new Map(), config: deps.config, log });
        const found = await service.account(account.id);
        if (found) {
          const digest = await service.compute(found, span);
          preview = { text: digestText(digest), chart: await renderDigestChart(digest) };
        }
      }
      const unknown = accountId !== undefined && !account;
      res
        .status(unknown ? 404 : 200)
        .type("html")
        .send(
          digestPage(session, {
            accounts,
            account: account?.id,
            span,
            ...(preview ? { preview } : {}),
            ...(unknown ? { error: `No Instagram account ${accountId} is connected here.` } : {}),
          }),
        );
    }),
  );
}
