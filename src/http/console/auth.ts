import { isIP } from "node:net";
import type express from "express";
import type { Request, Response } from "express";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { recordAudit } from "../../audit/audit-log.ts";
import { type ConsoleConfig, trustedPeer } from "../../config/console-config.ts";
import type { Database } from "../../db/database.ts";
import type { Logger } from "../../log/logger.ts";
import { expectedAnswer } from "../expected-answer.ts";
import { csrfOk } from "./csrf.ts";
import { loginPage, problemPage, setupPage } from "./layout.ts";
import { form, secured } from "./middleware.ts";
import { DEFAULT_COST, hashPassword, verifyPassword } from "./password.ts";
import { dropLogins } from "./pending-logins.ts";
import { digest, randomToken } from "./secrets.ts";
import type { ConsoleSession, SessionCookies } from "./session.ts";
import { anyUsers, credentialsOf, findUser, SHARED_USER, USER_NAME } from "./users.ts";

// Who may use the console: a named console user with their own password (users.ts), the holder of
// the shared admin password (the user `admin`), or whoever an authenticating reverse proxy
// (oauth2-proxy and the like) names in CONSOLE_AUTH_HEADER, believed only from the addresses in
// CONSOLE_TRUSTED_PROXIES. With none of them the console is closed.

export interface ConsoleAuthDeps {
  config: ConsoleConfig;
  /** Undefined when no session secret is configured: the console stays closed. */
  sessions: SessionCookies | undefined;
  publicUrl: string;
  db: Database;
  log: Logger;
}

const THROTTLE_SECONDS = 15 * 60;
/** Password guesses per client in THROTTLE_SECONDS; a right one is given back. */
const CLIENT_ATTEMPTS = 5;
/** scrypt checks at once (each about 0.4 s of a core and 128 MiB at the default cost)… */
const CHECKS_AT_ONCE = 2;
/** …and sign-ins waiting for one; past that the answer is "busy", at once. */
const CHECKS_WAITING = 8;
/** About how long the line takes to clear at the default cost. */
const BUSY_RETRY_SECONDS = 2;

export class ConsoleAuth {
  readonly #d: ConsoleAuthDeps;
  // Per client address (req.ip: the socket's peer unless TRUST_PROXY says which proxies may name
  // another). There is no limit for everyone together: strangers' wrong guesses would then lock the
  // owner out. The CPU those guesses cost is bounded by #checks instead.
  readonly #perClient = new RateLimiterMemory({ points: CLIENT_ATTEMPTS, duration: THROTTLE_SECONDS });
  readonly #checks = new BoundedConcurrency(CHECKS_AT_ONCE, CHECKS_WAITING);
  /** What an unknown name's password is checked against, so that it costs what a known name's
   * does (no telling names apart by time): a hash of a random password, made on first need. */
  #dummy: Promise<string> | undefined;

  constructor(deps: ConsoleAuthDeps) {
    this.#d = deps;
  }

  /** The signed-in session; otherwise the answer is sent (setup page, sign-in, refusal) and undefined returned. */
  async signedIn(req: Request, res: Response): Promise<ConsoleSession | undefined> {
    const { config } = this.#d;
    const sessions = this.#d.sessions;
    if (!sessions || (!config.authHeader && !(await this.#passwords()))) {
      expectedAnswer(res, "console not configured: setup page shown")
        .status(503)
        .type("html")
        .send(setupPage());
      return undefined;
    }
    const session = await this.#current(sessions, req);
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
      // A named console user of the same name is that person (display name, role), looked up at
      // every request as a named user's own session is; one disabled there is refused here too.
      const named = USER_NAME.test(proxied) ? await findUser(this.#d.db, proxied) : undefined;
      if (named?.disabledAt) {
        await this.refuse(req, proxied, "console_user_disabled");
        res
          .status(403)
          .type("html")
          .send(
            problemPage(
              "Not allowed",
              `${proxied} is signed in, but that console user is disabled here (threadbridge console users enable).`,
              { href: "/", label: "Try again" },
            ),
          );
        return undefined;
      }
      const person = named ? { person: { name: named.displayName, role: named.role } } : {};
      if (session.user === proxied && session.via === "proxy") return { ...session, ...person };
      const fresh = sessions.signedIn(proxied, "proxy");
      sessions.write(res, fresh);
      await this.#signedInNow(req, fresh);
      return { ...fresh, ...person };
    }
    // A proxy session lasts only as long as the proxy keeps vouching for it.
    if (session.user && ((session.via === "password" && config.passwordHash) || session.via === "user"))
      return session;
    const passwords = await this.#passwords();
    if (req.method === "GET" && passwords) {
      res.redirect(303, "/login");
      return undefined;
    }
    res
      .status(401)
      .type("html")
      .send(
        passwords
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

  /** The session was signed out since it was read, or has expired: a long-lived answer (an event
   * stream of a platform's page) ends then. */
  async ended(session: ConsoleSession): Promise<boolean> {
    if (session.exp <= Date.now() || (await this.#signedOut(session))) return true;
    return session.via === "user" && (await this.#person(session)) === undefined;
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
    router.get("/login", secured, async (req, res) => {
      const sessions = await this.#passwordSessions(res);
      if (!sessions) return;
      const read = sessions.read(req);
      const session = await this.#current(sessions, req);
      if (session.user && (session.via === "password" || session.via === "user")) {
        res.redirect(303, "/");
        return;
      }
      if (read.fresh || session !== read.session) sessions.write(res, session);
      res.type("html").send(loginPage(session, undefined, await this.#form()));
    });

    router.post("/login", secured, form, async (req, res) => {
      const sessions = await this.#passwordSessions(res);
      if (!sessions) return;
      const { session } = sessions.read(req);
      const asked = await this.#form();
      if (!csrfOk(req, session, this.#d.publicUrl)) {
        const again = sessions.anonymous();
        sessions.write(res, again);
        res
          .status(403)
          .type("html")
          .send(loginPage(again, "The sign-in form had expired. Type the password again.", asked));
        return;
      }
      const client = clientAddress(req);
      const key = throttleKey(client);
      // The guess is counted before it is checked, so concurrent guesses cannot all slip in
      // between a check and its count.
      const refused = await this.#perClient.consume(key).then(
        () => undefined,
        (r: unknown) => {
          if (r instanceof RateLimiterRes) return r;
          throw r;
        },
      );
      if (refused) {
        this.#d.log.warn({ client }, "console sign-in throttled");
        res
          .status(429)
          .set("retry-after", String(Math.ceil(refused.msBeforeNext / 1000)))
          .type("html")
          .send(
            loginPage(
              session,
              `Too many wrong passwords. Try again in ${Math.ceil(refused.msBeforeNext / 60_000)} minute(s).`,
              asked,
            ),
          );
        return;
      }
      const password = typeof req.body?.password === "string" ? req.body.password : "";
      // Bounded before anything reads it; names are lower case (users.ts), so typing one in capitals works.
      const name = (typeof req.body?.name === "string" ? req.body.name : "")
        .trim()
        .toLowerCase()
        .slice(0, 64);
      const right = await this.#checks.run(() => this.#check(name, password));
      if (right === BUSY) {
        // Not checked, so not counted against this client. 429 rather than 503: a flood of guesses
        // is the cause, and it should not read as the service failing (5xx alerts, error logs).
        await this.#perClient.reward(key, 1);
        this.#d.log.warn({ client }, "console sign-in busy: password checks at their limit");
        res
          .status(429)
          .set("retry-after", String(BUSY_RETRY_SECONDS))
          .type("html")
          .send(
            loginPage(session, "Sign-in is busy checking other passwords. Try again in a moment.", asked),
          );
        return;
      }
      if (right.kind === "refused") {
        // The same answer whichever it was (unknown name, wrong password, disabled user): the
        // trail alone says which user was tried, when the name is one.
        await this.refuse(req, undefined, "console_login", right.user ? { name: right.user } : {});
        res
          .status(401)
          .type("html")
          .send(loginPage(session, asked.name ? "Wrong name or password." : "Wrong password.", asked));
        return;
      }
      await this.#perClient.reward(key, 1);
      const signedIn =
        right.kind === "shared"
          ? sessions.signedIn(SHARED_USER, "password")
          : sessions.signedIn(right.user, "user", right.gen);
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

  /** Whether anyone can sign in with a password: the shared one is set, or a named user exists. */
  async #passwords(): Promise<boolean> {
    return this.#d.config.passwordHash !== undefined || (await anyUsers(this.#d.db));
  }

  /** What the sign-in form asks: a name once there are named users, and whether it may be left
   * empty for the shared password. */
  async #form(): Promise<{ name: boolean; shared: boolean }> {
    return { name: await anyUsers(this.#d.db), shared: this.#d.config.passwordHash !== undefined };
  }

  /** The request's session, or a new anonymous one when it was signed out or its named user was
   * disabled, removed or given a new password since. A named user's comes with who they are now. */
  async #current(sessions: SessionCookies, req: Request): Promise<ConsoleSession> {
    const { session } = sessions.read(req);
    if (!session.user) return session;
    if (await this.#signedOut(session)) return sessions.anonymous();
    if (session.via !== "user") return session;
    const person = await this.#person(session);
    return person ? { ...session, person } : sessions.anonymous();
  }

  async #person(session: ConsoleSession): Promise<ConsoleSession["person"]> {
    const user = await findUser(this.#d.db, session.user ?? "");
    if (!user || user.disabledAt || user.generation !== session.gen) return undefined;
    return { name: user.displayName, role: user.role };
  }

  /** Checks a sign-in (inside the bounded checks): an empty name or `admin` is the shared password;
   * any other name costs one scrypt check whether it exists or not. */
  async #check(
    name: string,
    password: string,
  ): Promise<
    { kind: "shared" } | { kind: "user"; user: string; gen: number } | { kind: "refused"; user?: string }
  > {
    const shared = this.#d.config.passwordHash;
    if (name === "" || name === SHARED_USER) {
      if (shared) return (await verifyPassword(password, shared)) ? { kind: "shared" } : { kind: "refused" };
      await verifyPassword(password, await this.#dummyHash());
      return { kind: "refused" };
    }
    const found = await credentialsOf(this.#d.db, name);
    if (!found) {
      await verifyPassword(password, await this.#dummyHash());
      return { kind: "refused" };
    }
    const right = await verifyPassword(password, found.hash);
    if (!right || found.user.disabledAt) return { kind: "refused", user: found.user.name };
    return { kind: "user", user: found.user.name, gen: found.user.generation };
  }

  #dummyHash(): Promise<string> {
    this.#dummy ??= hashPassword(randomToken(), DEFAULT_COST);
    return this.#dummy;
  }

  async #passwordSessions(res: Response): Promise<SessionCookies | undefined> {
    const { config, sessions } = this.#d;
    const passwords = await this.#passwords();
    if (!sessions || (!passwords && !config.authHeader)) {
      expectedAnswer(res, "console not configured: setup page shown")
        .status(503)
        .type("html")
        .send(setupPage());
      return undefined;
    }
    if (!passwords) {
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

  async #signedInNow(req: Request, session: ConsoleSession): Promise<void> {
    this.#d.log.info({ user: session.user, via: session.via }, "console sign-in");
    await recordAudit(this.#d.db, {
      actor: { kind: "operator", id: `console:${session.user}` },
      action: "console_login",
      details: { via: session.via, client: clientAddress(req) },
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
      details: { ...details, client: clientAddress(req) },
    });
  }
}

export const FORM_EXPIRED =
  "The form had expired (or did not come from this console). Reload the page and try again.";
export const HOME = { href: "/", label: "Back to the accounts" };

/** The client's address (req.ip), an IPv4 client's without the `::ffff:` of a dual-stack socket. */
export function clientAddress(req: Request): string {
  const ip = req.ip ?? req.socket.remoteAddress ?? "unknown";
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;
}

/**
 * Whom the sign-in throttle counts a guess against: an IPv4 address, or an IPv6 address's /64, the
 * usual allocation of one subscriber, who can rotate through its addresses at will.
 */
export function throttleKey(address: string): string {
  const ip = address.replace(/%.*$/, "");
  if (isIP(ip) !== 6) return ip;
  const [head = "", tail] = ip.split("::");
  const front = head ? head.split(":") : [];
  const back = tail ? tail.split(":") : [];
  // An IPv4 tail (64:ff9b::192.0.2.1) fills two groups; it only ever sits in the last 32 bits.
  const dotted = ((tail === undefined ? front : back).at(-1) ?? "").includes(".") ? 1 : 0;
  const zeros = tail === undefined ? [] : Array(8 - front.length - back.length - dotted).fill("0");
  const groups = [...front, ...zeros, ...back].slice(0, 4);
  return `${groups.map((g) => Number.parseInt(g, 16).toString(16)).join(":")}::/64`;
}

const BUSY = Symbol("busy");

/**
 * Runs at most `running` tasks at once with at most `waiting` more in line; past that `run` answers
 * BUSY straight away, so nothing from outside queues without bound. (Written here: p-limit and
 * p-queue are not dependencies, and rate-limiter-flexible's RateLimiterQueue bounds a rate, not how
 * many run at once.)
 */
class BoundedConcurrency {
  readonly #running: number;
  readonly #waiting: number;
  #active = 0;
  readonly #line: Array<() => void> = [];

  constructor(running: number, waiting: number) {
    this.#running = running;
    this.#waiting = waiting;
  }

  async run<T>(task: () => Promise<T>): Promise<T | typeof BUSY> {
    if (this.#active < this.#running) this.#active++;
    else if (this.#line.length < this.#waiting)
      await new Promise<void>((resolve) => this.#line.push(resolve));
    else return BUSY;
    try {
      return await task();
    } finally {
      // A finished task hands its place straight to the next in line, or gives it up.
      const next = this.#line.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
