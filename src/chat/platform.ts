import type { Command } from "commander";
import type express from "express";
import type { z } from "zod";
import type { Database } from "../db/database.ts";
import type { ConsoleSession } from "../http/console/session.ts";
import type { Logger } from "../log/logger.ts";
import type {
  ChatAdapter,
  ChatInbox,
  ChatPlatform,
  FileSource,
  MemberDirectory,
  ThreadRef,
} from "./chat-port.ts";
import type { PlatformProbe } from "./health.ts";

// A chat platform as the core sees it (DESIGN.md "Ports and adapters"): everything that differs
// between platforms is declared here by each `adapters/<name>/index.ts`, and the core (config,
// service, CLI, start-up summary, console) iterates over the list `adapters/index.ts` hands to the
// entry point. Nothing in `src/` names a platform; a new one is a new folder in `adapters/`.

/** `slack`, `discord`, …: the key stored in `chat_platform` columns and written before the colon of
 * `platform:id` keys; lower case, digits and dashes (it also names the `--<name>-channel` option). */
export type PlatformName = ChatPlatform;

/** How a platform's channel ids look, for operators typing one (CLI, console). */
export interface ChannelFormat {
  pattern: RegExp;
  /** What a good one looks like, for the refusal: "C0123ABCD", "a number of 17 to 20 digits". */
  example: string;
  /** Where an operator finds the id (the console's hint), one sentence. */
  hint: string;
  /** What to do when the bot cannot post in a channel yet, one sentence; absent: nothing to say. */
  invite?: string;
}

/** A prefix by which ADMIN_USERS and SLA_ON_DUTY name people or groups of this platform. */
export interface RefPrefix {
  prefix: string;
  /** An id for the examples of the error message and the start-up summary. */
  example: string;
  /** What it names, for the ADMIN_USERS documentation, e.g. "a Slack user group (…)"; absent:
   * "a Slack user" / "a Slack group". */
  what?: string;
}

export interface PlatformRefs {
  /** `slack:U0123ABCD`: one person, matched against the agent's id. */
  user: RefPrefix;
  /** `slack-group:S0123ABCD`: a group whose members arrive as the agent's `roles` (Slack user
   * groups, Discord roles); absent where the platform has none. */
  group?: RefPrefix;
}

/** What the core gives a platform when it creates one. */
export interface PlatformContext {
  log: Logger;
  inbox: ChatInbox;
  /** This platform's groups named in ADMIN_USERS (its `refs.group` entries), for platforms that
   * must look membership up themselves. */
  adminGroups: readonly string[];
  /** The roles this process runs. A platform builds and loads only what they use: `router` is
   * mounted by the web role alone, `leader` work runs in a worker alone, and a role that posts only
   * now and then can take a `LazyAdapter` (chat/lazy-adapter.ts) whose SDK loads on first use. */
  roles: { web: boolean; worker: boolean };
  /** The service's database, for a platform that keeps its threads there (a web inbox: its own
   * tables, from its own migration). */
  db: Database;
  /** The console's sign-in, for a platform whose `router` serves pages to the console's users;
   * undefined while no console login is configured (its pages then answer as the console does). */
  console: ConsoleGate | undefined;
  publicUrl: string;
}

/** The console's session and CSRF checks, lent to a platform's pages (src/http/console/). */
export interface ConsoleGate {
  /** The signed-in session; otherwise the answer (sign-in redirect, refusal) is sent and undefined
   * returned. */
  signedIn(req: express.Request, res: express.Response): Promise<ConsoleSession | undefined>;
  /** A POST carries the session's CSRF token (`_csrf`) and, if any, the console's own Origin. */
  csrfOk(req: express.Request, session: ConsoleSession): boolean;
  /** The session has ended since (signed out, expired): what it holds open (an event stream) closes. */
  ended(session: ConsoleSession): Promise<boolean>;
}

/** What a platform keeps in this database of people's messages, for the daily retention pass. */
export interface StoredCopies {
  /** Erases the texts, pictures and files of messages made before `before`, as the retention pass
   * erases the messages' own (RETENTION_MESSAGE_DAYS); resolves with how many it erased. */
  purge(before: Date): Promise<number>;
  /** For a customer's export: the messages of these threads (theirs), as plain rows, leaving out
   * the copies in `leaveOut` (chat refs of other customers' comments). */
  export(threads: readonly ThreadRef[], leaveOut: ReadonlySet<string>): Promise<Record<string, unknown>[]>;
}

/** A page a platform adds to the console's navigation (the web inbox). */
export interface ConsolePage {
  href: string;
  label: string;
}

/** Work that runs in one process of the deployment at a time, chosen by leader election (a
 * gateway connection that must not be opened twice). */
export interface LeaderWork {
  /** The election's lock name, unique per deployment. */
  role: string;
  /** Became the leader; `since`: catch up on what happened after this moment (a hand-over). */
  connect(since?: Date): Promise<void>;
  disconnect(): Promise<void>;
}

/** One configured platform, running in this process. */
export interface PlatformRuntime {
  /** Posting: usable in every process. */
  adapter: ChatAdapter;
  /** Agents' uploads, for platforms where they can attach files. */
  files?: FileSource;
  /** Groups' members, for platforms with groups (automatic assignment's pools). */
  members?: MemberDirectory;
  /** HTTP endpoints the platform calls (events, interactions), mounted by the web role before any
   * body parser. */
  router?: express.Router;
  /** Present when part of the platform runs in the elected worker only. */
  leader?: LeaderWork;
  /** Waits for work still running (graceful shutdown). */
  close?(): Promise<void>;
  /** Copies of what people wrote that the platform keeps in this database (the web inbox). */
  stored?: StoredCopies;
  /** Ends the long-lived answers of `router` (event streams), called as the HTTP server starts to
   * close, so it need not wait for them. */
  hangUp?(): void;
  /** Pages of `router` linked from the console's navigation. */
  consolePages?: readonly ConsolePage[];
}

/** What a platform's probe gets from the core. */
export interface ProbeContext {
  log: Logger;
}

/** What the start-up summary may mention besides the platform's own settings. */
export interface SummaryContext {
  publicUrl: string;
  leaderIntervalMs: number;
}

/** What a platform's CLI subcommands get from the core. */
export interface PlatformCliContext<Settings> {
  /** Reads the configuration; a usage error saying how to turn the platform on when it is off. */
  settings(): Settings;
  /** An error the CLI reports as a usage error (exit 64) with this one line. */
  usage(message: string): Error;
}

/** One chat platform's plug-in, as the core holds it in a list. Methods (not function properties)
 * so that descriptors of different `Settings` fit in one `PlatformDescriptor[]`. */
export interface PlatformDescriptor<Settings = unknown> {
  readonly name: PlatformName;
  /** For people: "Slack". */
  readonly label: string;
  /** Its environment variables (`variable(schema, doc)` each, src/config/env-schema.ts), checked
   * with the rest: a malformed one stops start-up with one line naming it. Documented under the
   * platform's label (`npm run config-docs`). */
  readonly env: z.ZodRawShape;
  /** The variables that turn it on: none set, off; all set, on; some, a configuration error naming
   * the missing ones. An empty list: always on. */
  readonly credentials: readonly string[];
  readonly channel: ChannelFormat;
  readonly refs: PlatformRefs;
  /** The only groups an assignment pool (`--assign-pool`) may name here, where they are a fixed set
   * (the web inbox: `all`, `admins`, `agents`); absent: any group id, read when assigning. */
  readonly poolGroups?: readonly string[];
  /** Request headers carrying credentials or signatures, redacted from logs. */
  readonly secretHeaders?: readonly string[];
  /** How `threadbridge demo` turns it on, on one machine with no chat workspace and no account
   * anywhere: the variables (its credentials) to set. Absent: the demo cannot run on it. The demo
   * takes the first platform of the list that has this. */
  readonly demo?: { readonly env: Readonly<Record<string, string>> };
  /** Its settings once every credential is set, from the parsed environment; may throw ConfigError
   * (`credential` of config/env-schema.ts reads one that must be set). */
  settings(env: Record<string, unknown>): Settings;
  /** The start-up line after "name: on (", e.g. "API https://slack.com/api/, 1 post/s per channel". */
  summary(settings: Settings, context: SummaryContext): string;
  /** Builds what runs in this process (asynchronous, so a platform's SDK loads only when used). */
  create(settings: Settings, context: PlatformContext): Promise<PlatformRuntime>;
  /** Its health checks (the token and the app's setup, a destination), usable without `create`: the
   * start-up line, `/readyz`, `doctor` and the CLI's destination warnings ask through it, and held
   * destinations are let go when it passes. Absent: the platform is never checked. Loads its SDK
   * lazily, like `create`. */
  probe?(settings: Settings, context: ProbeContext): PlatformProbe;
  /** Its own CLI subcommands (e.g. registering slash commands), added to `program`. */
  cli?(program: Command, context: PlatformCliContext<Settings>): void;
}

/** A descriptor as written in `adapters/<name>/index.ts`: its `settings` sees its own variables,
 * typed from `env`, and `credentials` can only name them. */
export interface PlatformDefinition<Settings, Shape extends z.ZodRawShape>
  extends Omit<PlatformDescriptor<Settings>, "env" | "credentials" | "settings"> {
  readonly env: Shape;
  readonly credentials: readonly (keyof Shape & string)[];
  settings(env: z.infer<z.ZodObject<Shape>>): Settings;
}

/** A platform whose credentials are set, with its settings. */
export interface ConfiguredPlatform {
  readonly descriptor: PlatformDescriptor;
  readonly settings: unknown;
}

/** The descriptor of a definition. The core calls `settings` with the environment parsed by a
 * schema that includes `env`, so the values are those `env` describes. */
export function definePlatform<Settings, Shape extends z.ZodRawShape>(
  definition: PlatformDefinition<Settings, Shape>,
): PlatformDescriptor<Settings> {
  return { ...definition, settings: (env) => definition.settings(env as z.infer<z.ZodObject<Shape>>) };
}
