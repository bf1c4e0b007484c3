import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BOT_SCOPES } from "../../../adapters/slack/scopes.ts";

const manifest = readFileSync(new URL("../../../manifest/slack.yaml", import.meta.url), "utf8");

describe("Slack app manifest", () => {
  it("asks for every scope the adapter uses and wires what the listeners expect", () => {
    for (const scope of [
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
    ]) {
      expect(manifest).toMatch(new RegExp(`^\\s+- ${scope.replace(".", "\\.")}$`, "m"));
    }
    expect(manifest).toMatch(/^\s+- message\.channels$/m);
    expect(manifest).toMatch(/^\s+- message\.groups$/m);
    expect(manifest).toMatch(/^\s+- reaction_added$/m);
    expect(manifest).toMatch(/command: \/ig$/m);
    expect(manifest).toMatch(/callback_id: ig_send$/m);
    expect(manifest).toMatch(/is_enabled: true/);
    expect(manifest.match(/url: https:\/\/YOUR-HOST\/slack\/events/g)).toHaveLength(3);
  });

  it("asks for exactly the scopes the health check expects a token to have", () => {
    const parsed = parse(manifest) as { oauth_config: { scopes: { bot: string[] } } };
    expect([...parsed.oauth_config.scopes.bot].sort()).toEqual([...BOT_SCOPES].sort());
  });
});
