// The bot scopes manifest/slack.yaml asks for (test/adapters/slack/manifest.test.ts keeps the two
// equal): the Slack probe compares what a token was granted against them.

export const BOT_SCOPES = [
  "chat:write",
  "chat:write.customize",
  "channels:history",
  "groups:history",
  "channels:read",
  "groups:read",
  "reactions:read",
  "reactions:write",
  "files:read",
  "files:write",
  "im:write",
  "users:read",
  "usergroups:read",
  "commands",
] as const;
