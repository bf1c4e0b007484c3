// The command registry: one tokenizer, one parser per argument kind, the commands each surface
// offers, and a registry that refuses a definition it could not serve.

import { describe, expect, it } from "vitest";
import { SLASH as DISCORD } from "../../adapters/discord/ig-command.ts";
import { SLASH as SLACK } from "../../adapters/slack/ig-command.ts";
import { account, duration, member, text } from "../../src/commands/args.ts";
import { COMMANDS } from "../../src/commands/catalog.ts";
import { defineCommand } from "../../src/commands/define.ts";
import { CommandRegistry, threadSurface } from "../../src/commands/registry.ts";
import { restOf, tokenize } from "../../src/commands/tokenize.ts";

const THREAD = threadSurface("//");
const words = (line: string) => tokenize(line).map((t) => t.text);

describe("tokenize", () => {
  it("splits on whitespace and keeps quoted words whole, straight or curly", () => {
    expect(words('  rules test "how much  is it?"  ')).toEqual(["rules", "test", "how much  is it?"]);
    expect(words("rules test “is it in stock?”")).toEqual(["rules", "test", "is it in stock?"]);
    expect(words("say 'hi there' now")).toEqual(["say", "hi there", "now"]);
    // An apostrophe inside a word is not a quote; an unclosed quote runs to the end.
    expect(words("don't stop")).toEqual(["don't", "stop"]);
    expect(words('test "unclosed text')).toEqual(["test", "unclosed text"]);
    expect(words("")).toEqual([]);
  });

  it("gives the rest of a line as typed, whitespace runs as one space, a lone quoted word unquoted", () => {
    const line = 'reply 1785 "Great"   is what\nshe said';
    expect(restOf(line, tokenize(line), 2)).toBe('"Great" is what she said');
    const quoted = 'test "  how much? "';
    expect(restOf(quoted, tokenize(quoted), 1)).toBe("how much?");
    expect(restOf(quoted, tokenize(quoted), 5)).toBe("");
  });
});

describe("argument kinds", () => {
  it("parse what is typed into typed values or precise errors", () => {
    expect(account().parse("@brand.co", "pause")).toEqual({ ok: true, value: "brand.co" });
    expect(account().parse("a`b", "pause")).toEqual({
      ok: false,
      error: "`ab` is not an Instagram account (a username or an id)",
    });
    expect(duration().parse("90M", "snooze")).toEqual({ ok: true, value: 90 * 60_000 });
    expect(duration().parse("31d", "snooze")).toMatchObject({ ok: false });
    expect(member().parse("@Ana Lima", "assign")).toEqual({
      ok: true,
      value: { self: false, name: "Ana Lima" },
    });
    expect(member().parse("ME", "assign")).toEqual({ ok: true, value: { self: true } });
    expect(member().parse("@", "assign")).toMatchObject({ ok: false });
  });
});

describe("surfaces", () => {
  const names = (surface: typeof SLACK) => COMMANDS.offered(surface).map((c) => `${c.where}:${c.name}`);

  it("offers channel commands on a slash command that runs in channels only", () => {
    expect(names(SLACK).every((n) => n.startsWith("channel:"))).toBe(true);
    expect(names(SLACK)).toContain("channel:pause");
  });

  it("adds the thread commands no channel command shadows where the slash command runs in threads", () => {
    const discord = names(DISCORD);
    expect(discord).toEqual(expect.arrayContaining(["thread:close", "thread:snooze", "channel:status"]));
    expect(discord).not.toContain("thread:status");
    expect(discord).not.toContain("thread:hide");
  });

  it("offers thread commands, and only those, as !commands", () => {
    const thread = names(THREAD);
    expect(thread.every((n) => n.startsWith("thread:"))).toBe(true);
    expect(thread).toEqual(
      expect.arrayContaining(["thread:status", "thread:hide", "thread:reply", "thread:take"]),
    );
  });

  it("parses !commands with the same parsers as /ig", () => {
    expect(COMMANDS.parseText(THREAD, "snooze 2s")).toEqual({
      kind: "command",
      command: "snooze",
      args: { duration: 2_000 },
    });
    expect(COMMANDS.parseText(THREAD, "assign @Ana Lima")).toEqual({
      kind: "command",
      command: "assign",
      args: { who: { self: false, name: "Ana Lima" } },
    });
    expect(COMMANDS.parseText(THREAD, "reply Thanks,   see you")).toEqual({
      kind: "command",
      command: "reply",
      args: { text: "Thanks, see you" },
    });
    expect(COMMANDS.parseText(THREAD, "reopen now")).toEqual({
      kind: "reply",
      text: "`reopen` takes no arguments; got `now`\nusage: !reopen",
    });
    // A time closes later; none closes now.
    expect(COMMANDS.parseText(THREAD, "close 2h")).toEqual({
      kind: "command",
      command: "close",
      args: { after: 7_200_000 },
    });
    expect(COMMANDS.parseText(THREAD, "close")).toEqual({
      kind: "command",
      command: "close",
      args: { after: 0 },
    });
    expect(COMMANDS.parseText(THREAD, "close now")).toEqual({
      kind: "reply",
      text: "`now` is not a duration: 30m, 4h, 1d (up to 30 days)\nusage: !close [30m|4h|1d]",
    });
    expect(COMMANDS.parseText(THREAD, "followup 1d See you tomorrow!")).toEqual({
      kind: "command",
      command: "followup",
      args: { after: 86_400_000, text: "See you tomorrow!" },
    });
    expect(COMMANDS.parseText(THREAD, "pause")).toEqual({
      kind: "reply",
      text: "unknown command `pause`; try !help",
    });
    expect(COMMANDS.parseText(THREAD, "snooze")).toEqual({
      kind: "reply",
      text: "`snooze` needs a duration: 30m, 4h, 1d (up to 30 days)\nusage: !snooze 30m|4h|1d",
    });
  });

  it("puts commands in option groups only where they are picked as named options", () => {
    expect(COMMANDS.optionPath("close")).toEqual(["conversation", "close"]);
    expect(COMMANDS.optionPath("label")).toEqual(["customer", "label"]);
    expect(COMMANDS.optionPath("rules list")).toEqual(["rules", "list"]);
    expect(COMMANDS.optionPath("queue")).toEqual(["queue"]);
    expect(COMMANDS.parseOptions(DISCORD, ["conversation", "snooze"], { duration: "4h" })).toEqual({
      kind: "command",
      command: "snooze",
      args: { duration: 4 * 3_600_000 },
    });
    // A group member picked outside its group is still found by its own name; a group alone is not
    // a command.
    expect(COMMANDS.parseOptions(DISCORD, ["close"], {})).toMatchObject({
      kind: "command",
      command: "close",
    });
    expect(COMMANDS.parseOptions(DISCORD, ["conversation"], {})).toMatchObject({ kind: "reply" });
    expect(COMMANDS.parseText(THREAD, "close")).toMatchObject({ kind: "command", command: "close" });
    const cmd = (name: string) =>
      defineCommand({
        name,
        summary: name,
        where: "thread",
        args: {},
        handler: async () => ({ ok: true, text: "" }),
      });
    expect(() => new CommandRegistry([cmd("close")], {}, { close: { summary: "x", members: [] } })).toThrow(
      /also a command/,
    );
    expect(
      () => new CommandRegistry([cmd("close")], {}, { grp: { summary: "x", members: ["open"] } }),
    ).toThrow(/not a one-word command/);
  });

  it("writes each surface's help from the same entries", () => {
    const help = COMMANDS.help(THREAD);
    expect(help.split("\n")[0]).toBe("Commands in this thread:");
    expect(help).toContain("• !snooze 30m|4h|1d: set the conversation aside");
    expect(help).toContain("• !delete: delete this thread's comment on Instagram for good (admins)");
    expect(help).toContain("• !help: this list");
    expect(help.split("\n").at(-1)).toBe("Start a message with // to keep it internal.");
    expect(COMMANDS.help(DISCORD)).toContain(
      "• `/ig conversation snooze duration` — set the conversation aside for a while; the customer's next message ends it (in a conversation's thread)",
    );
    // Typed, a grouped command keeps its own name.
    expect(COMMANDS.help(SLACK)).not.toContain("conversation snooze");
    for (const surface of [SLACK, DISCORD, THREAD])
      for (const c of COMMANDS.offered(surface)) expect(help + COMMANDS.help(surface)).toContain(c.summary);
  });
});

describe("a registry", () => {
  const run = async () => ({ ok: true, text: "" });
  const cmd = (name: string, where: "channel" | "thread" | "either" = "channel", args = {}) =>
    defineCommand({ name, summary: "x", where, args, handler: run });

  it("takes one channel and one thread command of a name, and no more", () => {
    expect(() => new CommandRegistry([cmd("status"), cmd("status", "thread")])).not.toThrow();
    expect(() => new CommandRegistry([cmd("status"), cmd("status")])).toThrow(/defined twice/);
    expect(() => new CommandRegistry([cmd("status", "either"), cmd("status", "thread")])).toThrow(
      /defined twice/,
    );
  });

  it("refuses a group without a summary, a bad name, and a free text that is not last", () => {
    expect(() => new CommandRegistry([cmd("rules list")])).toThrow(/group rules has no summary/);
    expect(() => new CommandRegistry([cmd("Rules")])).toThrow(/lowercase/);
    expect(() => new CommandRegistry([cmd("help")])).toThrow(/not help/);
    const t = text({ placeholder: "t", description: "t", missing: "needs t", maxLength: 10 });
    expect(() => new CommandRegistry([cmd("say", "channel", { t, a: account() })])).toThrow(/last argument/);
  });

  it("keeps every summary short enough for a Discord description", () => {
    for (const c of COMMANDS.commands)
      expect(`${c.summary} (admins)`.length, c.name).toBeLessThanOrEqual(100);
  });
});
