// `/ig digest [24h|7d]` parsed on both platforms, listed in their help, declared in Discord's manifest.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { usage as discordUsage, parseIgOptions } from "../../adapters/discord/ig-command.ts";
import { parseIgCommand as slackParse, usage as slackUsage } from "../../adapters/slack/ig-command.ts";

const discordParse = (path: string[], options: Record<string, string | undefined> = {}) =>
  parseIgOptions({ path, options });

describe("/ig digest", () => {
  it("takes 24h (the default) or 7d on Slack, and nothing else", () => {
    expect(slackParse("digest")).toEqual({ kind: "command", command: "digest", args: { span: "24h" } });
    expect(slackParse("digest 7d")).toEqual({ kind: "command", command: "digest", args: { span: "7d" } });
    for (const text of ["digest 30d", "digest weekly"])
      expect(slackParse(text)).toEqual({
        kind: "reply",
        text: "`digest` takes 24h or 7d (default 24h)\nusage: `/ig digest [24h|7d]`",
      });
    expect(slackParse("digest 24h 7d")).toEqual({
      kind: "reply",
      text: "`digest` takes at most one of 24h, 7d; got `24h 7d`\nusage: `/ig digest [24h|7d]`",
    });
    expect(slackUsage()).toContain("/ig digest [24h|7d]");
  });

  it("takes the span option on Discord, as declared in the manifest", () => {
    expect(discordParse(["digest"])).toEqual({ kind: "command", command: "digest", args: { span: "24h" } });
    expect(discordParse(["digest"], { span: "7d" })).toEqual({
      kind: "command",
      command: "digest",
      args: { span: "7d" },
    });
    expect(discordParse(["digest"], { span: "1y" })).toEqual({
      kind: "reply",
      text: "`digest` takes 24h or 7d (default 24h)\nusage: `/ig digest [span]`",
    });
    expect(discordUsage()).toContain("/ig digest [span]");
    const manifest = JSON.parse(
      readFileSync(new URL("../../manifest/discord-commands.json", import.meta.url), "utf8"),
    );
    const sub = manifest[0].options.find((o: { name: string }) => o.name === "digest");
    expect(sub.options[0].choices.map((c: { value: string }) => c.value)).toEqual(["24h", "7d"]);
  });
});
