// Honest readiness (issue 19): each configured chat platform and every routed channel is checked at
// start-up and every CHAT_CHECK_SECONDS; /readyz shows a check per platform (degraded, still 200:
// webhooks are stored), the metrics a gauge per platform and per routed channel, and the start-up
// line says `failing (…)` instead of `on`.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { loadConfig } from "../../src/config/config.ts";
import { checkPlatformAuth } from "../../src/health/chat-health.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { Service } from "../../src/service.ts";
import { describeConfiguration } from "../../src/startup-summary.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { startCommand } from "../helpers/role-process.ts";
import { freePort } from "../helpers/servers.ts";
import {
  METRICS_TOKEN,
  OPERATOR,
  startTestService,
  TEST_BACKEND,
  TEST_KEY,
  type TestEnv,
  testEnv,
  waitFor,
} from "../helpers/service.ts";
import { slackEnv } from "../helpers/slack.ts";

const DEFAULTED = {
  webhookSecret: false,
  verifyToken: false,
  tokenEncryptionKey: false,
  consoleSessionSecret: false,
};

interface Readiness {
  status: string;
  checks: Record<string, { ok: boolean; degraded?: boolean; detail?: string }>;
  chat?: Record<string, { destinations: Array<{ channel: string; ok: boolean; detail: string }> }>;
}

async function readyz(service: Service): Promise<{ code: number; body: Readiness }> {
  const res = await fetch(`${service.url}/readyz`, { headers: OPERATOR });
  return { code: res.status, body: (await res.json()) as Readiness };
}

async function metrics(service: Service): Promise<string> {
  return (await fetch(`${service.url}/metrics`, { headers: OPERATOR })).text();
}

describe("a working Slack with a channel the bot is not in", () => {
  let slack: SlackServer;
  let t: TestEnv;
  let service: Service;

  beforeAll(async () => {
    slack = await startSlackServer();
    slack.setChannel("C0INSIDE", { name: "support" });
    slack.setChannel("C0OUTSIDE", { name: "general", member: false });
    t = await testEnv(TEST_BACKEND, { ...slackEnv(slack), METRICS_TOKEN, CHAT_CHECK_SECONDS: "1" });
    service = await startTestService(t, { worker: false });
    const cipher = TokenCipher.fromConfig(TEST_KEY);
    for (const [id, channel] of [
      ["17841400000000401", "C0INSIDE"],
      ["17841400000000402", "C0OUTSIDE"],
    ] as const)
      await addAccount(service.db, cipher, {
        igUserId: id,
        username: `brand${id.slice(-1)}`,
        token: "IGAA-readiness",
        chat: { platform: "slack", channel },
        ...(id.endsWith("1") ? { digestChannel: "C0INSIDE" } : {}),
      });
  });
  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
    await slack?.close();
  });

  it("/readyz answers 200 degraded, naming the channel and why, with each channel's check in the details", async () => {
    await waitFor(
      async () => ((await readyz(service)).body.chat?.slack?.destinations.length === 2 ? true : undefined),
      20_000,
      "both channels checked",
    );
    // Asked again: one answer's status and details are read a moment apart, and the pass that
    // checked both channels may have ended in between.
    const { code, body } = await readyz(service);
    expect(code).toBe(200);
    expect(body.status).toBe("degraded");
    expect(body.checks.database).toEqual({ ok: true });
    expect(body.checks.slack).toEqual({
      ok: true,
      degraded: true,
      detail: "1 of 2 channel(s) failing: C0OUTSIDE (not_in_channel: the bot is not in #general)",
    });
    expect(body.chat?.slack?.destinations.map((d) => [d.channel, d.ok])).toEqual([
      ["C0INSIDE", true],
      ["C0OUTSIDE", false],
    ]);
    // Without the metrics token, only the status.
    expect(await (await fetch(`${service.url}/readyz`)).json()).toEqual({ status: "degraded" });
  });

  it("the metrics carry the platform's gauge and one per routed channel", async () => {
    const text = await metrics(service);
    expect(text).toContain('threadbridge_chat_platform_up{platform="slack"} 1');
    expect(text).toContain('threadbridge_chat_destination_up{platform="slack",channel="C0INSIDE"} 1');
    expect(text).toContain('threadbridge_chat_destination_up{platform="slack",channel="C0OUTSIDE"} 0');
    expect(text.match(/threadbridge_chat_destination_up\{/g)).toHaveLength(2);
  });

  it("a scope taken away fails the platform within a check interval; given back, it passes again", async () => {
    slack.revokeScopes(["reactions:write"]);
    try {
      const failing = await waitFor(
        async () => {
          const r = await readyz(service);
          return r.body.checks.slack?.detail?.startsWith("failing") ? r.body.checks.slack : undefined;
        },
        20_000,
        "the scope's absence noticed",
      );
      expect(failing).toEqual({
        ok: true,
        degraded: true,
        detail: "failing (missing_scope: reactions:write not granted)",
      });
      expect(await metrics(service)).toContain('threadbridge_chat_platform_up{platform="slack"} 0');
    } finally {
      slack.grantScopes(["reactions:write"]);
    }
    slack.setChannel("C0OUTSIDE", { member: true });
    const ok = await waitFor(
      async () => {
        const r = await readyz(service);
        return r.body.status === "ready" ? r : undefined;
      },
      20_000,
      "ready again",
    );
    expect(ok.body.checks.slack).toEqual({ ok: true, detail: "ok (2 channel(s) checked)" });
  });
});

describe("a refused Slack token", () => {
  let slack: SlackServer;
  let t: TestEnv;
  let service: Service;

  beforeAll(async () => {
    slack = await startSlackServer();
    t = await testEnv(TEST_BACKEND, {
      ...slackEnv({ token: "xoxb-not-the-right-one", apiUrl: slack.apiUrl }),
      METRICS_TOKEN,
    });
    service = await startTestService(t, { worker: false });
  });
  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
    await slack?.close();
  });

  it("is failing in /readyz (200, degraded: webhooks are still stored) and in the metrics", async () => {
    const { code, body } = await waitFor(
      async () => {
        const r = await readyz(service);
        return r.body.checks.slack?.degraded ? r : undefined;
      },
      20_000,
      "the first check",
    );
    expect(code).toBe(200);
    expect(body.status).toBe("degraded");
    expect(body.checks.slack?.detail).toBe("failing (invalid_auth: Slack refused SLACK_BOT_TOKEN)");
    expect(await metrics(service)).toContain('threadbridge_chat_platform_up{platform="slack"} 0');
  });

  it("the service's start-up line says failing, with the fix, instead of on; its /readyz says degraded", {
    timeout: 120_000,
  }, async () => {
    // The real command, in its own process with its own database (the embedded one belongs to the
    // service above), logging what an operator reads at start-up.
    const own = await testEnv(TEST_BACKEND, {
      ...slackEnv({ token: "xoxb-not-the-right-one", apiUrl: slack.apiUrl }),
      METRICS_TOKEN,
      LOG_LEVEL: "info",
    });
    const port = await freePort();
    const p = startCommand(["start"], { ...own.env, PORT: String(port) });
    try {
      const line = await p.line((e) => typeof e.msg === "string" && e.msg.startsWith("slack: "), 60_000);
      expect(line.msg).toBe(
        "slack: failing (invalid_auth: Slack refused SLACK_BOT_TOKEN): Set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (OAuth & Permissions, xoxb-…); if the app was removed, install it to the workspace again.",
      );
      await p.line((e) => e.msg === "http listening", 60_000);
      const url = `http://127.0.0.1:${port}`;
      const ready = await waitFor(
        async () => {
          const res = await fetch(`${url}/readyz`, { headers: OPERATOR });
          const body = (await res.json()) as Readiness;
          return body.checks.slack?.degraded ? { code: res.status, body } : undefined;
        },
        20_000,
        "the process's first check",
      );
      expect(ready.code).toBe(200);
      expect(ready.body.checks.slack?.detail).toBe("failing (invalid_auth: Slack refused SLACK_BOT_TOKEN)");
    } finally {
      await p.stop();
      await own.cleanup();
    }
  });

  it("the start-up summary says on with a token Slack accepts", async () => {
    const log = createLogger("silent");
    const good = loadConfig({ ...slackEnv(slack) }, platforms);
    expect(describeConfiguration(good, DEFAULTED, await checkPlatformAuth(good.platforms, log))).toContain(
      `slack: on (API ${slack.apiUrl}, 1 post/s per channel; events at http://localhost:3000/slack/events)`,
    );
  });
});
