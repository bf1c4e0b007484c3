import { WebClient } from "@slack/web-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SlackAdapter } from "../../../adapters/slack/adapter.ts";
import { slack } from "../../../adapters/slack/index.ts";
import { slackUnusable } from "../../../adapters/slack/unusable.ts";
import { classifying, DestinationUnusable, WHOLE_PLATFORM } from "../../../src/chat/health.ts";
import { createLogger } from "../../../src/log/logger.ts";
import { type SlackServer, startSlackServer } from "../../fakes/slack-server.ts";

// The Slack probe and the adapter's classification of answers no retry can fix, against the fake
// Slack Web API (real @slack/web-api calls).

const log = createLogger("silent");
let server: SlackServer;

const probeWith = (token: string) =>
  // biome-ignore lint/style/noNonNullAssertion: Slack declares a probe
  slack.probe!(
    {
      botToken: token,
      signingSecret: "secret-0123",
      apiUrl: server.apiUrl,
      postsPerSecond: 100,
      homeRefreshSeconds: 0,
    },
    { log },
  );

beforeAll(async () => {
  server = await startSlackServer();
});
afterAll(async () => {
  await server?.close();
});

describe("slack probe: auth", () => {
  it("passes with the token the app was installed with and the manifest's scopes", async () => {
    const checks = await probeWith(server.token).auth();
    expect(checks).toEqual([
      { name: "token", ok: true, detail: "bot @threadbridge in Fake" },
      { name: "scopes", ok: true, detail: "all 14 scopes of the manifest granted" },
    ]);
  });

  it("fails a refused token with invalid_auth and says where the right one is", async () => {
    const [token, ...rest] = await probeWith("xoxb-wrong").auth();
    expect(rest).toEqual([]);
    expect(token).toMatchObject({ name: "token", ok: false, detail: expect.stringMatching(/^invalid_auth/) });
    expect(token?.fix).toMatch(/Bot User OAuth Token/);
  });

  it("names the scopes the token lacks (from x-oauth-scopes)", async () => {
    server.revokeScopes(["reactions:write", "files:read"]);
    try {
      const checks = await probeWith(server.token).auth();
      expect(checks[1]).toMatchObject({
        name: "scopes",
        ok: false,
        detail: "missing_scope: reactions:write, files:read not granted",
      });
      expect(checks[1]?.fix).toMatch(/reinstall the app/);
    } finally {
      server.grantScopes(["reactions:write", "files:read"]);
    }
  });

  it("says the API cannot be reached rather than blaming the token", async () => {
    const probe = slack.probe?.(
      {
        botToken: server.token,
        signingSecret: "secret-0123",
        apiUrl: "http://127.0.0.1:9/api/",
        postsPerSecond: 1,
        homeRefreshSeconds: 0,
      },
      { log },
    );
    const [token] = (await probe?.auth()) ?? [];
    expect(token).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^unreachable: auth\.test failed/),
    });
    expect(token?.fix).toMatch(/SLACK_API_URL/);
  });
});

describe("slack probe: destination", () => {
  it("passes where the bot is a member, fails with the invite where it is not", async () => {
    server.setChannel("C0INSIDE", { name: "support" });
    server.setChannel("C0OUTSIDE", { name: "general", member: false });
    const probe = probeWith(server.token);
    expect(await probe.destination("C0INSIDE")).toEqual({ ok: true, detail: "the bot is in #support" });
    const out = await probe.destination("C0OUTSIDE");
    expect(out).toMatchObject({ ok: false, detail: "not_in_channel: the bot is not in #general" });
    expect(out.fix).toBe("Invite the bot to the channel: type /invite @threadbridge in <#C0OUTSIDE>.");
  });

  it("fails a channel it cannot see (deleted, or private without the bot) and an archived one", async () => {
    server.setChannel("C0GONE", { exists: false });
    server.setChannel("G0SECRET", { private: true, member: false });
    server.setChannel("C0OLD", { name: "old", archived: true });
    const probe = probeWith(server.token);
    expect(await probe.destination("C0GONE")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^channel_not_found/),
    });
    expect(await probe.destination("G0SECRET")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^channel_not_found/),
    });
    expect(await probe.destination("C0OLD")).toMatchObject({
      ok: false,
      detail: "is_archived: #old is archived",
    });
  });
});

describe("slack adapter: answers no retry can fix", () => {
  const adapterWith = (token: string) =>
    classifying(
      new SlackAdapter({
        client: new WebClient(token, { slackApiUrl: server.apiUrl, retryConfig: { retries: 0 } }),
        botToken: token,
        botUserId: async () => server.botUserId,
        fetch,
        fileOrigins: [],
        log,
        pace: async () => {},
      }),
      slackUnusable,
    );
  const header = {
    kind: "dm" as const,
    account: { id: "1", username: "brand" },
    customer: { id: "900", name: "Jo", username: "jo" },
    window: { kind: "none" as const },
    status: "open" as const,
    consent: "unknown" as const,
    links: [],
  };

  it("throws DestinationUnusable for the channel on not_in_channel, with the invite as the fix", async () => {
    server.setChannel("C0NOTIN", { member: false });
    const err = await adapterWith(server.token)
      .openThread("C0NOTIN", header)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationUnusable);
    expect(err).toMatchObject({ platform: "slack", channel: "C0NOTIN", reason: "not_in_channel" });
    expect((err as DestinationUnusable).fix).toMatch(/\/invite @threadbridge/);
  });

  it("holds the channel on channel_not_found (a private channel the bot is not in, or none) and is_archived", async () => {
    server.setChannel("G0HIDDEN", { private: true, member: false });
    server.setChannel("C0SHUT", { archived: true });
    const hidden = await adapterWith(server.token)
      .alert("G0HIDDEN", "hi")
      .catch((e: unknown) => e);
    expect(hidden).toBeInstanceOf(DestinationUnusable);
    expect(hidden).toMatchObject({ platform: "slack", channel: "G0HIDDEN", reason: "channel_not_found" });
    expect((hidden as DestinationUnusable).fix).toMatch(/^Check the channel id G0HIDDEN/);
    const archived = await adapterWith(server.token)
      .alert("C0SHUT", "hi")
      .catch((e: unknown) => e);
    expect(archived).toMatchObject({ channel: "C0SHUT", reason: "is_archived" });
  });

  it("holds the whole platform on a refused token or a missing scope", async () => {
    const refused = await adapterWith("xoxb-wrong")
      .alert("C0ANY", "hi")
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ channel: WHOLE_PLATFORM, reason: "invalid_auth" });
    server.revokeScopes(["chat:write"]);
    try {
      const scope = await adapterWith(server.token)
        .alert("C0ANY", "hi")
        .catch((e: unknown) => e);
      expect(scope).toMatchObject({ channel: WHOLE_PLATFORM, reason: "missing_scope" });
      expect((scope as DestinationUnusable).fix).toMatch(/the chat:write scope/);
    } finally {
      server.grantScopes(["chat:write"]);
    }
  });

  it("leaves other failures as they were (a retry may fix them)", async () => {
    server.failNext(1, { status: 500, method: "chat.postMessage" });
    const err = await adapterWith(server.token)
      .alert("C0ANY", "hi")
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(DestinationUnusable);
    expect(err).toBeInstanceOf(Error);
  });
});
