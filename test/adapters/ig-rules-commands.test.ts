// `/ig rules …` parsed the same way on both platforms, with a precise answer for bad arguments.

import { describe, expect, it } from "vitest";
import { parseIgCommand as discordParse } from "../../adapters/discord/ig-command.ts";
import { parseIgCommand as slackParse } from "../../adapters/slack/ig-command.ts";

describe("/ig rules on Slack (one text argument)", () => {
  it("parses list, enable, disable and test", () => {
    expect(slackParse("rules list")).toEqual({ kind: "action", action: { kind: "rules_list" } });
    expect(slackParse("rules enable price")).toEqual({
      kind: "action",
      action: { kind: "rules_toggle", ruleId: "price", enabled: true },
    });
    expect(slackParse("rules disable price")).toEqual({
      kind: "action",
      action: { kind: "rules_toggle", ruleId: "price", enabled: false },
    });
    expect(slackParse('rules test "how much is it?"')).toEqual({
      kind: "action",
      action: { kind: "rules_test", text: "how much is it?" },
    });
  });

  it("answers bad arguments precisely", () => {
    expect(slackParse("rules enable")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/takes one rule id/),
    });
    expect(slackParse("rules enable Not-A-Slug!")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/takes one rule id/),
    });
    expect(slackParse("rules test")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/needs a text/),
    });
    expect(slackParse("rules frobnicate")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/unknown rules command/),
    });
    expect(slackParse("rules list extra")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/takes no arguments/),
    });
  });
});

describe("/ig rules on Discord (a subcommand group)", () => {
  it("parses the group's subcommands and refuses missing options", () => {
    expect(discordParse("list", null, "rules")).toEqual({ kind: "action", action: { kind: "rules_list" } });
    expect(discordParse("enable", null, "rules", { id: "price" })).toEqual({
      kind: "action",
      action: { kind: "rules_toggle", ruleId: "price", enabled: true },
    });
    expect(discordParse("test", null, "rules", { text: "how much?" })).toEqual({
      kind: "action",
      action: { kind: "rules_test", text: "how much?" },
    });
    expect(discordParse("disable", null, "rules", {})).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/needs a rule id/),
    });
  });
});

describe("/ig consent", () => {
  it("parses a customer and a state on Slack, and the thread's customer by default on Discord", () => {
    expect(slackParse("consent @jane_doe revoked")).toEqual({
      kind: "action",
      action: { kind: "consent_set", user: "@jane_doe", consent: "revoked" },
    });
    expect(slackParse("consent @jane_doe maybe")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/granted or revoked/),
    });
    expect(discordParse("consent", null, null, { state: "granted" })).toEqual({
      kind: "action",
      action: { kind: "consent_set", user: "", consent: "granted" },
    });
    expect(discordParse("consent", null, null, { state: "granted", user: "not a user!" })).toMatchObject({
      kind: "reply",
    });
  });
});

describe("/ig forget", () => {
  it("takes one customer on Slack and defaults to the thread's customer on Discord", () => {
    expect(slackParse("forget @jane_doe")).toEqual({
      kind: "action",
      action: { kind: "forget", user: "@jane_doe" },
    });
    expect(slackParse("forget")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/takes one customer/),
    });
    expect(slackParse("forget a b")).toMatchObject({ kind: "reply" });
    expect(discordParse("forget", null, null, {})).toEqual({
      kind: "action",
      action: { kind: "forget", user: "" },
    });
  });
});
