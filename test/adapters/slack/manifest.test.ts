import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BOT_SCOPES } from "../../../adapters/slack/scopes.ts";

const manifest = readFileSync(new URL("../../../manifest/slack.yaml", import.meta.url), "utf8");

describe("Slack app manifest", () => {
  it("wires the events, command and shortcut the listeners expect", () => {
    expect(manifest).toMatch(/^\s+- message\.channels$/m);
    expect(manifest).toMatch(/^\s+- message\.groups$/m);
    expect(manifest).toMatch(/^\s+- reaction_added$/m);
    expect(manifest).toMatch(/^\s+- app_home_opened$/m);
    expect(manifest).toMatch(/^\s+home_tab_enabled: true$/m);
    expect(manifest).toMatch(/^\s+- reaction_removed$/m);
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
