import type express from "express";
import type { Request, Response } from "express";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { recordAudit } from "../../audit/audit-log.ts";
import { type ConsoleConfig, trustedPeer } from "../../config/console-config.ts";
import type { Database } from "../../db/database.ts";
import type { Logger } from "../../log/logger.ts";
import { csrfOk } from "./csrf.ts";
import { loginPage, problemPage, setupPage } from "./layout.ts";
import { form, secured } from "./middleware.ts";
import { verifyPassword } from "./password.ts";
import { dropLogins } from "./pending-logins.ts";
import { digest } from "./secrets.ts";
import type { ConsoleSession, SessionCookies } from "./session.ts";

// Who may use the console: the holder of the admin password, or whoever an authenticating
// reverse proxy (oauth2-proxy and the like) names in CONSOLE_AUTH_HEADER, believed only from the
// addresses in CONSOLE_TRUSTED_PROXIES. With neither configured the console is closed.

export interface ConsoleAuthDeps {
  config: ConsoleConfig;
  /** Undefined when no session secret is configured: the console stays closed. */
  sessions: SessionCookies | undefined;
  publicUrl: string;
  db: Database;
  log: Logger;
}

const THROTTLE_SECONDS = 15 * 60;
/** Wrong passwords per client, then per service, before sign-in waits out the window. */
const CLIENT_ATTEMPTS = 5;
const SERVICE_ATTEMPTS = 50;

export class ConsoleAuth {
  readonly #d: ConsoleAuthDeps;
  // Per client address, and for everyone together: the address comes from X-Forwarded-For,
  // which a client that reaches the service directly can vary at will.
  readonly #perClient = new RateLimiterMemory({ points: CLIENT_ATTEMPTS, duration: THROTTLE_SECONDS });
  readonly #overall = new RateLimiterMemory({ points: SERVICE_ATTEMPTS, duration: THROTTLE_SECONDS });

  constructor(deps: ConsoleAuthDeps) {
    this.#d = deps;
  }

  /** The signed-in session; otherwise the answer is sent (setup page, sign-in, refusal) and undefined returned. */
  async signedIn(req: Request, res: Response): Promise<ConsoleSession | undefined> {
    const { config } = this.#d;
    const sessions = this.#d.sessions;
    if (!sessions || (!config.passwordHash && !config.authHeader)) {
      res.status(503).type("html").send(setupPage());
      return undefined;
    }
    let { session } = sessions.read(req);
    if (session.user && (await this.#signedOut(session))) session = sessions.anonymous();
    const proxied = this.#proxyUser(req);
    if (proxied !== undefined) {
      if (config.allowedUsers.length > 0 && !config.allowedUsers.includes(proxied.toLowerCase())) {
        await this.refuse(req, proxied, "console_user_not_allowed");
        res
          .status(403)
          .type("html")
          .send(
            problemPage("Not allowed", `${proxied} is signed in but is not among CONSOLE_ALLOWED_USERS.`, {
              href: "/",
              label: "Try again",
            }),
          );
        return undefined;
      }
      if (session.user === proxied && session.via === "proxy") return session;
      const fresh = sessions.signedIn(proxied, "proxy");
      sessions.write(res, fresh);
      await this.#signedInNow(req, fresh);
      return fresh;
    }
    // A proxy session lasts only as long as the proxy keeps vouching for it.
    if (session.user && session.via === "password" && config.passwordHash) return session;
    if (req.method === "GET" && config.passwordHash) {
      res.redirect(303, "/login");
      return undefined;
    }
    res
      .status(401)
      .type("html")
      .send(
        config.passwordHash
          ? problemPage(
              "Signed out",
              "Your session has ended. Sign in again, then repeat what you were doing.",
              {
                href: "/login",
                label: "Sign in",
              },
            )
          : problemPage(
              "Sign in through your proxy",
              "This console trusts your single sign-on proxy, and this request did not come through it.",
              { href: "/", label: "Try again" },
            ),
      );
    return undefined;
  }

  /** A page for signed-in operators. */
  page(fn: (req: Request, res: Response, session: ConsoleSession) => Promise<void>): express.RequestHandler {
    return async (req, res) => {
      const session = await this.signedIn(req, res);
      if (session) await fn(req, res, session);
    };
  }

  /** A form post of a signed-in operator, with a valid CSRF token (refusals are audited). */
  action(
    fn: (req: Request, res: Response, session: ConsoleSession) => Promise<void>,
  ): express.RequestHandler {
    return async (req, res) => {
      const session = await this.signedIn(req, res);
      if (!session) return;
      if (!csrfOk(req, session, this.#d.publicUrl)) {
        await this.refuse(req, session.user, "csrf", { path: req.path });
        res
          .status(403)
          .type("html")
          .send(problemPage("Not done", FORM_EXPIRED, HOME, session));
        return;
      }
      await fn(req, res, session);
    };
  }

  /** The one-time notice a previous action left for this page, cleared as it is read. */
  notice(res: Response, session: ConsoleSession): string | undefined {
    const notice = session.flash;
    if (notice === undefined) return undefined;
    this.#d.sessions?.write(res, { ...session, flash: undefined });
    return notice;
  }

  /** Keeps `changes` in the session cookie (a pending login, a notice for the next page). */
  update(res: Response, session: ConsoleSession, changes: Partial<ConsoleSession>): void {
    this.#d.sessions?.write(res, { ...session, ...changes });
  }

  /** `/login` and `/logout`. */
  register(router: express.Router): void {
    router.get("/login", secured, (req, res) => {
      const sessions = this.#passwordSessions(res);
      if (!sessions) return;
      const { session, fresh } = sessions.read(req);
      if (session.user && session.via === "password") {
        res.redirect(303, "/");
        return;
      }
      if (fresh) sessions.write(res, session);
      res.type("html").send(loginPage(session));
    });

    router.post("/login", secured, form, async (req, res) => {
      const sessions = this.#passwordSessions(res);
      if (!sessions) return;
      const { session } = sessions.read(req);
      if (!csrfOk(req, session, this.#d.publicUrl)) {
        const again = sessions.anonymous();
        sessions.write(res, again);
        res
          .status(403)
          .type("html")
          .send(loginPage(again, "The sign-in form had expired. Type the password again."));
        return;
      }
      const client = req.ip ?? "unknown";
      const waitMs = await this.#throttled(client);
      if (waitMs > 0) {
        this.#d.log.warn({ client }, "console sign-in throttled");
        res
          .status(429)
          .set("retry-after", String(Math.ceil(waitMs / 1000)))
          .type("html")
          .send(
            loginPage(
              session,
              `Too many wrong passwords. Try again in ${Math.ceil(waitMs / 60_000)} minute(s).`,
            ),
          );
        return;
      }
      const password = typeof req.body?.password === "string" ? req.body.password : "";
      if (!(await verifyPassword(password, this.#d.config.passwordHash as string))) {
        await Promise.all([
          this.#perClient.consume(client).catch(() => {}),
          this.#overall.consume("all").catch(() => {}),
        ]);
        await this.refuse(req, undefined, "console_login");
        res.status(401).type("html").send(loginPage(session, "Wrong password."));
        return;
      }
      await this.#perClient.delete(client);
      const signedIn = sessions.signedIn("admin", "password");
      sessions.write(res, signedIn);
      await this.#signedInNow(req, signedIn);
      res.redirect(303, "/");
    });

    router.post(
      "/logout",
      secured,
      form,
      this.action(async (_req, res, session) => {
        await dropLogins(this.#d.db, session.sid);
        await this.#d.db.query("DELETE FROM console_signouts WHERE expires_at < now()");
        await this.#d.db.query(
          "INSERT INTO console_signouts (sid_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
          [digest(session.sid), new Date(session.exp)],
        );
        this.#d.sessions?.clear(res);
        this.#d.log.info({ user: session.user }, "console sign-out");
        if (session.via === "proxy")
          res.type("html").send(
            problemPage("Signed out of threadbridge", "Sign out of your single sign-on too.", {
              href: "/",
              label: "Back to the console",
            }),
          );
        else res.redirect(303, "/login");
      }),
    );
  }

  #passwordSessions(res: Response): SessionCookies | undefined {
    const { config, sessions } = this.#d;
    if (!sessions || (!config.passwordHash && !config.authHeader)) {
      res.status(503).type("html").send(setupPage());
      return undefined;
    }
    if (!config.passwordHash) {
      res
        .status(404)
        .type("html")
        .send(
          problemPage("No password sign-in", "This console signs you in through your single sign-on proxy.", {
            href: "/",
            label: "Open the console",
          }),
        );
      return undefined;
    }
    return sessions;
  }

  async #signedOut(session: ConsoleSession): Promise<boolean> {
    const { rows } = await this.#d.db.query("SELECT 1 FROM console_signouts WHERE sid_hash = $1", [
      digest(session.sid),
    ]);
    return rows.length > 0;
  }

  #proxyUser(req: Request): string | undefined {
    const { authHeader, trustedProxies } = this.#d.config;
    if (!authHeader || !trustedPeer(req.socket.remoteAddress, trustedProxies)) return undefined;
    const user = req.get(authHeader)?.trim();
    return user ? user : undefined;
  }

  async #throttled(client: string): Promise<number> {
    const [mine, all] = await Promise.all([this.#perClient.get(client), this.#overall.get("all")]);
    const wait = (r: typeof mine, points: number) => (r && r.consumedPoints >= points ? r.msBeforeNext : 0);
    return Math.max(wait(mine, CLIENT_ATTEMPTS), wait(all, SERVICE_ATTEMPTS));
  }

  async #signedInNow(req: Request, session: ConsoleSession): Promise<void> {
    this.#d.log.info({ user: session.user, via: session.via }, "console sign-in");
    await recordAudit(this.#d.db, {
      actor: { kind: "operator", id: `console:${session.user}` },
      action: "console_login",
      details: { via: session.via, client: req.ip },
    });
  }

  /** Logs and audits a refusal: a wrong password, a bad CSRF token, a forged OAuth state… */
  async refuse(
    req: Request,
    user: string | undefined,
    what: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    this.#d.log.warn({ user, what, ...details }, "console refusal");
    await recordAudit(this.#d.db, {
      actor: { kind: "operator", id: user ? `console:${user}` : "console" },
      action: "refused",
      target: what,
      details: { ...details, client: req.ip },
    });
  }
}

export const FORM_EXPIRED =
  "The form had expired (or did not come from this console). Reload the page and try again.";
export const HOME = { href: "/", label: "Back to the accounts" };
