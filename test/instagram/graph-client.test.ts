import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  GraphClient,
  type GraphClientOptions,
  type Result,
  type SendBody,
} from "../../src/instagram/graph-client.ts";
import {
  classifyGraphError,
  classifyNetworkError,
  type GraphError,
} from "../../src/instagram/graph-errors.ts";
import { parseAppUsage, parseBusinessUseCaseUsage, parseUsage } from "../../src/instagram/usage.ts";
import { type GraphServer, startGraphServer } from "../fakes/graph-server.ts";

const TOKEN = "IGAAsecretTOKENvalue1234567890";
const IG_ID = "17841400000000001";
const IGSID = "1234567890123456";
const COMMENT = "17850000000000002";
const MEDIA = "17900000000000003";
const MID = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAfake08";

let server: GraphServer;

beforeEach(async () => {
  server = await startGraphServer();
});
afterEach(async () => {
  await server.close();
});

function client(options: Partial<GraphClientOptions> = {}): GraphClient {
  return new GraphClient({ baseUrl: server.url, apiVersion: "v25.0", retryBaseMs: 5, ...options });
}

function metaError(code: number, subcode?: number, message = `(#${code}) Something went wrong`) {
  return {
    error: {
      message,
      type: "OAuthException",
      code,
      ...(subcode === undefined ? {} : { error_subcode: subcode }),
      error_user_title: "Title",
      error_user_msg: "User message",
      fbtrace_id: "AbCdEf123",
    },
  };
}

function failure<T>(result: Result<T>): GraphError {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.error)}`);
  return result.value;
}

const sent = { recipient_id: IGSID, message_id: MID };

describe("requests", () => {
  it.each<[string, SendBody]>([
    ["text", { recipient: { id: IGSID }, message: { text: "Thanks for reaching out!" } }],
    [
      "attachment",
      {
        recipient: { id: IGSID },
        message: { attachment: { type: "image", payload: { url: "https://cdn.example.com/a.png" } } },
      },
    ],
    [
      "quick replies",
      {
        recipient: { id: IGSID },
        message: {
          text: "What do you need?",
          quick_replies: [
            { content_type: "text", title: "Track order", payload: "TRACK_ORDER" },
            { content_type: "user_email", title: "email", payload: "EMAIL" },
          ],
        },
      },
    ],
    [
      "human agent",
      {
        recipient: { id: IGSID },
        messaging_type: "MESSAGE_TAG",
        tag: "HUMAN_AGENT",
        message: { text: "Following up on your order" },
      },
    ],
    [
      "private reply",
      { recipient: { comment_id: COMMENT }, message: { text: "Sending you the details here." } },
    ],
    [
      "quoted reply",
      { recipient: { id: IGSID }, reply_to: { mid: "aWdfZ.quoted" }, message: { text: "Yes, in blue" } },
    ],
  ])("sendMessage (%s) posts the body to /{v}/{IG_ID}/messages with a bearer token", async (_, body) => {
    server.script({ body: sent });
    const result = await client().sendMessage(TOKEN, IG_ID, body);
    expect(value(result)).toEqual({ recipientId: IGSID, messageId: MID });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0];
    expect(req?.method).toBe("POST");
    expect(req?.path).toBe(`/v25.0/${IG_ID}/messages`);
    expect(req?.query).toEqual({});
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.body).toEqual(body);
  });

  it("senderAction posts recipient and sender_action alone, and takes an answer without a message id", async () => {
    server.script({ body: { recipient_id: IGSID } });
    const result = await client().senderAction(TOKEN, IG_ID, IGSID, "typing_on");
    expect(value(result)).toEqual({ recipientId: IGSID });
    expect(server.requests[0]).toMatchObject({
      method: "POST",
      path: `/v25.0/${IG_ID}/messages`,
      body: { recipient: { id: IGSID }, sender_action: "typing_on" },
    });
    expect(Object.keys(server.requests[0]?.body as object)).toEqual(["recipient", "sender_action"]);
  });

  it("replyToComment posts the message to /{comment}/replies", async () => {
    server.script({ body: { id: "17873440459141029" } });
    const result = await client().replyToComment(TOKEN, COMMENT, "Thanks!");
    expect(value(result)).toEqual({ id: "17873440459141029" });
    expect(server.requests[0]).toMatchObject({
      method: "POST",
      path: `/v25.0/${COMMENT}/replies`,
      body: { message: "Thanks!" },
      headers: { authorization: `Bearer ${TOKEN}` },
    });
  });

  it("hideComment, deleteComment and setCommentsEnabled use the documented verbs and parameters", async () => {
    server.script({ body: { success: true } }, { body: { success: true } }, { body: { success: true } });
    server.script({ body: { success: true } });
    const c = client();
    expect(value(await c.hideComment(TOKEN, COMMENT, true))).toEqual({ success: true });
    expect(value(await c.hideComment(TOKEN, COMMENT, false))).toEqual({ success: true });
    expect(value(await c.deleteComment(TOKEN, COMMENT))).toEqual({ success: true });
    expect(value(await c.setCommentsEnabled(TOKEN, MEDIA, false))).toEqual({ success: true });
    expect(server.requests.map((r) => [r.method, r.path, r.query, r.headers.authorization])).toEqual([
      ["POST", `/v25.0/${COMMENT}`, { hide: "true" }, `Bearer ${TOKEN}`],
      ["POST", `/v25.0/${COMMENT}`, { hide: "false" }, `Bearer ${TOKEN}`],
      ["DELETE", `/v25.0/${COMMENT}`, {}, `Bearer ${TOKEN}`],
      ["POST", `/v25.0/${MEDIA}`, { comment_enabled: "false" }, `Bearer ${TOKEN}`],
    ]);
  });

  // The client's own fetch (net/request-fetch.ts) and Node's refuse a redirect alike.
  it.each([
    ["the request-based fetch", undefined],
    ["Node's fetch", globalThis.fetch],
  ])(
    "does not follow a redirect (%s): the token and the body stay with the Graph API's host",
    async (_, fetch) => {
      const elsewhere = await startGraphServer(() => ({ body: { recipient_id: IGSID, message_id: MID } }));
      try {
        const moved = { status: 307, headers: { location: `${elsewhere.url}/v25.0/me/messages` } };
        server.script(moved, moved, moved, moved);
        const result = await client(fetch ? { fetch } : {}).sendMessage(TOKEN, IG_ID, {
          recipient: { id: IGSID },
          message: { text: "hi" },
        });
        // Refused, said as a redirect (not as Instagram being unreachable), and not asked again.
        const error = failure(result);
        expect(error).toMatchObject({ kind: "redirected", message: "fetch failed (redirect refused)" });
        expect(error.reason).toMatch(/redirect.*IG_GRAPH_URL/);
        expect(elsewhere.requests).toEqual([]);
        expect(server.requests).toHaveLength(1);
      } finally {
        await elsewhere.close();
      }
    },
  );

  it("an answer without success:true is not taken as success", async () => {
    server.script({ body: { success: false } });
    expect(failure(await client().hideComment(TOKEN, COMMENT, true)).kind).toBe("bad_request");
  });

  it("getUserProfile asks for the profile fields and maps them; null fields are absent", async () => {
    server.script({
      body: {
        name: null,
        username: "peter_chang_live",
        profile_pic: "https://cdn.example.com/p.jpg",
        follower_count: 1234,
        is_user_follow_business: false,
        is_business_follow_user: true,
        is_verified_user: false,
        id: IGSID,
      },
    });
    const profile = value(await client().getUserProfile(TOKEN, IGSID));
    expect(profile).toEqual({
      username: "peter_chang_live",
      profilePic: "https://cdn.example.com/p.jpg",
      followerCount: 1234,
      isUserFollowBusiness: false,
      isBusinessFollowUser: true,
      isVerifiedUser: false,
    });
    const req = server.requests[0];
    expect(req?.method).toBe("GET");
    expect(req?.path).toBe(`/v25.0/${IGSID}`);
    expect(req?.query.fields?.split(",")).toEqual([
      "name",
      "username",
      "profile_pic",
      "follower_count",
      "is_user_follow_business",
      "is_business_follow_user",
      "is_verified_user",
    ]);
    expect(req?.query.access_token).toBeUndefined();
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it.each([
    ["flat", (o: object) => o],
    ["data-wrapped", (o: object) => ({ data: [o] })],
    ["data object", (o: object) => ({ data: o })],
  ])("getMe accepts a %s answer", async (_, wrap) => {
    server.script({
      body: wrap({ user_id: IG_ID, id: "987", username: "brand", name: "Brand", account_type: "Business" }),
    });
    expect(value(await client().getMe(TOKEN))).toEqual({
      userId: IG_ID,
      id: "987",
      username: "brand",
      name: "Brand",
      accountType: "Business",
    });
    expect(server.requests[0]?.path).toBe("/v25.0/me");
    expect(server.requests[0]?.query.fields).toContain("user_id");
  });
});

describe("error classes", () => {
  it.each<[number, number, number | undefined, GraphError["kind"]]>([
    [500, 1, undefined, "retryable"],
    [400, 2, undefined, "retryable"],
    [403, 4, undefined, "retryable"],
    [400, 17, undefined, "retryable"],
    [400, 32, undefined, "retryable"],
    [400, 613, undefined, "retryable"],
    [400, 80001, undefined, "retryable"],
    [400, 80002, undefined, "retryable"],
    [400, 80006, undefined, "retryable"],
    [400, 2018300, undefined, "retryable"],
    [400, 10, 2534022, "window_closed"],
    [400, 10, 2018278, "window_closed"],
    [400, 10, 2018065, "window_closed"],
    [400, 551, 1545041, "user_unavailable"],
    [400, 10, 2018108, "user_unavailable"],
    [400, 100, 2018001, "user_unavailable"],
    [403, 10, undefined, "permission_missing"],
    [403, 200, undefined, "permission_missing"],
    [403, 299, undefined, "permission_missing"],
    [401, 190, 463, "token_invalid"],
    [401, 190, undefined, "token_invalid"],
    [400, 368, undefined, "restricted"],
    [400, 10, 1893063, "restricted"],
    [400, 100, undefined, "bad_request"],
    [400, 100, 33, "bad_request"],
    [400, 12345, undefined, "bad_request"],
  ])("HTTP %i code %i subcode %s → %s", async (status, code, subcode, kind) => {
    server.script({ status, body: metaError(code, subcode) });
    const error = failure(await client({ maxRetries: 0 }).sendMessage(TOKEN, IG_ID, textTo(IGSID)));
    expect(error).toMatchObject({
      kind,
      code,
      subcode,
      status,
      message: `(#${code}) Something went wrong`,
      fbtraceId: "AbCdEf123",
    });
    expect(error.reason.length).toBeGreaterThan(5);
    expect(error.reason.length).toBeLessThan(100);
  });

  it("says the window has closed in plain English", async () => {
    server.script({
      status: 400,
      body: metaError(10, 2534022, "(#10) This message is sent outside of allowed window."),
    });
    const error = failure(await client().sendMessage(TOKEN, IG_ID, textTo(IGSID)));
    expect(error.reason).toBe("the 24-hour window has closed");
    expect(error.message).toBe("(#10) This message is sent outside of allowed window.");
  });

  it("clips Meta's message to 300 characters", async () => {
    server.script({ status: 400, body: metaError(100, undefined, "x".repeat(1000)) });
    const error = failure(await client().getMe(TOKEN));
    expect(error.message.length).toBe(300);
  });

  it("classifies bodies without a Graph error by HTTP status", () => {
    const h = new Headers();
    expect(classifyGraphError(502, "<html>Bad gateway</html>", h).kind).toBe("retryable");
    expect(classifyGraphError(429, undefined, h).kind).toBe("retryable");
    expect(classifyGraphError(404, undefined, h)).toMatchObject({ kind: "bad_request", message: "HTTP 404" });
  });

  it("reads Retry-After as seconds or an HTTP date, and BUC minutes", () => {
    expect(classifyGraphError(503, undefined, new Headers({ "retry-after": "2" }))).toMatchObject({
      retryAfterMs: 2000,
    });
    const date = new Date(Date.now() + 10_000).toUTCString();
    const byDate = classifyGraphError(503, undefined, new Headers({ "retry-after": date }));
    expect(byDate.kind === "retryable" && byDate.retryAfterMs).toBeGreaterThan(8000);
    const buc = JSON.stringify({
      [IG_ID]: [{ type: "instagram", call_count: 100, estimated_time_to_regain_access: 3 }],
    });
    expect(
      classifyGraphError(400, metaError(80002), new Headers({ "x-business-use-case-usage": buc })),
    ).toMatchObject({
      kind: "retryable",
      retryAfterMs: 180_000,
    });
  });

  it("classifies network failures and timeouts as retryable", () => {
    const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    expect(classifyNetworkError(timeout)).toMatchObject({
      kind: "retryable",
      reason: "Instagram did not answer in time",
    });
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
    });
    expect(classifyNetworkError(refused)).toMatchObject({
      kind: "retryable",
      reason: "could not reach Instagram",
      message: "fetch failed (ECONNREFUSED)",
    });
  });
});

function textTo(id: string): SendBody {
  return { recipient: { id }, message: { text: "hello" } };
}

const elapsed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const start = performance.now();
  const out = await fn();
  return [out, performance.now() - start];
};

describe("retries", () => {
  it("retries code 613 and then succeeds", async () => {
    server.script({ status: 400, body: metaError(613) }, { body: sent });
    const result = await client().sendMessage(TOKEN, IG_ID, textTo(IGSID));
    expect(value(result).messageId).toBe(MID);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.body).toEqual(server.requests[0]?.body);
  });

  it("retries HTTP 500 and then succeeds", async () => {
    server.script({ status: 500, body: undefined }, { body: { success: true } });
    expect(value(await client().deleteComment(TOKEN, COMMENT))).toEqual({ success: true });
    expect(server.requests).toHaveLength(2);
  });

  it("gives up after maxRetries (default 3) with the last error", async () => {
    server.script(...Array.from({ length: 5 }, () => ({ status: 400, body: metaError(4) })));
    const error = failure(await client().getMe(TOKEN));
    expect(error.kind).toBe("retryable");
    expect(server.requests).toHaveLength(4);
  });

  it("waits at least Retry-After before trying again", async () => {
    server.script({ status: 429, headers: { "retry-after": "1" }, body: metaError(4) }, { body: sent });
    const [result, ms] = await elapsed(() => client().sendMessage(TOKEN, IG_ID, textTo(IGSID)));
    expect(result.ok).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(990);
    expect(server.requests).toHaveLength(2);
  });

  it("waits at least the BUC estimated_time_to_regain_access before trying again", async () => {
    const buc = JSON.stringify({
      [IG_ID]: [
        {
          type: "instagram",
          call_count: 100,
          total_cputime: 3,
          total_time: 4,
          estimated_time_to_regain_access: 0.005,
        },
      ],
    });
    server.script(
      { status: 400, headers: { "x-business-use-case-usage": buc }, body: metaError(80002) },
      { body: sent },
    );
    const [result, ms] = await elapsed(() => client().sendMessage(TOKEN, IG_ID, textTo(IGSID)));
    expect(result.ok).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(295);
  });

  it("hands a long BUC block back to the caller instead of calling again", async () => {
    const buc = JSON.stringify({
      [IG_ID]: [{ type: "instagram", call_count: 100, estimated_time_to_regain_access: 5 }],
    });
    server.script({ status: 400, headers: { "x-business-use-case-usage": buc }, body: metaError(80002) });
    const result = await client().sendMessage(TOKEN, IG_ID, textTo(IGSID));
    expect(failure(result)).toMatchObject({ kind: "retryable", retryAfterMs: 300_000 });
    expect(result.usage).toEqual({ maxPercent: 100, regainAccessMs: 300_000 });
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ["window_closed", metaError(10, 2534022)],
    ["token_invalid", metaError(190, 463)],
    ["bad_request", metaError(100)],
  ])("does not retry %s", async (kind, body) => {
    server.script({ status: 400, body }, { body: sent });
    expect(failure(await client().sendMessage(TOKEN, IG_ID, textTo(IGSID))).kind).toBe(kind);
    expect(server.requests).toHaveLength(1);
  });

  it("does not retry a send that timed out, and says it may have been delivered", async () => {
    server.script({ delayMs: 2000, body: sent }, { body: sent });
    const result = await client({ timeoutMs: 100 }).sendMessage(TOKEN, IG_ID, textTo(IGSID));
    expect(failure(result)).toMatchObject({ kind: "retryable", maybeDelivered: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(server.requests).toHaveLength(1);
  });

  it("does not retry a public comment reply that timed out either", async () => {
    server.script({ delayMs: 2000, body: { id: "1" } }, { body: { id: "1" } });
    const result = await client({ timeoutMs: 100 }).replyToComment(TOKEN, COMMENT, "hi");
    expect(failure(result)).toMatchObject({ kind: "retryable", maybeDelivered: true });
    expect(server.requests).toHaveLength(1);
  });

  it("retries an idempotent read that timed out", async () => {
    server.script({ delayMs: 2000, body: {} }, { body: { username: "peter" } });
    const result = await client({ timeoutMs: 100 }).getUserProfile(TOKEN, IGSID);
    expect(value(result)).toEqual({ username: "peter" });
    expect(server.requests).toHaveLength(2);
  });

  it("retries a send whose connection was refused (it never reached Meta)", async () => {
    const url = server.url;
    await server.close();
    const c = new GraphClient({ baseUrl: url, apiVersion: "v25.0", retryBaseMs: 1, maxRetries: 2 });
    const error = failure(await c.sendMessage(TOKEN, IG_ID, textTo(IGSID)));
    expect(error.kind).toBe("retryable");
    expect(error.kind === "retryable" && error.maybeDelivered).toBeFalsy();
    server = await startGraphServer();
  });
});

describe("usage headers", () => {
  it("come back with the result", async () => {
    server.script({
      headers: {
        "x-app-usage": JSON.stringify({ call_count: 28, total_time: 25, total_cputime: 25 }),
        "x-business-use-case-usage": JSON.stringify({
          [IG_ID]: [
            {
              type: "instagram",
              call_count: 12,
              total_cputime: 3,
              total_time: 41,
              estimated_time_to_regain_access: 0,
            },
          ],
        }),
      },
      body: sent,
    });
    const result = await client().sendMessage(TOKEN, IG_ID, textTo(IGSID));
    expect(result.usage).toEqual({ maxPercent: 41 });
  });

  it("are absent when Meta sent none", async () => {
    server.script({ body: sent });
    expect((await client().sendMessage(TOKEN, IG_ID, textTo(IGSID))).usage).toBeUndefined();
  });

  it("parse each header on its own", () => {
    expect(parseAppUsage('{"call_count":28,"total_time":25,"total_cputime":95}')).toEqual({ maxPercent: 95 });
    expect(parseAppUsage(null)).toBeUndefined();
    expect(parseAppUsage("{not json")).toBeUndefined();
    expect(
      parseBusinessUseCaseUsage(
        JSON.stringify({
          a: [
            {
              type: "instagram",
              call_count: 12,
              total_cputime: 3,
              total_time: 4,
              estimated_time_to_regain_access: 0,
            },
          ],
          b: [
            {
              type: "messenger",
              call_count: 70,
              total_cputime: 3,
              total_time: 4,
              estimated_time_to_regain_access: 2,
            },
          ],
        }),
      ),
    ).toEqual({ maxPercent: 70, regainAccessMs: 120_000 });
    expect(parseBusinessUseCaseUsage("[]")).toBeUndefined();
    expect(parseUsage(new Headers())).toBeUndefined();
    expect(
      parseUsage(new Headers({ "x-app-usage": "oops", "x-business-use-case-usage": "{" })),
    ).toBeUndefined();
    expect(parseUsage(new Headers({ "x-app-usage": '{"call_count":0}' }))).toEqual({ maxPercent: 0 });
  });
});

describe("the token", () => {
  it("never appears in an error or a serialized result", async () => {
    const echo = metaError(190, 467, `Invalid OAuth access token: ${TOKEN}`);
    server.script(
      { status: 401, body: echo },
      { status: 400, body: metaError(10, 2534022) },
      { status: 500, body: { error: { message: `boom ${TOKEN}`, code: 1 } } },
      { status: 200, body: `not json ${TOKEN}` },
      { delayMs: 2000, body: sent },
    );
    const c = client({ maxRetries: 0, timeoutMs: 100 });
    const results: Result<unknown>[] = [
      await c.getMe(TOKEN),
      await c.sendMessage(TOKEN, IG_ID, textTo(IGSID)),
      await c.deleteComment(TOKEN, COMMENT),
      await c.hideComment(TOKEN, COMMENT, true),
      await c.sendMessage(TOKEN, IG_ID, textTo(IGSID)),
    ];
    for (const result of results) {
      const error = failure(result);
      expect(error.message).not.toContain(TOKEN);
      expect(error.reason).not.toContain(TOKEN);
      expect(JSON.stringify(result)).not.toContain(TOKEN);
    }
    expect(failure(results[0] as Result<unknown>)).toMatchObject({ kind: "token_invalid", subcode: 467 });
    expect(failure(results[0] as Result<unknown>).message).toContain("[redacted]");
  });
});

describe("refreshToken (reference 5.4)", () => {
  it("GETs /refresh_access_token at the host's root with the token in the query, and maps the answer", async () => {
    server.script({ body: { access_token: "IGAAnewLONGlived", token_type: "bearer", expires_in: 5183944 } });
    const refreshed = value(await client().refreshToken(TOKEN));
    expect(refreshed).toEqual({ accessToken: "IGAAnewLONGlived", expiresIn: 5183944 });
    const req = server.requests[0];
    expect(req?.method).toBe("GET");
    expect(req?.path).toBe("/refresh_access_token");
    expect(req?.query).toEqual({ grant_type: "ig_refresh_token", access_token: TOKEN });
    expect(req?.headers.authorization).toBeUndefined();
  });

  it("classifies 190 as token_invalid without the token in the error, and retries a 500", async () => {
    server.script(
      { status: 500, body: { error: { message: "temporary", code: 2 } } },
      { status: 400, body: metaError(190, 463, `Error validating access token ${TOKEN}: expired`) },
    );
    const error = failure(await client().refreshToken(TOKEN));
    expect(error).toMatchObject({ kind: "token_invalid", code: 190, subcode: 463 });
    expect(JSON.stringify(error)).not.toContain(TOKEN);
    expect(server.requests).toHaveLength(2);
  });

  it("reports an answer it cannot use without echoing it (it may hold the new token)", async () => {
    server.script({ body: { access_token: "IGAAfreshSECRET", token_type: "bearer" } });
    const error = failure(await client().refreshToken(TOKEN));
    expect(error.kind).toBe("bad_request");
    expect(error.message).toMatch(/unexpected response/);
    expect(JSON.stringify(error)).not.toContain("IGAAfreshSECRET");
  });
});

describe("messenger profile (reference 2.9)", () => {
  it("reads the asked fields from every entry of data, or at the top level; nothing set is an empty object", async () => {
    server.script(
      { body: { data: [{ ice_breakers: [{ locale: "default", call_to_actions: [] }] }] } },
      { body: { data: [] } },
      { body: { persistent_menu: [] } },
    );
    const c = client();
    expect(await c.getMessengerProfile(TOKEN, ["ice_breakers"])).toEqual({
      ok: true,
      value: { ice_breakers: [{ locale: "default", call_to_actions: [] }] },
    });
    expect(await c.getMessengerProfile(TOKEN, ["persistent_menu"])).toEqual({ ok: true, value: {} });
    expect(await c.getMessengerProfile(TOKEN, ["persistent_menu"])).toEqual({
      ok: true,
      value: { persistent_menu: [] },
    });
    expect(server.requests.map((r) => [r.method, r.path, r.query.fields])).toEqual([
      ["GET", "/v25.0/me/messenger_profile", "ice_breakers"],
      ["GET", "/v25.0/me/messenger_profile", "persistent_menu"],
      ["GET", "/v25.0/me/messenger_profile", "persistent_menu"],
    ]);
  });

  it("sets fields with platform instagram and deletes them by name", async () => {
    server.script({ body: { success: true } }, { body: { success: true } });
    const c = client();
    const breakers = [{ locale: "default", call_to_actions: [{ question: "Hi?", payload: "HI" }] }];
    expect(await c.setMessengerProfile(TOKEN, { ice_breakers: breakers })).toEqual({
      ok: true,
      value: { success: true },
    });
    expect(await c.deleteMessengerProfile(TOKEN, ["ice_breakers"])).toEqual({
      ok: true,
      value: { success: true },
    });
    expect(server.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ["POST", "/v25.0/me/messenger_profile", { platform: "instagram", ice_breakers: breakers }],
      ["DELETE", "/v25.0/me/messenger_profile", { fields: ["ice_breakers"] }],
    ]);
  });
});
