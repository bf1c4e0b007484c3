// The contract suite's view of one chat platform: a whole service (real core, real database, the
// fake Graph API) with one Instagram account routed to one channel of the platform's fake, and the
// things people do there, in the platform's own protocol underneath. Scenarios in test/contract/
// are written once against this interface and run on every platform of ./platforms/index.ts;
// what only one platform has (Block Kit shapes, forum tags, ephemeral flags…) is tested in
// test/adapters/<name>/.

import type { Service } from "../../src/service.ts";
import type { GraphServer, RecordedRequest } from "../fakes/graph-server.ts";
import type { Backend, TestEnv } from "../helpers/service.ts";

/** Someone in chat the harness acts for. */
export interface ChatPerson {
  /** The platform's user id: what `platform:id` keys (audit actors, ADMIN_USERS) hold. */
  id: string;
  /** The name the core writes about them ("Ana closed this conversation"). */
  name: string;
}

/** A message as the platform holds it. */
export interface Posted {
  /** The platform's ref of the message (`messages.chat_ref` for an agent's reply). */
  id: string;
  /** Its text as the platform stores it (with the platform's markup). */
  text: string;
  /** Everything it shows (text, blocks or embeds, footers, buttons) as one string to search. */
  shows: string;
  /** The name and picture it is posted under, where it has its own (mirrored posts). */
  author?: { name: string; icon?: string };
  /** Written by the bridge (roots, mirrored posts, notices) rather than by a person. */
  fromBridge: boolean;
  /** Changed since it was posted. */
  edited: boolean;
  /** The ids of the buttons and menus it offers, without the value an id may carry. */
  actions: string[];
}

/** A file an agent attaches to a message. */
export interface AgentUpload {
  name: string;
  mimeType: string;
  data: Buffer;
}

/** What a command answered the person who ran it. */
export interface Answer {
  /** Plain text: the platform's escaping taken off. */
  text: string;
  /** A file that came with the answer, and the only person who can see it (undefined: others
   * can too). */
  file?: { name: string; mimeType: string | undefined; content: string; onlyFor: string | undefined };
}

/** An asymmetric matcher of a string (what `expect.stringMatching` returns). */
export interface TextMatcher {
  asymmetricMatch(other: unknown): boolean;
}

export type DeliveryState = "sent" | "failed" | "held";
export type Mark = "pending" | "held" | "sent" | "failed";

export interface ChatHarness {
  /** The descriptor's name: what `chat_platform` holds and what precedes the colon of keys. */
  readonly platform: string;
  /** The Instagram account routed to `channel`; its username is "brand". */
  readonly account: string;
  readonly channel: string;
  /** A channel of the same workspace or server that no account is routed to. */
  readonly otherChannel: string;
  readonly agent: ChatPerson;
  /** Named in ADMIN_USERS (directly or through a group). */
  readonly admin: ChatPerson;
  /** A group of the platform (a Slack user group, a Discord role, the web inbox's `all` console
   * users) whose members are `agent` and `admin`: an account's assignment pool. Undefined on a
   * platform without groups, where automatic assignment has no pool to draw from. */
  readonly pool: string | undefined;
  /** `/ig` runs inside a thread (and knows its conversation); else only in channels. */
  readonly commandsInThreads: boolean;
  /** Erasing a thread deletes people's own messages in it too (else only what the bridge
   * posted: a bot may not delete people's messages everywhere). */
  readonly erasesPeoplesMessages: boolean;
  /** Why people cannot answer one message of a thread here (a quote, a reply to it); undefined
   * where they can (`agentSays` with `quoting`). */
  readonly cannotQuote: string | undefined;
  readonly graph: GraphServer;
  readonly t: TestEnv;
  readonly service: Service;
  url(): string;
  /** Stops the service and starts it again on the same database and fakes. */
  restart(): Promise<void>;
  close(): Promise<void>;
  /** `platform:id` of a person, as audit entries and stored messages name them. */
  key(person: ChatPerson): string;
  /** Send API calls the fake Graph received, in order. */
  sends(): RecordedRequest[];

  // ——— what the bridge made ———

  /** The thread of a customer's conversation with `account`, once it exists. */
  threadOf(customer: string): Promise<string>;
  /** The thread of a top-level comment, once it exists. */
  commentThreadOf(rootCommentId: string): Promise<string>;
  /** The thread's root; undefined once deleted. */
  root(thread: string): Posted | undefined;
  /** The thread's messages after the root, deleted ones left out, once there are at least `n`. */
  posts(thread: string, n: number): Promise<Posted[]>;
  /** Every message of the thread, the root first, deleted ones left out; [] once the thread is gone. */
  messages(thread: string): Posted[];
  /** One message of the thread; undefined once deleted. */
  message(thread: string, id: string): Posted | undefined;
  /** How many threads `channel` holds. */
  threadCount(): number;
  /** How many times a thread was opened whose root mentions `text` (a thread opened twice
   * counts twice, even when one copy was deleted). */
  threadsOpened(text: string): number;
  /** Matches `Posted.text` of a mirrored message that says `text`, as the platform writes it
   * (usable in `toEqual` and with `asymmetricMatch`). */
  said(text: string): TextMatcher;
  /** The emoji people or the bridge put on a message (each with at least one reactor). */
  reactions(thread: string, message: string): string[];
  /** Whether the delivery mark is on an agent's message. */
  marked(thread: string, message: string, mark: Mark): boolean;

  // ——— what people do ———

  /** An agent writes in the thread; resolves with the message's ref once the platform has
   * handed it to the service. With `quoting`, the agent answers that message of the thread with
   * the platform's own gesture (Slack's quote shortcut, a Discord reply); the ref is then of the
   * message that carries the reply and its delivery mark. */
  agentSays(
    thread: string,
    text: string,
    options?: { as?: ChatPerson; files?: AgentUpload[]; quoting?: string },
  ): Promise<string>;
  /** An agent opens the thread, where that is something the bridge sees (the web inbox's thread
   * page); undefined where it is not. */
  agentOpens?(thread: string, as?: ChatPerson): Promise<void>;
  /** An agent starts typing in the thread, where the platform tells the bridge (Discord's typing
   * event); undefined where it does not. */
  agentTypes?(thread: string, as?: ChatPerson): Promise<void>;
  /** Someone uses the button (or, with `pick`, the menu option) `actionId` a message shows. */
  press(
    thread: string,
    message: string,
    actionId: string,
    options?: { as?: ChatPerson; pick?: string },
  ): Promise<void>;
  /** Someone (or the bridge itself) puts `emoji` (✅ ✔️ 👀 🎉) on a message. */
  react(thread: string, message: string, emoji: string, as?: ChatPerson | "bridge"): Promise<void>;
  /** Someone takes their `emoji` off a message. */
  unreact(thread: string, message: string, emoji: string, as?: ChatPerson): Promise<void>;
  /** `/ig name` with its arguments, in the channel (or, where `commandsInThreads`, in a thread);
   * resolves with the answer only the asker sees. */
  command(
    name: string,
    args?: Record<string, string>,
    options?: { as?: ChatPerson; in?: string },
  ): Promise<Answer>;
  /** What the bridge told `person` alone, outside command answers (refusals of a button or an
   * emoji), oldest first. */
  toldPrivately(person: ChatPerson): string[];

  // ——— the database ———

  stateOf(chatRef: string): Promise<{ delivery_state: string; delivery_error: string | null } | undefined>;
  settled(
    chatRef: string,
    state: DeliveryState,
  ): Promise<{ delivery_state: string; delivery_error: string | null }>;
}

export interface StartOptions {
  /** Environment on top of the harness's own. */
  env?: Record<string, string>;
  /** The database: the run's (TEST_BACKEND) unless given. */
  backend?: Backend;
}

/** One platform the contract suite runs on. */
export interface ContractPlatform {
  name: string;
  start(options?: StartOptions): Promise<ChatHarness>;
}
