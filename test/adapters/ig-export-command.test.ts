// `/ig export` parsed on both platforms, listed in their help, and declared in Discord's manifest.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseIgCommand as discordParse, usage as discordUsage } from "../../adapters/discord/ig-command.ts";
import {
  SUBCOMMANDS,
  parseIgCommand as slackParse,
  usage as slackUsage,
} from "../../adapters/slack/ig-command.ts";

describe("/ig export on Slack (one text argument)", () => {
  it("takes one customer, by @username or id", () => {
    expect(slackParse("export @customer_01")).toEqual({
      kind: "action",
      action: { kind: "export", user: "@customer_01" },
    });
    expect(slackParse("EXPORT 1000000000000701")).toEqual({
      kind: "action",
      action: { kind: "export", user: "1000000000000701" },
    });
  });

  it("answers a missing, extra or malformed customer with the usage", () => {
    for (const text of ["export", "export @a @b", "export <@U123>", "export a/b"])
      expect(slackParse(text)).toEqual({
        kind: "reply",
        text: "`export` takes one customer: an @username or an id\nusage: `/ig export @username|id`",
      });
  });

  it("is listed right after forget in the help", () => {
    const names = SUBCOMMANDS.map((s) => s.name);
    expect(names.indexOf("export")).toBe(names.indexOf("forget") + 1);
    expect(slackUsage()).toContain("• `/ig export @username|id` — every row stored about one Instagram user");
    expect(slackParse("help")).toEqual({ kind: "reply", text: slackUsage() });
  });
});

describe("/ig export on Discord (a user option)", () => {
  it("takes an @username, an id, or nothing for the thread's customer", () => {
    expect(discordParse("export", null, null, { user: " @customer_01 " })).toEqual({
      kind: "action",
      action: { kind: "export", user: "@customer_01" },
    });
    expect(discordParse("export", null, null, { user: "1000000000000701" })).toEqual({
      kind: "action",
      action: { kind: "export", user: "1000000000000701" },
    });
    expect(discordParse("export", null, null, { user: null })).toEqual({
      kind: "action",
      action: { kind: "export", user: "" },
    });
  });

  it("answers a malformed user, without letting it break out of the code span", () => {
    expect(discordParse("export", null, null, { user: "a `b` c" })).toEqual({
      kind: "reply",
      text: "`a b c` is not an Instagram user (an @username or an id)",
    });
  });

  it("is in the help and in the registered command", () => {
    expect(discordUsage()).toContain("• `/ig export [user]` — every row stored about a customer");
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
