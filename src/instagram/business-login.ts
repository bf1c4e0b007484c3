// Business Login for Instagram (reference 5.1 to 5.3): the consent URL, the code exchange and the
// exchange for a long-lived token. The OAuth host answers errors in its own shape
// (`{error_type, code, error_message}`), not the Graph one, and its token answer is documented
// wrapped in `data` but seen flat: every shape is read. Tokens and the app secret go only to Meta
// and never appear in an error returned from here.

import type { BusinessLoginConfig } from "../config/console-config.ts";
import { classifyNetworkError, redirectReason } from "./graph-errors.ts";

/** The webhook fields threadbridge mirrors (reference 5.5, 1.15): subscribed for each account
 * when it connects, checked and subscribed again when it reconnects (instagram/subscription.ts),
 * checked by `doctor`; the app must subscribe them too. `messaging_handover` and `standby` carry
 * Conversation Routing: who holds a conversation, and its messages while another app does. */
export const SUBSCRIBED_FIELDS = [
  "messages",
  "comments",
  "message_reactions",
  "messaging_postbacks",
  "messaging_seen",
  "messaging_referral",
  "messaging_handover",
  "standby",
];

export const BUSINESS_LOGIN_SCOPES = [
  "instagram_business_basic",
  "instagram_business_manage_messages",
  "instagram_business_manage_comments",
] as const;

/** What Meta said went wrong, in words fit for the operator who is connecting the account. */
export interface OAuthFailure {
  kind: "refused" | "unreachable" | "unexpected";
  message: string;
  status?: number;
}

export type OAuthResult<T> = { ok: true; value: T } | { ok: false; error: OAuthFailure };

export interface ShortLivedToken {
  accessToken: string;
  userId: string;
  /** The scopes the person granted; empty when Meta did not say. */
  permissions: string[];
}

export interface LongLivedToken {
  accessToken: string;
  expiresAt: Date;
}

export interface BusinessLoginOptions extends BusinessLoginConfig {
  /** graph.instagram.com (IG_GRAPH_URL): the long-lived exchange lives there. */
  graphUrl: string;
  /** `$PUBLIC_URL/oauth/instagram/callback`, registered in the app's Business login settings. */
  redirectUri: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
const id = (v: unknown) => (typeof v === "number" ? String(v) : str(v));

/** Instagram appends `#_` to the code it redirects with; a copied code may still carry it. */
export function cleanCode(code: string): string {
  return code.replace(/#_?$/, "");
}

/** The scopes threadbridge needs that are not among `granted`. */
export function missingScopes(granted: readonly string[]): string[] {
  return BUSINESS_LOGIN_SCOPES.filter((s) => !granted.includes(s));
}

function permissionsOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((p): p is string => typeof p === "string");
  if (typeof v === "string")
    return v
      .split(/[\s,]+/)
      .map((p) => p.trim())
      .filter((p) => p !== "");
  return [];
}

/** Reads the OAuth error shape, the Graph error shape and the standard OAuth 2 one. */
export function oauthErrorMessage(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const oauth = str(body.error_message);
  if (oauth) return oauth;
  if (isRecord(body.error)) return str(body.error.message) ?? str(body.error.error_user_msg);
  const standard = str(body.error_description) ?? str(body.error);
  return standard;
}

/** The token answer of the code exchange, flat or wrapped in `data` (reference 5.2). */
export function parseShortLived(body: unknown): ShortLivedToken | undefined {
  if (!isRecord(body)) return undefined;
  const data = Array.isArray(body.data) ? body.data[0] : body.data;
  const j = isRecord(data) ? data : body;
  const accessToken = str(j.access_token);
  const userId = id(j.user_id);
  if (!accessToken || !userId) return undefined;
  return { accessToken, userId, permissions: permissionsOf(j.permissions) };
}

export class BusinessLogin {
  readonly #o: BusinessLoginOptions;
  readonly #fetch: typeof fetch;

  constructor(options: BusinessLoginOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** Where to send the operator's browser; `state` comes back with the code. */
  authorizeUrl(state: string): string {
    const url = new URL(`${this.#o.oauthUrl}/oauth/authorize`);
    url.searchParams.set("client_id", this.#o.appId);
    url.searchParams.set("redirect_uri", this.#o.redirectUri);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("scope", BUSINESS_LOGIN_SCOPES.join(","));
    url.searchParams.set("state", state);
    // Facebook login would connect a Page-linked account through another product.
    url.searchParams.set("enable_fb_login", "false");
    return url.toString();
  }

  /** The one-hour, one-use code for a short-lived token (reference 5.2). */
  async exchangeCode(code: string): Promise<OAuthResult<ShortLivedToken>> {
    const form = new URLSearchParams({
      client_id: this.#o.appId,
      client_secret: this.#o.appSecret,
      grant_type: "authorization_code",
      redirect_uri: this.#o.redirectUri,
      code: cleanCode(code),
    });
    const answer = await this.#request(
      `${this.#o.apiUrl}/oauth/access_token`,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: form.toString(),
      },
      "IG_API_URL",
    );
    if (!answer.ok) return answer;
    const token = parseShortLived(answer.value);
    return token ? { ok: true, value: token } : unexpected("the code exchange");
  }

  /** The short-lived token for a 60-day one (reference 5.3). */
  async longLived(shortLived: string): Promise<OAuthResult<LongLivedToken>> {
    const url = new URL(`${this.#o.graphUrl}/access_token`);
    url.searchParams.set("grant_type", "ig_exchange_token");
    url.searchParams.set("client_secret", this.#o.appSecret);
    url.searchParams.set("access_token", shortLived);
    const answer = await this.#request(
      url.toString(),
      { method: "GET", headers: { accept: "application/json" } },
      "IG_GRAPH_URL",
    );
    if (!answer.ok) return answer;
    const body = answer.value;
    const accessToken = isRecord(body) ? str(body.access_token) : undefined;
    const expiresIn = isRecord(body) && typeof body.expires_in === "number" ? body.expires_in : undefined;
    if (!accessToken || expiresIn === undefined || expiresIn <= 0)
      return unexpected("the long-lived exchange");
    return { ok: true, value: { accessToken, expiresAt: new Date(Date.now() + expiresIn * 1000) } };
  }

  /** `setting`: the environment variable the URL's base comes from, named when it redirects. */
  async #request(url: string, init: RequestInit, setting: string): Promise<OAuthResult<unknown>> {
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        ...init,
        // The app secret, the code and the tokens go to Meta's host alone, as the Graph client's
        // calls do: a redirect (a 307 would send the form again) fails the call instead.
        redirect: "error",
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
      });
      text = await response.text();
    } catch (err) {
      // The URL holds the secret and a token: only the classified reason leaves this function.
      const error = classifyNetworkError(err);
      return error.kind === "redirected"
        ? { ok: false, error: { kind: "unexpected", message: redirectReason(setting) } }
        : { ok: false, error: { kind: "unreachable", message: error.reason } };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const message = oauthErrorMessage(body) ?? `Instagram answered HTTP ${response.status}`;
      return {
        ok: false,
        error: { kind: "refused", message: this.#scrub(message), status: response.status },
      };
    }
    return body === undefined ? unexpected("Instagram's answer") : { ok: true, value: body };
  }

  /** Meta's messages do not echo secrets today; this keeps it so if one ever does. */
  #scrub(message: string): string {
    return message.split(this.#o.appSecret).join("[redacted]").slice(0, 300);
  }
}

function unexpected(what: string): { ok: false; error: OAuthFailure } {
  // The body is not shown: it may hold a token.
  return {
    ok: false,
    error: { kind: "unexpected", message: `${what} gave an answer threadbridge did not understand` },
  };
}
