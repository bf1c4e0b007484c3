// `/ig export` parsed on both platforms, listed in their help, and declared in Discord's manifest.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { usage as discordUsage, parseIgOptions } from "../../adapters/discord/ig-command.ts";
import { parseIgCommand as slackParse, usage as slackUsage } from "../../adapters/slack/ig-command.ts";
import { COMMANDS } from "../../src/commands/catalog.ts";

const discordParse = (path: string[], options: Record<string, string | undefined> = {}) =>
  parseIgOptions({ path, options });

describe("/ig export on Slack (one text argument)", () => {
  it("takes one customer, by @username or id", () => {
    expect(slackParse("export @customer_01")).toEqual({
      kind: "command",
      command: "export",
      args: { user: "@customer_01" },
    });
    expect(slackParse("EXPORT 1000000000000701")).toEqual({
      kind: "command",
      command: "export",
      args: { user: "1000000000000701" },
    });
  });

  it("answers a missing, extra or malformed customer with the usage", () => {
    const usage = "\nusage: `/ig export @username|id`";
    expect(slackParse("export")).toEqual({
      kind: "reply",
      text: `\`export\` takes one customer: an @username or an id${usage}`,
    });
    expect(slackParse("export @a @b")).toEqual({
      kind: "reply",
      text: `\`export\` takes one customer; got \`@a @b\`${usage}`,
    });
    expect(slackParse("export <@U123>")).toEqual({
      kind: "reply",
      text: `\`&lt;@U123&gt;\` is not an Instagram user (an @username or an id)${usage}`,
    });
    expect(slackParse("export a/b")).toEqual({
      kind: "reply",
      text: `\`a/b\` is not an Instagram user (an @username or an id)${usage}`,
    });
  });

  it("is listed right after forget in the help", () => {
    const names = COMMANDS.commands.map((c) => c.name);
    expect(names.indexOf("export")).toBe(names.indexOf("forget") + 1);
    expect(slackUsage()).toContain("• `/ig export @username|id` — every row stored about one Instagram user");
    expect(slackParse("help")).toEqual({ kind: "reply", text: slackUsage() });
  });
});

describe("/ig export on Discord (a user option)", () => {
  it("takes an @username, an id, or nothing for the thread's customer", () => {
    expect(discordParse(["export"], { user: " @customer_01 " })).toEqual({
      kind: "command",
      command: "export",
      args: { user: "@customer_01" },
    });
    expect(discordParse(["export"], { user: "1000000000000701" })).toEqual({
      kind: "command",
      command: "export",
      args: { user: "1000000000000701" },
    });
    expect(discordParse(["export"], { user: undefined })).toEqual({
      kind: "command",
      command: "export",
      args: { user: "" },
    });
  });

  it("answers a malformed user, without letting it break out of the code span", () => {
    expect(discordParse(["export"], { user: "a `b` c" })).toEqual({
      kind: "reply",
      text: "`a b c` is not an Instagram user (an @username or an id)\nusage: `/ig export [user]`",
    });
  });

  it("is in the help and in the registered command", () => {
    expect(discordUsage()).toContain("• `/ig export [user]` — every row stored about one Instagram user");
    const [ig] = JSON.parse(
      readFileSync(new URL("../../manifest/discord-commands.json", import.meta.url), "utf8"),
    ) as {
      options: {
        name: string;
        type: number;
        options?: { name: string; type: number; required: boolean }[];
      }[];
    }[];
    const sub = ig?.options.find((o) => o.name === "export");
    expect(sub).toMatchObject({ type: 1, options: [{ name: "user", type: 3, required: false }] });
  });
});
