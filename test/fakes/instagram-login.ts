// Business Login for Instagram as Meta serves it (reference 5), for the fake Graph server: the
// consent page at www.instagram.com (redirecting straight back with a code, or with
// error=access_denied), the code exchange at api.instagram.com (one-time codes, the OAuth error
// shape), the long-lived exchange, /me and subscribed_apps at graph.instagram.com. One fake server
// plays all three hosts; IG_OAUTH_URL, IG_API_URL and IG_GRAPH_URL all point at it.

import { randomBytes } from "node:crypto";
import type { GraphResponder, RecordedRequest, ScriptedResponse } from "./graph-server.ts";

export interface LoginAccount {
  igUserId: string;
  username: string;
  accountType?: string;
}

export interface FakeInstagramLogin {
  respond: GraphResponder;
  /** What the next consents do. */
  consent: "allow" | "deny";
  /** Whether a denial carries the state back (Meta's docs show it without). */
  denyEchoesState: boolean;
  /** The account that logs in next. */
  account: LoginAccount;
  /** The scopes the next consents grant. */
  grant: string[];
  /** How the code exchange answers: the documented `data` wrapper, or flat as seen live. */
  shape: "data" | "flat";
  /** Every code and token handed out, to prove none reaches a browser or a log. */
  readonly issued: string[];
  /** Makes every code issued so far expired (they last an hour). */
  expireCodes(): void;
  /** Webhook fields each account is subscribed to, by IG user id. */
  readonly subscriptions: Map<string, string[]>;
}

export const SCOPES = [
  "instagram_business_basic",
  "instagram_business_manage_messages",
  "instagram_business_manage_comments",
];

const oauthError = (message: string): ScriptedResponse => ({
  status: 400,
  body: { error_type: "OAuthException", code: 400, error_message: message },
});

const graphError = (message: string, code = 190): ScriptedResponse => ({
  status: 400,
  body: { error: { message, type: "OAuthException", code, fbtrace_id: "AfakeLogin" } },
});

export function fakeInstagramLogin(app: {
  appId: string;
  appSecret: string;
  redirectUri: string;
}): FakeInstagramLogin {
  const codes = new Map<
    string,
    { redirectUri: string; account: LoginAccount; grant: string[]; used: boolean; expired: boolean }
  >();
  const shortTokens = new Map<string, { account: LoginAccount; grant: string[] }>();
  const longTokens = new Map<string, LoginAccount>();
  const secret = (prefix: string) => `${prefix}${randomBytes(12).toString("hex")}`;

  const tokenOf = (req: RecordedRequest) =>
    req.query.access_token ?? req.headers.authorization?.replace(/^Bearer /, "");

  const authorize = (req: RecordedRequest): ScriptedResponse => {
    const q = req.query;
    if (q.client_id !== app.appId) return graphError("Invalid platform app", 100);
    if (q.redirect_uri !== app.redirectUri)
      return graphError(
        "Invalid redirect_uri: it is not registered in the app's Business login settings",
        100,
      );
    if (q.response_type !== "code") return graphError("response_type must be code", 100);
    const asked = (q.scope ?? "").split(/[\s,]+/);
    if (!SCOPES.every((s) => asked.includes(s)))
      return graphError(`scope must ask for ${SCOPES.join(",")}`, 100);
    const back = new URL(q.redirect_uri);
    if (fake.consent === "deny") {
      back.searchParams.set("error", "access_denied");
      back.searchParams.set("error_reason", "user_denied");
      back.searchParams.set("error_description", "The user denied your request.");
      if (fake.denyEchoesState && q.state) back.searchParams.set("state", q.state);
      return { status: 302, headers: { location: back.toString() } };
    }
    const code = secret("AQB");
    fake.issued.push(code);
    codes.set(code, {
      redirectUri: q.redirect_uri,
      account: fake.account,
      grant: [...fake.grant],
      used: false,
      expired: false,
    });
    back.searchParams.set("code", code);
    if (q.state) back.searchParams.set("state", q.state);
    return { status: 302, headers: { location: `${back.toString()}#_` } };
  };

  const exchange = (req: RecordedRequest): ScriptedResponse => {
    const form = new URLSearchParams(typeof req.body === "string" ? req.body : "");
    if (form.get("client_id") !== app.appId || form.get("client_secret") !== app.appSecret)
      return oauthError("Invalid client_secret");
    if (form.get("grant_type") !== "authorization_code") return oauthError("Invalid grant_type");
    const entry = codes.get(form.get("code") ?? "");
    if (!entry || entry.used) return oauthError("Matching code was not found or was already used");
    entry.used = true;
    if (entry.expired) return oauthError("This authorization code has expired");
    if (form.get("redirect_uri") !== entry.redirectUri)
      return oauthError(
        "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
      );
    const token = secret("IGQWshort");
    fake.issued.push(token);
    shortTokens.set(token, { account: entry.account, grant: entry.grant });
    const answer = { access_token: token, user_id: Number(entry.account.igUserId), permissions: entry.grant };
    return {
      body: fake.shape === "data" ? { data: [{ ...answer, permissions: entry.grant.join(",") }] } : answer,
    };
  };

  const longLived = (req: RecordedRequest): ScriptedResponse => {
    if (req.query.grant_type !== "ig_exchange_token" || req.query.client_secret !== app.appSecret)
      return graphError("Invalid client_secret or grant_type", 100);
    const short = shortTokens.get(tokenOf(req) ?? "");
    if (!short) return graphError("Invalid OAuth access token - Cannot parse access token");
    const token = secret("IGAAlong");
    fake.issued.push(token);
    longTokens.set(token, short.account);
    return { body: { access_token: token, token_type: "bearer", expires_in: 5_183_944 } };
  };

  const fake: FakeInstagramLogin = {
    consent: "allow",
    denyEchoesState: true,
    account: { igUserId: "17841400000000777", username: "newbrand", accountType: "BUSINESS" },
    grant: [...SCOPES],
    shape: "data",
    issued: [],
    subscriptions: new Map(),
    expireCodes() {
      for (const entry of codes.values()) entry.expired = true;
    },
    respond(req) {
      if (req.method === "GET" && req.path === "/oauth/authorize") return authorize(req);
      if (req.method === "POST" && req.path === "/oauth/access_token") return exchange(req);
      if (req.method === "GET" && req.path === "/access_token") return longLived(req);
      const account = longTokens.get(tokenOf(req) ?? "");
      if (req.method === "GET" && /^\/v\d+\.\d+\/me$/.test(req.path)) {
        if (!account) return graphError("Invalid OAuth access token - Cannot parse access token");
        return {
          body: {
            user_id: account.igUserId,
            id: `app-scoped-${account.igUserId}`,
            username: account.username,
            name: `The ${account.username} shop`,
            account_type: account.accountType ?? "BUSINESS",
          },
        };
      }
      if (req.method === "POST" && /^\/v\d+\.\d+\/me\/subscribed_apps$/.test(req.path)) {
        if (!account) return graphError("Invalid OAuth access token - Cannot parse access token");
        fake.subscriptions.set(account.igUserId, (req.query.subscribed_fields ?? "").split(","));
        return { body: { success: true } };
      }
      const unsubscribe = /^\/v\d+\.\d+\/(\d+)\/subscribed_apps$/.exec(req.path);
      if (req.method === "DELETE" && unsubscribe) {
        if (!account || account.igUserId !== unsubscribe[1])
          return graphError("Invalid OAuth access token - Cannot parse access token");
        fake.subscriptions.delete(account.igUserId);
        return { body: { success: true } };
      }
      return undefined;
    },
  };
  return fake;
}
