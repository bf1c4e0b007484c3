// The kinds of argument a command takes, each with the one parser that turns what was typed (or
// picked) into a typed value or a precise error. The same parser serves `/ig` text, `!commands`
// and a platform's named options; how an argument shows (a text placeholder, an option with
// choices or a member picker) is read from the same object.

import type { Asked, CompletionChoice } from "../chat/chat-port.ts";
import type { Scope } from "../chat/scope.ts";
import { labelError } from "../conversations/customer-context.ts";
import type { Thread } from "../conversations/threads.ts";
import { parseInstagramTarget } from "../instagram/links.ts";
import type { CommandCore } from "./core.ts";
import { durationArg } from "./durations.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Choice<V extends string = string> {
  value: V;
  /** What a platform's choice list shows; the value is what is typed. */
  label: string;
}

export interface Arg<T> {
  /** The argument in a text usage line: `<comment link|id>`, `@username|id`, `24h|7d`. */
  placeholder: string;
  /** The option's description where a platform shows one (100 characters at most). */
  description: string;
  /** A well-formed value as typed, for tests and docs that run every command. */
  example: string;
  /** What one of it is called, for "`name` takes at most one account". */
  noun: string;
  /** Completes "`name` …" when the argument is needed and left out. */
  missing: string;
  /** `in-thread`: optional only where the command is used inside a thread, which stands in for it
   * (a customer left out means the thread's customer). */
  optional: boolean | "in-thread";
  /** The value when left out where it is optional. */
  fallback: T;
  /** Takes the rest of the line as typed (a free text, a name with spaces). Last argument only. */
  rest: boolean;
  maxLength?: number;
  /** A closed set: shown as choices where a platform has them. */
  choices?: readonly Choice[];
  /** A person of the chat: a member picker where a platform has one. */
  picker?: "member";
  /** Values offered as the person types (a platform's autocomplete, a modal's menu), read from
   * the core: an open set, unlike `choices`. */
  complete?(ctx: CompletionContext, typed: string, limit: number): Promise<CompletionChoice[]>;
  parse(raw: string, command: string): Parsed<T>;
}

/** What a completion may read: where it was asked, and the core. */
export interface CompletionContext {
  asked: Asked;
  core: CommandCore;
  /** The mirrored thread it was asked in, if any. */
  thread?: Thread;
  scope(): Promise<Scope>;
}

/** A value quoted back in an answer: backticks would break out of the code span, so they go. */
export function quote(raw: string): string {
  return `\`${raw.replace(/`/g, "")}\``;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (error: string): Parsed<never> => ({ ok: false, error });

/** An Instagram username (with or without @) or a numeric id. */
const INSTAGRAM_NAME = /^@?([A-Za-z0-9._]{1,30})$/;

/** One of the channel's Instagram accounts; the value is the username or id without its @. */
export function account(): Arg<string | undefined> {
  return {
    placeholder: "account",
    example: "brand",
    noun: "account",
    description: "Instagram username or account id (default: every account of this channel)",
    missing: "needs an account: a username or an id",
    optional: true,
    fallback: undefined,
    rest: false,
    maxLength: 64,
    parse(raw) {
      const name = INSTAGRAM_NAME.exec(raw)?.[1];
      return name ? ok(name) : fail(`${quote(raw)} is not an Instagram account (a username or an id)`);
    },
  };
}

/** A customer, by @username or id, as typed; "" (left out inside a thread) is the thread's. */
export function customer(): Arg<string> {
  return {
    placeholder: "@username|id",
    example: "@customer_01",
    noun: "customer",
    description: "@username or id (default: this thread's customer)",
    missing: "takes one customer: an @username or an id",
    optional: "in-thread",
    fallback: "",
    rest: false,
    maxLength: 64,
    parse(raw) {
      return INSTAGRAM_NAME.test(raw)
        ? ok(raw)
        : fail(`${quote(raw)} is not an Instagram user (an @username or an id)`);
    },
  };
}

/** A comment or a post, by link or id, as typed: the core finds it (and refuses another channel's). */
export function target(what: "comment" | "post"): Arg<string> {
  const kind = what === "comment" ? "comment link or id" : "post link or media id";
  return {
    placeholder: what === "comment" ? "<comment link|id>" : "<post link|media id>",
    example: what === "comment" ? "17850000000000001" : "17900000000000001",
    noun: what,
    description:
      what === "comment"
        ? "A comment's Instagram link (…/p/SHORTCODE/c/ID/) or its id"
        : "A post's or reel's Instagram link, or its media id",
    missing: `needs a target: a ${kind}`,
    optional: false,
    fallback: "",
    rest: false,
    maxLength: 300,
    parse(raw) {
      return parseInstagramTarget(raw) ? ok(raw) : fail(`${quote(raw)} is not a ${kind}`);
    },
  };
}

/** A free text: the rest of the line. */
export function text(o: {
  placeholder: string;
  description: string;
  missing: string;
  maxLength: number;
}): Arg<string> {
  return {
    ...o,
    noun: "text",
    example: "how much is it?",
    optional: false,
    fallback: "",
    rest: true,
    parse(raw) {
      return ok(raw.trim());
    },
  };
}

/** "30m", "4h", "1d", "45s" → milliseconds, up to 30 days. */
/** `optional`: left out, the value is 0 (now: `!close` closes at once, `!close 2h` later). */
export function duration(o: { optional?: boolean; description?: string } = {}): Arg<number> {
  const forms = "30m, 4h, 1d (up to 30 days)";
  return {
    placeholder: "30m|4h|1d",
    example: "2h",
    noun: "duration",
    description: o.description ?? "30m, 4h, 1d… (up to 30 days)",
    missing: `needs a duration: ${forms}`,
    optional: o.optional === true,
    fallback: 0,
    rest: false,
    maxLength: 8,
    parse(raw) {
      const ms = durationArg(raw);
      return ms === undefined ? fail(`${quote(raw)} is not a duration: ${forms}`) : ok(ms);
    },
  };
}

/** Who, among the people of the chat: `me`, or a name as the platform shows it (a picked member
 * arrives as `@Display Name`). */
export type Member = { self: true } | { self: false; name: string };

export function member(): Arg<Member> {
  return {
    placeholder: "@name|me",
    example: "me",
    noun: "member",
    description: "The member who takes the conversation",
    missing: "needs who: an @name, a name or me",
    optional: false,
    fallback: { self: true },
    rest: true,
    maxLength: 100,
    picker: "member",
    parse(raw) {
      const name = raw.trim().replace(/^@/, "").trim();
      if (name === "") return fail(`${quote(raw)} is not a name`);
      return name.toLowerCase() === "me" ? ok({ self: true }) : ok({ self: false, name });
    },
  };
}

/** One of a closed set, typed in any case; `fallback` makes it optional. */
export function choice<const V extends string>(o: {
  choices: readonly Choice<V>[];
  description: string;
}): Arg<V>;
export function choice<const V extends string>(o: {
  choices: readonly Choice<V>[];
  description: string;
  fallback: V;
}): Arg<V>;
export function choice<const V extends string>(o: {
  choices: readonly Choice<V>[];
  description: string;
  fallback?: V;
}): Arg<V> {
  const values = o.choices.map((c) => c.value);
  const takes = `takes ${values.join(" or ")}${o.fallback === undefined ? "" : ` (default ${o.fallback})`}`;
  return {
    placeholder: values.join("|"),
    example: values[0] as string,
    noun: "value",
    description: o.description,
    missing: takes,
    optional: o.fallback !== undefined,
    fallback: o.fallback ?? (values[0] as V),
    rest: false,
    choices: o.choices,
    parse(raw, command) {
      const value = values.find((v) => v.toLowerCase() === raw.toLowerCase());
      return value === undefined ? fail(`${quote(command)} ${takes}`) : ok(value);
    },
  };
}

const RULE_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** An auto-reply rule's id, as `rules list` shows it. */
export function ruleId(): Arg<string> {
  return {
    placeholder: "<rule id>",
    example: "price",
    noun: "rule id",
    description: "The rule's id",
    missing: "takes one rule id (see /ig rules list)",
    optional: false,
    fallback: "",
    rest: false,
    maxLength: 64,
    parse(raw) {
      return RULE_ID.test(raw) ? ok(raw) : fail(`${quote(raw)} is not a rule id (see /ig rules list)`);
    },
  };
}

const SNIPPET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A saved reply's name; offered as typed from those the thread's account (or, outside a thread,
 * the channel's accounts) can send. */
export function snippetName(): Arg<string> {
  return {
    placeholder: "<name>",
    example: "thanks",
    noun: "saved reply",
    description: "The saved reply's name",
    missing: "needs a saved reply's name (see /ig snippets list)",
    optional: false,
    fallback: "",
    rest: false,
    maxLength: 64,
    async complete(ctx, typed, limit) {
      const accounts = ctx.thread ? [ctx.thread.accountId] : [...(await ctx.scope()).accounts];
      return ctx.core.snippets.complete(accounts, typed, limit);
    },
    parse(raw) {
      const name = raw.replace(/^!!/, "").toLowerCase();
      return SNIPPET_NAME.test(name)
        ? ok(name)
        : fail(`${quote(raw)} is not a saved reply's name (see /ig snippets list)`);
    },
  };
}

/** A free text that may be left out: the rest of the line. */
export function optionalText(o: {
  placeholder: string;
  description: string;
  maxLength: number;
}): Arg<string> {
  return {
    ...o,
    noun: "text",
    example: "see you on Friday",
    missing: "",
    optional: true,
    fallback: "",
    rest: true,
    parse(raw) {
      return ok(raw.trim());
    },
  };
}

/** A customer label: a lowercase slug (`vip`, `wholesale`), as rules and the digest use it. */
export function label(): Arg<string> {
  return {
    placeholder: "label",
    description: "A label: lowercase letters, digits, - or _",
    example: "vip",
    noun: "label",
    missing: "needs the label, e.g. vip",
    optional: false,
    fallback: "",
    rest: false,
    maxLength: 32,
    parse(raw) {
      const slug = raw.trim().toLowerCase();
      const bad = labelError(slug);
      return bad ? { ok: false, error: bad } : ok(slug);
    },
  };
}
