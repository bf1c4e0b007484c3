// Slack as the core sees it (src/chat/platform.ts): its variables, channel ids, ADMIN_USERS
// prefixes, start-up line, and what it runs. The SDKs load only when Slack is created (bridge.ts),
// so a CLI command that does not need Slack does not pay for Bolt.

import { z } from "zod";
import { definePlatform } from "../../src/chat/platform.ts";
import { credential, optional, url } from "../../src/config/env-schema.ts";

/** Where Slack posts events, slash commands and interactions. */
export const EVENTS_PATH = "/slack/events";
const slackEnv = {
  SLACK_BOT_TOKEN: optional(z.string().startsWith("xoxb-", { error: "expected a bot token starting xoxb-" })),
  SLACK_SIGNING_SECRET: optional(z.string().min(8)),
  SLACK_API_URL: optional(url("an http(s) URL such as https://slack.com/api/")),
  SLACK_POSTS_PER_SECOND: optional(
    z.coerce
      .number({ error: "expected posts per second, e.g. 1" })
      .positive({ error: "expected posts per second, e.g. 1" }),
  ),
};

export interface SlackSettings {
  botToken: string;
  signingSecret: string;
  apiUrl: string;
  postsPerSecond: number;
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
    user: { prefix: "slack", example: "U0123ABCD" },
    // User groups: their members' membership is looked up (user-groups.ts) and becomes roles.
    group: { prefix: "slack-group", example: "S0123ABCD" },
  },
  secretHeaders: ["x-slack-signature"],
  settings: (e) => ({
    botToken: credential(e.SLACK_BOT_TOKEN, "SLACK_BOT_TOKEN"),
    signingSecret: credential(e.SLACK_SIGNING_SECRET, "SLACK_SIGNING_SECRET"),
    apiUrl: e.SLACK_API_URL ?? "https://slack.com/api/",
    // Slack's chat.postMessage allowance is about one per second per channel.
    postsPerSecond: e.SLACK_POSTS_PER_SECOND ?? 1,
  }),
  summary: (s, { publicUrl }) =>
    `API ${s.apiUrl}, ${s.postsPerSecond} post/s per channel; events at ${publicUrl}${EVENTS_PATH}`,
  async create(s, { log, inbox, adminGroups }) {
    const { createSlack } = await import("./bridge.ts");
    const bridge = createSlack({
      botToken: s.botToken,
      signingSecret: s.signingSecret,
      apiUrl: s.apiUrl,
      postsPerSecond: s.postsPerSecond,
      adminGroups,
      log,
      inbox,
    });
    return { adapter: bridge.adapter, files: bridge.adapter, router: bridge.router, close: bridge.close };
  },
});
