// What command handlers call in the core. The Inbox provides it: the same actions its buttons and
// shortcuts reach, each with its own admin check and scope check, so a command can add neither a
// way around them nor a second copy of them.

import type { ActionResult, AgentIdentity, Asked } from "../chat/chat-port.ts";
import type { Scope } from "../chat/scope.ts";
import type { ConversationActions } from "../conversations/conversation-actions.ts";
import type { Ownership } from "../conversations/ownership.ts";
import type { Thread } from "../conversations/threads.ts";
import type { Timers } from "../conversations/timers.ts";
import type { Moderation } from "../moderation/moderation.ts";
import type { DataRequests } from "../privacy/data-requests.ts";
import type { RuleActions } from "../rules/rule-actions.ts";
import type { SnippetActions } from "../snippets/snippet-actions.ts";

export interface CommandCore {
  readonly moderation: Moderation;
  readonly dataRequests: DataRequests;
  readonly ruleActions: RuleActions;
  readonly conversations: ConversationActions;
  /** Who owns what: `/ig queue`, `/ig away`, `/ig back`. */
  readonly ownership: Ownership;
  /** `!close 2h` and `!followup 1d TEXT` (conversations/timers.ts). */
  readonly timers: Pick<Timers, "closeLater" | "followup">;
  /** Saved replies: send one, list them, remove one (admins), offer their names. */
  readonly snippets: SnippetActions;
  /** Holds or releases sending for one account of the scope, or all of them (admins). */
  pauseSwitch(
    agent: AgentIdentity,
    kind: "pause" | "resume",
    account: string | undefined,
    scope: Scope,
  ): Promise<ActionResult>;
  /** `/ig find`: the scope's threads by username or message text, for the asker alone. */
  find(agent: AgentIdentity, scope: Scope, query: string): Promise<ActionResult>;
  /** Sending state and queues of the scope's accounts. */
  channelStatus(agent: AgentIdentity, scope: Scope): Promise<ActionResult>;
  /** Posts the digest of the scope's accounts into the channel it was asked in (admins). */
  digest(asked: Asked, span: "24h" | "7d"): Promise<ActionResult>;
  /** The thread's window, held and failed replies. */
  threadStatus(thread: Thread): Promise<string>;
  /** Sends the thread's last failed reply again. */
  retryLast(thread: Thread): Promise<string>;
  /** After a reply sent by a command (a saved reply): the first reply takes an unassigned
   * conversation; the line for the agent alone when someone else owns it. */
  afterReply(thread: Thread, agent: AgentIdentity): Promise<string | undefined>;
}
