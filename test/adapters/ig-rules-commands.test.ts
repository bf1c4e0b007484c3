// `/ig rules …` parsed the same way on both platforms, with a precise answer for bad arguments.

import { describe, expect, it } from "vitest";
import { parseIgOptions } from "../../adapters/discord/ig-command.ts";
import { parseIgCommand as slackParse } from "../../adapters/slack/ig-command.ts";

const discordParse = (path: string[], options: Record<string, string | undefined> = {}) =>
  parseIgOptions({ path, options });

describe("/ig rules on Slack (one text argument)", () => {
  it("parses list, enable, disable and test", () => {
    expect(slackParse("rules list")).toEqual({ kind: "command", command: "rules list", args: {} });
    expect(slackParse("rules enable price")).toEqual({
      kind: "command",
      command: "rules enable",
      args: { id: "price" },
    });
    expect(slackParse("rules disable price")).toEqual({
      kind: "command",
      command: "rules disable",
      args: { id: "price" },
    });
    expect(slackParse('rules test "how much is it?"')).toEqual({
      kind: "command",
      command: "rules test",
      args: { text: "how much is it?" },
    });
  });

  it("answers bad arguments precisely", () => {
    expect(slackParse("rules enable")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/takes one rule id/),
    });
    expect(slackParse("rules enable Not-A-Slug!")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/`Not-A-Slug!` is not a rule id/),
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
    expect(discordParse(["rules", "list"])).toEqual({ kind: "command", command: "rules list", args: {} });
    expect(discordParse(["rules", "enable"], { id: "price" })).toEqual({
      kind: "command",
      command: "rules enable",
      args: { id: "price" },
    });
    expect(discordParse(["rules", "test"], { text: "how much?" })).toEqual({
      kind: "command",
      command: "rules test",
      args: { text: "how much?" },
    });
    expect(discordParse(["rules", "disable"], {})).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/takes one rule id/),
    });
  });
});

describe("/ig consent", () => {
  it("parses a customer and a state on Slack, and the thread's customer by default on Discord", () => {
    expect(slackParse("consent @jane_doe revoked")).toEqual({
      kind: "command",
      command: "consent",
      args: { user: "@jane_doe", state: "revoked" },
    });
    expect(slackParse("consent @jane_doe maybe")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/granted or revoked/),
    });
    expect(discordParse(["consent"], { state: "granted" })).toEqual({
      kind: "command",
      command: "consent",
      args: { user: "", state: "granted" },
    });
    expect(discordParse(["consent"], { state: "granted", user: "not a user!" })).toMatchObject({
      kind: "reply",
    });
  });
});

describe("/ig forget", () => {
  it("takes one customer on Slack and defaults to the thread's customer on Discord", () => {
    expect(slackParse("forget @jane_doe")).toEqual({
      kind: "command",
      command: "forget",
      args: { user: "@jane_doe" },
    });
    expect(slackParse("forget")).toMatchObject({
      kind: "reply",
      text: expect.stringMatching(/takes one customer/),
    });
    expect(slackParse("forget a b")).toMatchObject({ kind: "reply" });
    expect(discordParse(["forget"], {})).toEqual({ kind: "command", command: "forget", args: { user: "" } });
  });
});
