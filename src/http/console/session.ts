import { hkdfSync } from "node:crypto";
import { parse, serialize } from "cookie";
import type { Request, Response } from "express";
import { TokenCipher } from "../../instagram/token-cipher.ts";
import { randomToken } from "./secrets.ts";
import type { ConsoleRole } from "./users.ts";

// Console sessions live in one cookie, sealed with AES-256-GCM (the token cipher, under a key
// derived from the session secret), so the browser can neither read nor alter them. A session
// exists before sign-in too: it carries the CSRF token of the login form.

export interface ConsoleSession {
  /** Random id: OAuth logins are bound to it. */
  sid: string;
  csrf: string;
  /** Who signed in; undefined before. */
  user?: string;
  /** `password`: the shared password (user `admin`); `user`: a named console user's own password;
   * `proxy`: the sign-on proxy's header. */
  via?: "password" | "user" | "proxy";
  /** A named user's generation when they signed in (users.ts): an older one has ended. */
  gen?: number;
  /** A named user as they are now, read from the database on each request (auth.ts), never kept in
   * the cookie: their display name and role. */
  person?: { name: string; role: ConsoleRole };
  /** Expiry, epoch milliseconds. */
  exp: number;
  /** The Business Login waiting for its channel. */
  pending?: string;
  /** A one-time notice for the next page ("Disconnected @brand"). */
  flash?: string;
}

const ANONYMOUS_MS = 60 * 60_000;

export class SessionCookies {
  readonly #cipher: TokenCipher;
  readonly #name: string;
  readonly #secure: boolean;
  readonly #signedInMs: number;

  constructor(secret: string, options: { secure: boolean; hours: number }) {
    const key = Buffer.from(hkdfSync("sha256", secret, "", "threadbridge console session", 32));
    this.#cipher = TokenCipher.fromConfig(`session:${key.toString("base64")}`);
    this.#secure = options.secure;
    // `__Host-` makes browsers insist on Secure, Path=/ and no Domain: no subdomain can plant it.
    this.#name = options.secure ? "__Host-threadbridge" : "threadbridge_session";
    this.#signedInMs = options.hours * 3_600_000;
  }

  /** The request's session, or a new anonymous one (not yet sent: call `write`). */
  read(req: Request): { session: ConsoleSession; fresh: boolean } {
    const value = parse(req.headers.cookie ?? "")[this.#name];
    const session = value ? this.#open(value) : undefined;
    return session ? { session, fresh: false } : { session: this.anonymous(), fresh: true };
  }

  anonymous(): ConsoleSession {
    return { sid: randomToken(), csrf: randomToken(), exp: Date.now() + ANONYMOUS_MS };
  }

  /** A new session for someone who just signed in: new id and CSRF token, so nothing carries over. */
  signedIn(user: string, via: "password" | "user" | "proxy", gen?: number): ConsoleSession {
    return {
      sid: randomToken(),
      csrf: randomToken(),
      user,
      via,
      ...(gen === undefined ? {} : { gen }),
      exp: Date.now() + this.#signedInMs,
    };
  }

  write(res: Response, session: ConsoleSession): void {
    const { person: _current, ...kept } = session;
    const sealed = this.#cipher.seal(JSON.stringify(kept)).ciphertext;
    res.append(
      "set-cookie",
      serialize(this.#name, sealed, {
        httpOnly: true,
        sameSite: "lax",
        secure: this.#secure,
        path: "/",
        maxAge: Math.max(0, Math.floor((session.exp - Date.now()) / 1000)),
      }),
    );
  }

  clear(res: Response): void {
    res.append(
      "set-cookie",
      serialize(this.#name, "", {
        httpOnly: true,
        sameSite: "lax",
        secure: this.#secure,
        path: "/",
        maxAge: 0,
      }),
    );
  }

  #open(value: string): ConsoleSession | undefined {
    try {
      const { person: _never, ...s } = JSON.parse(this.#cipher.open(value, "session")) as ConsoleSession;
      if (typeof s.sid !== "string" || typeof s.csrf !== "string" || typeof s.exp !== "number")
        return undefined;
      return s.exp > Date.now() ? s : undefined;
    } catch {
      // Tampered, sealed under another secret, or not ours: a new session.
      return undefined;
    }
  }
}
