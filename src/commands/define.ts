// What a command is: its name, what it does in one line, its typed arguments, where it works,
// whether only admins may run it, and its handler. The handler's argument types come from `args`,
// and a thread command's handler gets the thread, so neither can be got wrong in a definition.

import type { ActionResult, Asked, ChatMessageRef, ThreadRef } from "../chat/chat-port.ts";
import type { Scope } from "../chat/scope.ts";
import type { Thread } from "../conversations/threads.ts";
import type { Arg } from "./args.ts";
import type { CommandCore } from "./core.ts";

/** `channel`: acts on the accounts routed to the channel it is used in (inside a thread where the
 * platform allows it: the thread's channel). `thread`: acts on the mirrored conversation or
 * comment thread it is used in. `either`: works in both. */
export type Where = "channel" | "thread" | "either";

export interface CommandResult extends ActionResult {
  /** The text is for everyone in the thread (who closed or assigned the conversation): typed as
   * a `!command` it is the command's answer there; asked any other way, the core posts it in the
   * thread and the asker needs no answer of their own. */
  announce?: boolean;
  /** The text is for the asker only, also when typed as a `!command` (where answers are usually
   * the thread's). */
  privately?: boolean;
}

interface BaseContext {
  asked: Asked;
  core: CommandCore;
  /** The accounts routed to the channel it was asked in (chat/scope.ts): all a command may reach. */
  scope(): Promise<Scope>;
}

export interface ChannelContext extends BaseContext {}

export interface ThreadContext extends BaseContext {
  thread: Thread;
  ref: ThreadRef;
  /** The agent's chat message, when the command was typed in the thread (`!name`). */
  message?: ChatMessageRef;
}

export interface EitherContext extends BaseContext {
  thread?: Thread;
}

export type ContextOf<W extends Where> = W extends "thread"
  ? ThreadContext
  : W extends "channel"
    ? ChannelContext
    : EitherContext;

export type Args = Record<string, Arg<unknown>>;

export type ArgValues<A extends Args> = { [K in keyof A]: A[K] extends Arg<infer T> ? T : never };

export interface CommandSpec<A extends Args, W extends Where> {
  /** One word, or a group and a word (`rules enable`). */
  name: string;
  /** What it does, in a line that completes "• /ig name — …" (90 characters at most: a platform
   * may show it as an option's description, limited to 100, with " (admins)" after it). */
  summary: string;
  where: W;
  /** Only ADMIN_USERS may run it: shown in help; the action itself refuses everyone else. */
  admin?: boolean;
  /** In order: text is typed in this order, options are named by these keys. */
  args: A;
  handler(ctx: ContextOf<W>, args: ArgValues<A>): Promise<CommandResult>;
}

/** A command with its types erased, as the registry holds it. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly where: Where;
  readonly admin: boolean;
  readonly args: Readonly<Record<string, Arg<unknown>>>;
  run(
    ctx: EitherContext & Partial<ThreadContext>,
    args: Readonly<Record<string, unknown>>,
  ): Promise<CommandResult>;
}

export function defineCommand<const A extends Args, const W extends Where>(spec: CommandSpec<A, W>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    where: spec.where,
    admin: spec.admin === true,
    args: spec.args,
    // The registry parsed `args` with these very specs and dispatch checked the thread for a
    // thread command, so the values and the context have the types the handler was written for.
    run: (ctx, args) => spec.handler(ctx as ContextOf<W>, args as ArgValues<A>),
  };
}
