// The port between the bridge core and a chat platform (DESIGN.md "Ports and adapters").
//
// Outward (core → chat): `ChatAdapter`. The core describes what to show in platform-neutral
// terms (a thread header, a mirrored post, a notice); each adapter renders it its own way (Block
// Kit on Slack, embeds and webhooks on Discord). Inward (chat → core): `ChatInbox`, the one entry
// point through which adapters hand over what agents and moderators do. Nothing in this file, or
// anything that imports it in `src/`, may import a chat SDK.

import type { Digest } from "../digest/digest.ts";
import type { EntryPoint, WindowState } from "../instagram/windows.ts";

// View models the port shares with other parts of the core, re-exported so adapters import one file.
export type { Digest, EntryPoint, WindowState };

/** A chat platform's name (`PlatformDescriptor.name`): open, since platforms are plug-ins. */
export type ChatPlatform = string;

/** A mirrored thread: the channel it lives in and the platform's handle for it (Slack: the root
 * message's ts; Discord: the thread channel's id). */
export interface ThreadRef {
  channel: string;
  thread: string;
}

/** One message on the platform (Slack: its ts; Discord: its message id). */
export type ChatMessageRef = string;

export interface Person {
  /** IGSID. */
  id: string;
  name?: string;
  username?: string;
  pictureUrl?: string;
  /** Only where the User Profile API gives it. */
  followsBusiness?: boolean;
  followerCount?: number;
  verified?: boolean;
}

export interface Link {
  label: string;
  url: string;
}

export interface AccountRef {
  id: string;
  username?: string;
  pictureUrl?: string;
}

export type ConversationStatus = "open" | "closed" | "snoozed";

/** Where a conversation stands in the team's queue (conversations/queue-state.ts): derived from
 * who spoke last and what agents did, shown on the root and in `/ig queue`. */
export type QueueState = "new" | "waiting_on_us" | "waiting_on_customer" | "snoozed" | "closed";

export interface DmHeader {
  kind: "dm";
  account: AccountRef;
  customer: Person;
  window: WindowState;
  status: ConversationStatus;
  /** The queue state the root's badge shows (Slack) or its tags carry (Discord forums). */
  queue?: QueueState;
  assignee?: string;
  /** `revoked` shows a banner: no automated message ever, agents warned. */
  consent: "unknown" | "granted" | "revoked";
  /** When the customer last saw the business's messages: a subtle mark, never a post. */
  seenAt?: Date;
  /** Sending for this account is paused (switch or token problem): replies are held. */
  held?: string;
  /** Another app holds the conversation on Instagram (Conversation Routing): agents' replies and
   * automation wait until it passes the conversation back or an agent takes control. */
  control?: ThreadControl;
  /** How the conversation opened (an ad, an ig.me link, a story, a post, a comment, a message),
   * when known: the root's referral card. */
  entry?: EntryCard;
  /** What the team knows about this customer: notes, labels (issue 21). */
  context?: CustomerContext;
  links: Link[];
}

/** Who holds a conversation on Instagram when it is not this app. */
export interface ThreadControl {
  /** "ManyChat", "the Instagram inbox", "another app (id 123)". */
  holder: string;
  /** An agent asked the holder to pass it (`!control request`): not answered yet. */
  requested?: boolean;
}

/** The root's customer context: agents' notes about the customer, their labels, and their other
 * threads with the account. Plain text. */
export interface CustomerContext {
  /** Newest last; the few most recent. */
  notes: { text: string; author: string; at: Date }[];
  labels: string[];
  /** The customer's other threads with this account (their DM conversation, comment threads,
   * mentions): how many, and the latest few, newest first. Absent when there are none. */
  earlier?: { count: number; threads: EarlierThread[] };
}

/** One of a customer's other threads, as a root lists it. */
export interface EarlierThread {
  kind: "dm" | "comment" | "mention";
  /** When it began (the comment, the mention) or last moved (the conversation). */
  at: Date;
  status?: ConversationStatus;
  /** Opens its chat thread, where the platform gives links (`ChatAdapter.threadLink`). */
  url?: string;
}

/** The root's referral card: what opened the conversation. Plain text; adapters render it. */
export interface EntryCard {
  point: EntryPoint;
  /** "📣 Opened from an ad", "🔗 Opened from an ig.me link", … */
  title: string;
  /** What it was: the ad's title and id, the link's ref, the story or the post. */
  lines: string[];
  /** The ad's media, the link, the story or the post. */
  url?: string;
  /** The ad's picture. */
  imageUrl?: string;
}

/** Moderation buttons a comment thread's root offers; each carries the comment id as its value. */
export type CommentAction = "hide" | "unhide" | "delete" | "reply_public" | "reply_private";

export interface CommentHeader {
  kind: "comment";
  account: AccountRef;
  media: {
    id: string;
    caption?: string;
    permalink?: string;
    thumbnailUrl?: string;
    productType?: string;
  };
  comment: {
    id: string;
    text?: string;
    author: Person;
    at: Date;
    hidden: boolean;
    deleted: boolean;
  };
  live: boolean;
  /** The thread's own state (close, snooze, assign), as for a DM conversation. */
  status: ConversationStatus;
  assignee?: string;
  /** The one private reply Instagram allows per comment has been sent. */
  privateReplyUsed: boolean;
  /** Buttons to show, in order: only those that make sense in the comment's current state. */
  actions: CommentAction[];
  held?: string;
  /** What the team knows about the commenter: notes, labels, their other threads. */
  context?: CustomerContext;
  links: Link[];
}

/** The account @mentioned in someone's comment or caption: a thread of its own, to read and follow
 * up on Instagram (nothing typed in it is sent). */
export interface MentionHeader {
  kind: "mention";
  account: AccountRef;
  /** In a comment, or in the media's caption. */
  where: "comment" | "caption";
  /** Who wrote it, when Instagram said. */
  author?: Person;
  /** The comment (or caption) that mentions the account. */
  text?: string;
  at: Date;
  media: { id: string; caption?: string; permalink?: string; thumbnailUrl?: string };
  /** Why the mention's content is not shown, when Instagram would not give it. */
  unresolved?: string;
  links: Link[];
}

export type ThreadHeader = DmHeader | CommentHeader | MentionHeader;

export type MirrorAttachment =
  /** Shown inline (images, GIFs, stickers) straight from the CDN URL; never downloaded. */
  | { kind: "image"; url: string; alt: string }
  /** Video, audio, files: a link, never re-uploaded. */
  | { kind: "link"; label: string; url: string }
  /** Shared posts, reels, stories, products, templates, described links: a small card. */
  | {
      kind: "card";
      title: string;
      subtitle?: string;
      url?: string;
      imageUrl?: string;
      /** Short facts under it (a product's ids), plain text. */
      facts?: string[];
      /** A template's buttons as the customer saw them: shown, never clickable in chat. */
      buttons?: CardButton[];
    }
  /** Content whose link has expired or that Meta did not deliver. */
  | { kind: "placeholder"; text: string };

/** A button of an Instagram template, shown as what it does: a link, or the postback it sends. */
export interface CardButton {
  label: string;
  url?: string;
  /** The postback payload the button sends back. */
  payload?: string;
}

export interface MirrorPost {
  author: {
    kind: "customer" | "business" | "agent" | "rule" | "system";
    name: string;
    iconUrl?: string;
  };
  /** Plain text as written on Instagram; adapters escape it for their markup. */
  text?: string;
  /** A small line under the post, e.g. "sent from Instagram", "edited". */
  attribution?: string;
  /** The message this one replies to. */
  quote?: { author: string; text: string };
  attachments: MirrorAttachment[];
  /** Secondary facts: quick-reply payload, referral source, postback. */
  context: string[];
  /** The post stands for a message that was removed (unsent, deleted). */
  removed?: boolean;
}

/** Reactions the core puts on messages; adapters map them to platform emoji. */
export type Mark =
  | "pending" // ⏳ a reply is on its way
  | "held" // ⏸️ sending is paused
  | "sent" // ✅
  | "failed"; // ⚠️

export interface NoticeOptions {
  /** Offer a Retry button that retries this outbound message. */
  retryMessageId?: number;
  /** Mention these platform user ids. */
  mention?: string[];
  /** Mention these groups: Slack user group ids (`S…`), Discord role ids. */
  mentionGroups?: string[];
}

/**
 * Makes a create call safe to repeat. A worker can die between a chat call and the write that
 * stores its result; the retry must then find what was made instead of making it again. The
 * adapter marks what it creates with `key` where the platform can carry one (Slack message
 * metadata) and, when `since` says an earlier attempt may have made the call, looks for it first:
 * by key, or where the platform has no room for one (Discord webhooks), by identical content made
 * after `since` that no other row has `taken`.
 */
export interface Idempotency {
  /** Unique per thing the core creates, e.g. `message:123`. */
  key: string;
  /** When the first attempt began; absent on a first attempt, which never looks. */
  since?: Date;
  /** Whether a ref the adapter found is already the copy of something else the core stored. */
  taken(ref: string): Promise<boolean>;
}

export interface ChatAdapter {
  readonly platform: ChatPlatform;
  /** Opens a thread for a conversation or comment thread in `channel`, its root showing `header`. */
  openThread(channel: string, header: ThreadHeader, once?: Idempotency): Promise<ThreadRef>;
  /** Re-renders the root (window state, seen mark, moderation state, held banner). */
  updateHeader(thread: ThreadRef, header: ThreadHeader): Promise<void>;
  /** Posts a mirrored message in the thread. */
  post(thread: ThreadRef, post: MirrorPost, once?: Idempotency): Promise<ChatMessageRef>;
  /** Replaces a mirrored message (edits, removals that must leave a trace). */
  update(thread: ThreadRef, message: ChatMessageRef, post: MirrorPost): Promise<void>;
  /** Deletes a mirrored message. Already gone counts as done. */
  remove(thread: ThreadRef, message: ChatMessageRef): Promise<void>;
  /** Deletes a whole thread for an erasure: its root and everything the bridge posted in it,
   * notices included. People's own messages go too where the platform lets a bot delete them
   * (Discord deletes the thread whole; Slack keeps what a bot token may not delete). Already gone
   * counts as done. */
  removeThread(thread: ThreadRef): Promise<void>;
  /** Adds (`on`) or removes a customer's emoji reaction on a mirrored message. Idempotent. */
  react(thread: ThreadRef, message: ChatMessageRef, emoji: string, on: boolean): Promise<void>;
  /** Sets the delivery mark on an agent's message, replacing any other mark. Idempotent. */
  mark(thread: ThreadRef, message: ChatMessageRef, mark: Mark | undefined): Promise<void>;
  /** A short system line in the thread (delivery failures, held replies, who did what). */
  notice(thread: ThreadRef, text: string, options?: NoticeOptions): Promise<ChatMessageRef>;
  /** A top-level message in a channel, for the account's owners (token problems and the like). */
  alert(channel: string, text: string): Promise<void>;
  /** The managers' digest as a top-level message (Slack Block Kit, a Discord embed), with the
   * day's chart as an image when there is one. Overdue conversations link to their threads. */
  postDigest(channel: string, digest: Digest, chart?: DigestChart): Promise<void>;
  /** A web address that opens the thread in the platform's own client, for the console's link to
   * it; absent (or undefined) where the platform has none to give. */
  threadLink?(thread: ThreadRef): Promise<string | undefined>;
}

/** A rendered chart of a digest's volume and response times. */
export interface DigestChart {
  png: Buffer;
  /** File name, e.g. "digest-brand-2026-11-24.png". */
  name: string;
  /** What the picture shows, for screen readers and notifications. */
  alt: string;
}

// ——— Inward: what agents do in chat ———

/** A file an agent attached; the core sends it through a short-lived URL served by the service. */
export interface AgentFile {
  /** The platform's file id, resolvable through `fetchFile`. */
  id: string;
  name: string;
  mimeType: string;
  size: number;
}

export interface AgentIdentity {
  platform: ChatPlatform;
  /** Platform user id. */
  id: string;
  name: string;
  /** Platform roles of the person where the platform has them (Discord), for privileged actions. */
  roles?: string[];
  /** The platform itself vouches that this person is an admin (a web inbox console user with the
   * role admin), as if ADMIN_USERS named them. */
  admin?: boolean;
}

export interface AgentMessage {
  agent: AgentIdentity;
  thread: ThreadRef;
  /** The agent's own message, where delivery marks go; also the dedupe key for platform retries. */
  message: ChatMessageRef;
  /** Plain text, platform markup already turned into what Instagram shows. */
  text: string;
  files: AgentFile[];
  /** Sent through an explicit "send to customer" path (a reply prefix, a message shortcut), which
   * overrides an internal-by-default thread. */
  explicitReply?: boolean;
  /** The message of the thread this one answers (a Slack quote shortcut, a Discord reply): when
   * it mirrors an Instagram message of the conversation, the reply quotes it there (Message
   * Replies API). */
  quoting?: ChatMessageRef;
}

export type AgentMessageOutcome =
  /** `privately`: a line for the agent alone (someone else owns the conversation), shown as a
   * refusal's private line is. */
  | { kind: "queued"; messageId: number; privately?: string }
  | { kind: "duplicate" } // a platform retry of a message already taken
  | { kind: "note" } // internal: stays in chat
  | { kind: "command"; reply: string } // a `!command` typed in the thread
  | { kind: "not_mirrored" } // the thread is not one of ours
  /** `privately`: for the agent's eyes only (an unknown saved reply's name), never the thread's:
   * an ephemeral message where the platform has one, otherwise a direct message. */
  | { kind: "refused"; reason: string; privately?: boolean };

/** What a button, shortcut or command asks the core to do. */
export type ChatAction =
  | { kind: "retry"; messageId: number }
  | { kind: "comment"; action: CommentAction; commentId: string; text?: string }
  /** Close, reopen, take, assign or snooze the conversation of the thread it was asked in (the
   * root's buttons and emoji). */
  | { kind: "conversation"; change: ConversationChange }
  /** A command of src/commands, as its registry parsed it (`/ig …` on every platform). */
  | CommandAction;

/** A parsed command: its name and its arguments' typed values (src/commands/registry.ts). */
export interface CommandAction {
  kind: "command";
  /** `pause`, `rules enable`. */
  command: string;
  args: Readonly<Record<string, unknown>>;
}

export type ConversationChange =
  | { op: "close" }
  | { op: "reopen" }
  /** Assign to the person who asked. */
  | { op: "take" }
  /** Take thread control on Instagram from the app holding the conversation. */
  | { op: "take_control" }
  | { op: "snooze"; minutes: number };

export type ModerationCommand = "hide" | "unhide" | "delete" | "reply" | "comments_off" | "comments_on";

/** Who asked for something in chat, and where. */
export interface Asked {
  agent: AgentIdentity;
  /** Where it was asked: a thread for buttons and shortcuts, a channel for slash commands. */
  thread?: ThreadRef;
  /** The channel it was asked in, or the thread's channel (a Discord thread's parent), as the
   * platform told it: the action reaches only the accounts routed here (scope.ts). */
  channel: string;
}

export interface ActionRequest extends Asked {
  action: ChatAction;
}

/** Text to show the person who asked (ephemeral where the platform allows). */
export interface ActionResult {
  ok: boolean;
  text: string;
  /** A file for the person who asked and nobody else (an export): an ephemeral upload where the
   * platform has one, otherwise a direct message. */
  file?: PrivateFile;
  /** The thread already shows the text to everyone (who closed or assigned it): the asker needs
   * no answer of their own. */
  announced?: boolean;
}

export interface PrivateFile {
  name: string;
  mimeType: string;
  content: string;
  /** The adapter calls this once the file has reached the asker, and only then: the core records
   * the export here, so an upload that failed leaves no export in the audit log. */
  delivered(): Promise<void>;
}

/** One entry of a picker: a command option's autocomplete, a modal's menu. */
export interface CompletionChoice {
  /** What is handed back as the option's value. */
  value: string;
  /** What the picker shows (adapters shorten it to their limit). */
  label: string;
}

/** Values for one option of a command, as the person has typed it so far. */
export interface CompletionRequest extends Asked {
  /** The command as the registry names it: `snippet`, `snippets remove`. */
  command: string;
  option: string;
  typed: string;
  /** The most the picker shows (Discord 25, a Slack menu 100). */
  limit: number;
}

/** Something an agent does in a thread that the customer may see happen (sender actions):
 * `typing` while they write a message (Discord's typing event), `opened` when they open the
 * conversation (the web inbox's thread page). */
export interface AgentActivity {
  agent: AgentIdentity;
  thread: ThreadRef;
  kind: "typing" | "opened";
}

/** An agent put an emoji on (`on`) or took it off a message of a thread: on a mirrored customer
 * message of a conversation, the business reacts to that message on Instagram. `emoji` is
 * Unicode (adapters translate their names), or the platform's name of a custom emoji. */
export interface AgentReaction {
  agent: AgentIdentity;
  thread: ThreadRef;
  message: ChatMessageRef;
  emoji: string;
  on: boolean;
}

export interface ChatInbox {
  agentMessage(message: AgentMessage): Promise<AgentMessageOutcome>;
  /** Optional for inboxes without reactions. Resolves with a line for the agent alone when the
   * reaction cannot reach Instagram (an emoji it has no form for, a closed window). */
  agentReaction?(reaction: AgentReaction): Promise<{ privately?: string }>;
  /** Optional for inboxes that show the customer nothing of it. */
  agentActivity?(activity: AgentActivity): Promise<void>;
  /** An agent edited or deleted a message that was already sent (or queued) to Instagram. */
  agentChanged(change: {
    agent: AgentIdentity;
    thread: ThreadRef;
    message: ChatMessageRef;
    change: "edited" | "deleted";
  }): Promise<void>;
  action(request: ActionRequest): Promise<ActionResult>;
  /** Choices for an option that offers them as typed (saved replies' names); [] when there are
   * none or the option has no such list. Optional for inboxes that offer no pickers. */
  complete?(request: CompletionRequest): Promise<CompletionChoice[]>;
  /** Threads of `platform` with activity since `since`: an adapter that was disconnected (a
   * gateway hand-over) reads what agents wrote meanwhile in these. */
  activeThreads(platform: ChatPlatform, since: Date): Promise<ThreadRef[]>;
  /** A person's own overview of the queue, for platforms with a personal page (Slack's App Home
   * tab). Optional for inboxes that have none. */
  homeView?(request: HomeRequest): Promise<HomeView>;
}

/** What a personal home view is asked for. */
export interface HomeRequest {
  agent: AgentIdentity;
  /** The channels the person is in, as the platform tells it: the unassigned section lists the
   * accounts routed to these alone (scope.ts's rule, for many channels at once). */
  channels: readonly string[];
  /** The most entries per section (the platform's page has a size limit). */
  limit: number;
}

/** One open conversation or comment thread as a home view lists it. */
export interface HomeEntry {
  /** `comment`: a comment thread, whose customer is the top-level comment's author. */
  kind: "dm" | "comment";
  /** The account, `@brand`. */
  account: string;
  /** The customer's name, `@username` or `Instagram user …`. */
  customer: string;
  state: QueueState;
  /** The customer's last message (the lists run oldest first). */
  since: Date | null;
  /** What is left of the window to answer in, as words ("5h 20m left", "window closed"). */
  left: string;
  /** The conversation's chat thread on the platform asking, once mirrored. */
  thread?: ThreadRef;
}

export interface HomeSection {
  entries: HomeEntry[];
  /** How many more there are than `entries` shows. */
  more: number;
}

/** A person's overview: the open conversations assigned to them, and the open ones nobody owns in
 * the channels they are in. */
export interface HomeView {
  mine: HomeSection;
  unassigned: HomeSection;
}

/** One person of a chat group, as a directory lists them. */
export interface GroupMember {
  /** Platform user id. */
  id: string;
  /** Display name, as the thread would show it. */
  name: string;
}

/** Optional capability: platforms that can list a group's members (Slack user groups, Discord
 * roles), for automatic assignment among a pool. */
export interface MemberDirectory {
  /** The people of `group` (a platform group id) in the workspace or server of `channel`; throws
   * when the platform cannot say (the caller assigns nobody rather than guess). */
  groupMembers(group: string, channel: string): Promise<GroupMember[]>;
}

/** Optional capability: adapters that can hand the core an agent's uploaded file. */
export interface FileSource {
  fetchFile(file: AgentFile): Promise<Response>;
}
