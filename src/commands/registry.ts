// The commands, in one list, and everything read from it: text parsing (`/ig` text, `!commands`),
// named-option parsing (a platform's slash command options), help, and the command an action names.
// Where a command is offered depends on the surface it is used from, described below in
// platform-free terms; adapters pick the surface that fits their platform.

import type { CommandAction } from "../chat/chat-port.ts";
import { type Arg, quote } from "./args.ts";
import type { Command } from "./define.ts";
import { restOf, tokenize } from "./tokenize.ts";

/** How commands reach the core from one place of a platform. */
export interface Surface {
  /** What a command starts with there: `/ig ` or `!`. */
  prefix: string;
  /** `slash`: the platform's `/ig` command: channel commands, and thread commands too where the
   * platform runs it inside threads. `thread`: `!commands` typed in a thread: thread commands. */
  kind: "slash" | "thread";
  /** A slash command the platform also runs inside threads (where arguments such as the
   * customer may be left out for the thread's own). */
  inThreads: boolean;
  /** Arguments typed as text, or picked as named options. */
  input: "text" | "options";
  /** Help and answers as markup (code spans, a bold title) or as plain text. */
  style: "markup" | "plain";
  bold(text: string): string;
  /** Escapes text for the platform's markup (the adapter's own escaping). */
  escape(text: string): string;
  /** Lines after the help list (what else works there). */
  footer: readonly string[];
}

/** `!commands` typed in a mirrored thread; answers are plain text the adapter escapes. */
export function threadSurface(notePrefix: string): Surface {
  return {
    prefix: "!",
    kind: "thread",
    inThreads: true,
    input: "text",
    style: "plain",
    bold: (t) => t,
    escape: (t) => t,
    footer: [`Start a message with ${notePrefix} to keep it internal.`],
  };
}

/** Commands gathered under a group where they are picked as named options (a platform's limit on
 * subcommands), while keeping their own names where they are typed. */
export interface OptionGroup {
  summary: string;
  /** Names of one-word commands. */
  members: readonly string[];
}

/** A command to hand the core (a `command` action), or the answer to give right away. */
export type ParsedCommand = CommandAction | { kind: "reply"; text: string };

export class CommandRegistry {
  readonly commands: readonly Command[];
  /** Groups of commands (`rules` of `rules list`, `rules enable`…) and what they are about. */
  readonly groups: Readonly<Record<string, string>>;
  /** Groups that exist only where commands are picked as named options. */
  readonly optionGroups: Readonly<Record<string, OptionGroup>>;

  constructor(
    commands: readonly Command[],
    groups: Readonly<Record<string, string>> = {},
    optionGroups: Readonly<Record<string, OptionGroup>> = {},
  ) {
    this.commands = commands;
    this.groups = groups;
    this.optionGroups = optionGroups;
    for (const [group, { members }] of Object.entries(optionGroups)) {
      if (groups[group] !== undefined || commands.some((c) => c.name === group))
        throw new Error(`option group ${group} is also a command or a group`);
      for (const m of members)
        if (m.includes(" ") || !commands.some((c) => c.name === m))
          throw new Error(`option group ${group}: ${m} is not a one-word command`);
    }
    const seen = new Set<string>();
    for (const c of commands) {
      // One channel and one thread command may share a name (`status` of the channel, of the
      // thread); the surface says which is meant.
      const keys =
        c.where === "either" ? [`channel:${c.name}`, `thread:${c.name}`] : [`${c.where}:${c.name}`];
      if (keys.some((k) => seen.has(k))) throw new Error(`command ${c.name} defined twice`);
      for (const k of keys) seen.add(k);
      if (!/^[a-z][a-z-]*( [a-z][a-z-]*)?$/.test(c.name) || c.name === "help")
        throw new Error(`command name ${c.name}: one or two lowercase words, not help`);
      const group = c.name.split(" ")[0] as string;
      if (c.name.includes(" ") && this.groups[group] === undefined)
        throw new Error(`command ${c.name}: group ${group} has no summary`);
      const args = Object.values(c.args);
      if (args.slice(0, -1).some((a) => a.rest))
        throw new Error(`command ${c.name}: only the last argument takes the rest`);
    }
  }

  /** The commands offered on `surface`, in order (help is offered everywhere, last). */
  offered(surface: Surface): Command[] {
    const channel = this.commands.filter((c) => c.where !== "thread");
    const thread = this.commands.filter((c) => c.where !== "channel");
    if (surface.kind === "thread") return thread;
    if (!surface.inThreads) return channel;
    const taken = new Set(channel.map((c) => c.name));
    return this.commands.filter((c) => c.where !== "thread" || !taken.has(c.name));
  }

  /** Where named options pick `name`: its option group and its name, or its own words. */
  optionPath(name: string): string[] {
    for (const [group, { members }] of Object.entries(this.optionGroups))
      if (members.includes(name)) return [group, name];
    return name.split(" ");
  }

  find(surface: Surface, name: string): Command | undefined {
    return this.offered(surface).find((c) => c.name === name);
  }

  /** The command a `command` action names: as every slash surface offers it (a channel
   * command before a thread command of the same name). */
  forAction(name: string): Command | undefined {
    return (
      this.commands.find((c) => c.name === name && c.where !== "thread") ??
      this.commands.find((c) => c.name === name)
    );
  }

  /** Text after the prefix (`pause @brand`, `snooze 2h`) → the command, or the answer to give. */
  parseText(surface: Surface, line: string): ParsedCommand {
    const tokens = tokenize(line);
    const head = tokens[0]?.text.toLowerCase();
    if (head === undefined || head === "help") return this.reply(surface, this.help(surface));
    let name = head;
    let used = 1;
    if (this.groups[head] !== undefined) {
      const sub = tokens[1]?.text.toLowerCase();
      const subs = this.offered(surface)
        .filter((c) => c.name.startsWith(`${head} `))
        .map((c) => c.name.slice(head.length + 1));
      if (sub === undefined) return this.reply(surface, `${quote(head)} needs one of: ${subs.join(", ")}`);
      if (!subs.includes(sub))
        return this.reply(
          surface,
          `unknown ${head} command ${quote(tokens[1]?.text ?? "")}; try ${surface.prefix}help`,
        );
      name = `${head} ${sub}`;
      used = 2;
    }
    const command = this.find(surface, name);
    if (!command) return this.unknown(surface, tokens[0]?.text ?? "");
    const values: Record<string, unknown> = {};
    let at = used;
    for (const [key, arg] of Object.entries(command.args)) {
      let raw: string | undefined;
      if (arg.rest) {
        raw = restOf(line, tokens, at);
        at = tokens.length;
      } else raw = tokens[at++]?.text;
      const parsed = this.value(surface, command, arg, raw);
      if (!parsed.ok) return this.refuse(surface, command, parsed.error);
      values[key] = parsed.value;
    }
    const extra = tokens[used];
    if (at < tokens.length && extra) {
      const got = quote(line.slice(extra.start).trim());
      return this.refuse(surface, command, `${quote(command.name)} takes ${arity(command)}; got ${got}`);
    }
    return { kind: "command", command: command.name, args: values };
  }

  /** A command picked with named options (`path`: the group, if any, and the command) → the
   * command, or the answer to give. Options it does not take are ignored. */
  parseOptions(
    surface: Surface,
    path: readonly string[],
    options: Readonly<Record<string, string | undefined>>,
  ): ParsedCommand {
    const [head, member] = path.map((p) => p.toLowerCase());
    const grouped =
      head !== undefined && member !== undefined && this.optionGroups[head]?.members.includes(member);
    const name = grouped ? member : path.join(" ").toLowerCase();
    if (name === "" || name === "help") return this.reply(surface, this.help(surface));
    const command = this.find(surface, name);
    if (!command) return this.unknown(surface, name);
    const values: Record<string, unknown> = {};
    for (const [key, arg] of Object.entries(command.args)) {
      const parsed = this.value(surface, command, arg, options[key]);
      if (!parsed.ok) return this.refuse(surface, command, parsed.error);
      values[key] = parsed.value;
    }
    return { kind: "command", command: command.name, args: values };
  }

  /** The help of `surface`: each command it offers, its usage and what it does. */
  help(surface: Surface): string {
    const title =
      surface.kind === "thread"
        ? "Commands in this thread:"
        : `${surface.bold(surface.prefix.trim())} commands:`;
    const lines = this.offered(surface).map((c) => {
      let summary = c.summary;
      if (c.admin) summary += " (admins)";
      if (c.where === "thread" && surface.kind === "slash") summary += " (in a conversation's thread)";
      return helpLine(surface, this.usageOf(surface, c), summary);
    });
    return [title, ...lines, helpLine(surface, "help", "this list"), ...surface.footer].join("\n");
  }

  /** `name` and its arguments as `surface` shows them: `digest [24h|7d]`, `digest [span]`. */
  usage(surface: Surface, command: Command): string {
    return this.usageOf(surface, command);
  }

  private usageOf(surface: Surface, command: Command): string {
    const name = surface.input === "options" ? this.optionPath(command.name).join(" ") : command.name;
    return usage(surface, command, name);
  }

  private value(surface: Surface, command: Command, arg: Arg<unknown>, raw: string | undefined) {
    const typed = raw?.trim() ?? "";
    if (typed === "") {
      return isOptional(surface, arg)
        ? { ok: true as const, value: arg.fallback }
        : { ok: false as const, error: `${quote(command.name)} ${arg.missing}` };
    }
    return arg.parse(typed, command.name);
  }

  private refuse(surface: Surface, command: Command, error: string): ParsedCommand {
    const line = `${surface.prefix}${this.usageOf(surface, command)}`;
    return this.reply(surface, `${error}\nusage: ${surface.style === "markup" ? `\`${line}\`` : line}`);
  }

  private unknown(surface: Surface, name: string): ParsedCommand {
    const what = surface.kind === "slash" ? "subcommand" : "command";
    return this.reply(surface, `unknown ${what} ${quote(name)}; try ${surface.prefix}help`);
  }

  private reply(surface: Surface, text: string): ParsedCommand {
    return { kind: "reply", text: surface.escape(text) };
  }
}

function usage(surface: Surface, command: Command, name: string = command.name): string {
  const args = Object.entries(command.args).map(([key, arg]) => ({
    shown: surface.input === "options" ? key : arg.placeholder,
    optional: isOptional(surface, arg),
  }));
  // Named options are listed as platforms show them: the required ones first.
  if (surface.input === "options") args.sort((a, b) => Number(a.optional) - Number(b.optional));
  return [name, ...args.map((a) => (a.optional ? `[${a.shown}]` : a.shown))].join(" ");
}

function helpLine(surface: Surface, usageText: string, summary: string): string {
  return surface.style === "markup"
    ? `• \`${surface.prefix}${usageText}\` — ${summary}`
    : `• ${surface.prefix}${usageText}: ${summary}`;
}

/** "no arguments", "at most one account", "one customer and one of granted, revoked". */
function arity(command: Command): string {
  const args = Object.values(command.args);
  if (args.length === 0) return "no arguments";
  return args
    .map((a) => {
      const what = a.choices ? `of ${a.choices.map((c) => c.value).join(", ")}` : a.noun;
      return `${a.optional === true ? "at most one" : "one"} ${what}`;
    })
    .join(" and ");
}

/** Optional where it is used: always, or inside threads for one the thread stands in for. */
export function isOptional(surface: Surface, arg: Arg<unknown>): boolean {
  return arg.optional === true || (arg.optional === "in-thread" && surface.inThreads);
}
