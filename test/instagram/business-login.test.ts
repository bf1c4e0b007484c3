// The OAuth calls of Business Login on their own: both documented token answers, the OAuth error
// shape (not the Graph one), Meta unreachable or redirecting, and the `#_` Instagram appends to
// the code.

import { describe, expect, it } from "vitest";
import {
  BusinessLogin,
  cleanCode,
  missingScopes,
  oauthErrorMessage,
  parseShortLived,
} from "../../src/instagram/business-login.ts";
import { startGraphServer } from "../fakes/graph-server.ts";

const options = {
  appId: "1234567890",
  appSecret: "the-instagram-app-secret",
  oauthUrl: "https://www.instagram.com",
  apiUrl: "https://api.instagram.com",
  graphUrl: "https://graph.instagram.com",
  redirectUri: "https://bridge.example.com/oauth/instagram/callback",
};

describe("Business Login's OAuth calls", () => {
  it("builds the authorize URL of reference 5.1", () => {
    const url = new URL(new BusinessLogin(options).authorizeUrl("st4te"));
    expect(`${url.origin}${url.pathname}`).toBe("https://www.instagram.com/oauth/authorize");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: "1234567890",
      redirect_uri: options.redirectUri,
      response_type: "code",
      scope: "instagram_business_basic,instagram_business_manage_messages,instagram_business_manage_comments",
      state: "st4te",
      enable_fb_login: "false",
    });
  });

  it("reads the token answer wrapped in data and flat, with permissions as text or a list", () => {
    expect(
      parseShortLived({
        data: [{ access_token: "IGAAx", user_id: "1020", permissions: "instagram_business_basic,x" }],
      }),
    ).toEqual({ accessToken: "IGAAx", userId: "1020", permissions: ["instagram_business_basic", "x"] });
    expect(parseShortLived({ access_token: "IGAAy", user_id: 1021, permissions: ["a", "b"] })).toEqual({
      accessToken: "IGAAy",
      userId: "1021",
      permissions: ["a", "b"],
    });
    expect(parseShortLived({ access_token: "IGAAz" })).toBeUndefined();
    expect(missingScopes(["instagram_business_basic"])).toEqual([
      "instagram_business_manage_messages",
      "instagram_business_manage_comments",
    ]);
    expect(cleanCode("AQBx123#_")).toBe("AQBx123");
  });

  it("reads the OAuth, Graph and OAuth 2 error shapes", () => {
    expect(
      oauthErrorMessage({
        error_type: "OAuthException",
        code: 400,
        error_message: "Matching code was not found",
      }),
    ).toBe("Matching code was not found");
    expect(oauthErrorMessage({ error: { message: "Invalid OAuth access token", code: 190 } })).toBe(
      "Invalid OAuth access token",
    );
    expect(oauthErrorMessage({ error: "invalid_request", error_description: "bad redirect" })).toBe(
      "bad redirect",
    );
  });

  it("exchanges a code (without its #_) by form POST and reports Meta's refusal in its words", async () => {
    const meta = await startGraphServer();
    try {
      const login = new BusinessLogin({ ...options, apiUrl: meta.url, graphUrl: meta.url });
      meta.script(
        {
          status: 400,
          body: { error_type: "OAuthException", code: 400, error_message: "This code has expired" },
        },
        { body: { access_token: "IGAA-short", user_id: "42", permissions: "instagram_business_basic" } },
        { body: { access_token: "IGAA-long", token_type: "bearer", expires_in: 5_183_944 } },
        { body: { access_token: "IGAA-long" } },
      );
      expect(await login.exchangeCode("AQBold#_")).toEqual({
        ok: false,
        error: { kind: "refused", message: "This code has expired", status: 400 },
      });
      expect(new URLSearchParams(meta.requests[0]?.body as string).get("code")).toBe("AQBold");
      const short = await login.exchangeCode("AQBnew");
      expect(short).toMatchObject({ ok: true, value: { accessToken: "IGAA-short", userId: "42" } });
      const long = await login.longLived("IGAA-short");
      expect(long.ok && long.value.accessToken).toBe("IGAA-long");
      expect(long.ok && Math.round((long.value.expiresAt.getTime() - Date.now()) / 86_400_000)).toBe(60);
      // No expiry: not understood, and the answer (which holds a token) is not repeated.
      const odd = await login.longLived("IGAA-short");
      expect(odd).toEqual({
        ok: false,
        error: {
          kind: "unexpected",
          message: "the long-lived exchange gave an answer threadbridge did not understand",
        },
      });
    } finally {
      await meta.close();
    }
  });

  it("does not follow a redirect: the secret, the code and the token stay with Meta's hosts", async () => {
    const elsewhere = await startGraphServer(() => ({
      body: { access_token: "IGAA-stolen", user_id: "42" },
    }));
    const meta = await startGraphServer(() => ({
      status: 307,
      headers: { location: `${elsewhere.url}/oauth/access_token` },
    }));
    try {
      const login = new BusinessLogin({ ...options, apiUrl: meta.url, graphUrl: meta.url });
      const exchanged = await login.exchangeCode("AQBcode");
      expect(exchanged).toEqual({
        ok: false,
        error: {
          kind: "unexpected",
          message:
            "Instagram's API answered with a redirect, which is not followed (check IG_API_URL and any proxy in between)",
        },
      });
      const long = await login.longLived("IGAA-short");
      expect(long.ok || long.error.message).toMatch(/redirect.*IG_GRAPH_URL/);
      expect(meta.requests).toHaveLength(2);
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await Promise.all([meta.close(), elsewhere.close()]);
    }
  });

  it("says plainly when Instagram cannot be reached, without the URL and its secret", async () => {
    const login = new BusinessLogin({ ...options, graphUrl: "http://127.0.0.1:9", timeoutMs: 2_000 });
    const result = await login.longLived("IGAA-short");
    expect(result).toEqual({ ok: false, error: { kind: "unreachable", message: expect.any(String) } });
    expect(JSON.stringify(result)).not.toContain("the-instagram-app-secret");
    expect(JSON.stringify(result)).not.toContain("IGAA-short");
  });
});
