// Slack's health checks (src/chat/health.ts): `auth.test` with the scopes the token was granted
// (Slack sends them in `x-oauth-scopes`) against the manifest's, and the bot's membership of a
// channel (`conversations.info`'s `is_member`). One short try each: a check is asked again later.

import { WebClient } from "@slack/web-api";
import {
  type CheckResult,
  failed,
  type NamedCheck,
  type PlatformProbe,
  passed,
} from "../../src/chat/health.ts";
import type { Logger } from "../../src/log/logger.ts";
import { boltLogger } from "./bolt-logger.ts";
import { BOT_SCOPES } from "./scopes.ts";
import { platformErrorCode } from "./slack-errors.ts";
import { channelFix, scopeFix, TOKEN_CODES, TOKEN_FIX } from "./unusable.ts";

export interface SlackProbeOptions {
  botToken: string;
  apiUrl: string;
  log: Logger;
  timeoutMs?: number;
}

const UNREACHABLE_FIX =
  "Check that this host reaches SLACK_API_URL (network, proxy, DNS); Slack's status is at https://slack-status.com.";

/** A failure that is not one of Slack's `ok:false` answers: the network, a timeout, an HTTP error. */
function unreachable(what: string, err: unknown): CheckResult {
  return failed(
    `unreachable: ${what} failed (${err instanceof Error ? err.message : String(err)})`,
    UNREACHABLE_FIX,
  );
}

export function slackProbe(options: SlackProbeOptions): PlatformProbe {
  const client = new WebClient(options.botToken, {
    slackApiUrl: options.apiUrl,
    timeout: options.timeoutMs ?? 5_000,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: boltLogger(options.log),
  });

  return {
    async auth(): Promise<NamedCheck[]> {
      let res: Awaited<ReturnType<typeof client.auth.test>>;
      try {
        res = await client.auth.test();
      } catch (err) {
        const code = platformErrorCode(err);
        if (code && TOKEN_CODES.has(code))
          return [{ name: "token", ...failed(`${code}: Slack refused SLACK_BOT_TOKEN`, TOKEN_FIX) }];
        return [
          {
            name: "token",
            ...(code ? failed(`${code}: auth.test failed`, TOKEN_FIX) : unreachable("auth.test", err)),
          },
        ];
      }
      if (!res.bot_id)
        return [
          {
            name: "token",
            ...failed(
              "not_a_bot_token: auth.test names no bot",
              "Use the Bot User OAuth Token (xoxb-…), not a user token.",
            ),
          },
        ];
      const token = {
        name: "token",
        ...passed(
          `bot ${res.user ? `@${res.user}` : res.user_id} in ${res.team ?? res.team_id ?? "the workspace"}`,
        ),
      };
      const granted = res.response_metadata?.scopes;
      if (!granted) return [token, { name: "scopes", ...passed("Slack did not list the granted scopes") }];
      const missing = BOT_SCOPES.filter((s) => !granted.includes(s));
      const scopes = missing.length
        ? failed(`missing_scope: ${missing.join(", ")} not granted`, scopeFix(missing.join(", ")))
        : passed(`all ${BOT_SCOPES.length} scopes of the manifest granted`);
      return [token, { name: "scopes", ...scopes }];
    },

    async destination(channel: string): Promise<CheckResult> {
      let res: Awaited<ReturnType<typeof client.conversations.info>>;
      try {
        res = await client.conversations.info({ channel });
      } catch (err) {
        const code = platformErrorCode(err);
        if (code === "channel_not_found")
          return failed(`channel_not_found: the bot sees no channel ${channel}`, channelFix(code, channel));
        if (code && TOKEN_CODES.has(code)) return failed(`${code}: Slack refused SLACK_BOT_TOKEN`, TOKEN_FIX);
        if (code === "missing_scope")
          return failed(`missing_scope: conversations.info`, scopeFix("channels:read and groups:read"));
        return code
          ? failed(`${code}: conversations.info failed`, channelFix(code, channel))
          : unreachable("conversations.info", err);
      }
      const c = res.channel;
      const name = c?.name ? `#${c.name}` : channel;
      if (c?.is_archived)
        return failed(`is_archived: ${name} is archived`, channelFix("is_archived", channel));
      if (c?.is_member === false)
        return failed(`not_in_channel: the bot is not in ${name}`, channelFix("not_in_channel", channel));
      return passed(`the bot is in ${name}`);
    },
  };
}
