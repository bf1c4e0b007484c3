// Slack as the core sees it (src/chat/platform.ts): its variables, channel ids, ADMIN_USERS
// prefixes, start-up line, and what it runs. The SDKs load only when Slack is created, and Bolt only
// in the web role, which receives Slack's events (bridge.ts); a worker loads the Web API client
// alone (client.ts), and a CLI command that does not need Slack neither.

import { z } from "zod";
import { classifying, lazyProbe } from "../../src/chat/health.ts";
import { definePlatform } from "../../src/chat/platform.ts";
import { credential, url, variable } from "../../src/config/env-schema.ts";

/** Where Slack posts events, slash commands and interactions. */
export const EVENTS_PATH = "/slack/events";
const slackEnv = {
  SLACK_BOT_TOKEN: variable(
    z.string().startsWith("xoxb-", { error: "expected a bot token starting xoxb-" }),
    {
      secret: true,
      doc: "the Slack app's bot token (`xoxb-…`, from OAuth & Permissions)",
      example: "xoxb-your-bot-token",
    },
  ),
  SLACK_SIGNING_SECRET: variable(z.string().min(8), {
    secret: true,
    doc: `the Slack app's signing secret (Basic Information): Slack's requests to \`${EVENTS_PATH}\` are checked with it`,
    example: "your-slack-signing-secret",
  }),
  SLACK_API_URL: variable(url("an http(s) URL such as https://slack.com/api/"), {
    doc: "Slack Web API base (tests point it at a local fake)",
    default: "https://slack.com/api/",
  }),
  SLACK_POSTS_PER_SECOND: variable(
    z.coerce
      .number({ error: "expected posts per second, e.g. 1" })
      .positive({ error: "expected posts per second, e.g. 1" }),
    {
      doc: "posts per second per Slack channel (Slack allows about one, with short bursts); posts wait their turn per channel instead of collecting 429s",
      default: "1",
    },
  ),
  SLACK_HOME_REFRESH_SECONDS: variable(
    z.coerce
      .number({ error: "expected seconds, e.g. 60 (0: only when opened)" })
      .int({ error: "expected whole seconds, e.g. 60" })
      .min(0, { error: "expected seconds, e.g. 60 (0: only when opened)" }),
    {
      doc: "how often the Home tab of someone who opened it in the last 8 hours is built again and published when it changed (at most 200 people per web process); 0 draws it only when opened",
      default: "60",
    },
  ),
};

export interface SlackSettings {
  botToken: string;
  signingSecret: string;
  apiUrl: string;
  postsPerSecond: number;
  homeRefreshSeconds: number;
}

export const slack = definePlatform<SlackSettings, typeof slackEnv>({
  name: "slack",
  label: "Slack",
  env: slackEnv,
  credentials: ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"],
  channel: {
    pattern: /^[CG][A-Z0-9]{6,}$/,
    example: "C0123ABCD",
    hint: "the id at the bottom of the channel's details, such as C0123ABCD (invite the bot there).",
    invite: "/invite @threadbridge",
  },
  refs: {
    user: { prefix: "slack", example: "U0123ABCD", what: "a Slack user" },
    // User groups: their members' membership is looked up (user-groups.ts) and becomes roles.
    group: {
      prefix: "slack-group",
      example: "S0123ABCD",
      what: "a Slack user group: its members are read with `usergroups.users.list` and kept a minute; a group that cannot be read grants nothing",
    },
  },
  secretHeaders: ["x-slack-signature"],
  settings: (e) => ({
    botToken: credential(e.SLACK_BOT_TOKEN, "SLACK_BOT_TOKEN"),
    signingSecret: credential(e.SLACK_SIGNING_SECRET, "SLACK_SIGNING_SECRET"),
    apiUrl: e.SLACK_API_URL ?? "https://slack.com/api/",
    // Slack's chat.postMessage allowance is about one per second per channel.
    postsPerSecond: e.SLACK_POSTS_PER_SECOND ?? 1,
    homeRefreshSeconds: e.SLACK_HOME_REFRESH_SECONDS ?? 60,
  }),
  summary: (s, { publicUrl }) =>
    `API ${s.apiUrl}, ${s.postsPerSecond} post/s per channel; events at ${publicUrl}${EVENTS_PATH}`,
  async create(s, { log, inbox, adminGroups, roles }) {
    const options = {
      botToken: s.botToken,
      signingSecret: s.signingSecret,
      apiUrl: s.apiUrl,
      postsPerSecond: s.postsPerSecond,
      homeRefreshSeconds: s.homeRefreshSeconds,
      adminGroups,
      log,
      inbox,
    };
    const { slackUnusable } = await import("./unusable.ts");
    if (!roles.web) {
      // Slack's events reach the web role only: a worker posts through the Web API client and
      // never loads Bolt.
      const { createSlackClient } = await import("./client.ts");
      const { adapter } = createSlackClient(options);
      return { adapter: classifying(adapter, slackUnusable), files: adapter, members: adapter };
    }
    const { createSlack } = await import("./bridge.ts");
    const bridge = createSlack(options);
    return {
      // Answers no retry can fix (not in the channel, token refused …) reach the core classified.
      adapter: classifying(bridge.adapter, slackUnusable),
      files: bridge.adapter,
      members: bridge.adapter,
      router: bridge.router,
      close: bridge.close,
    };
  },
  probe: (s, { log }) =>
    lazyProbe(async () =>
      (await import("./probe.ts")).slackProbe({ botToken: s.botToken, apiUrl: s.apiUrl, log }),
    ),
});
