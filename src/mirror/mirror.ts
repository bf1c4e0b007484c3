import { AsyncLocalStorage } from "node:async_hooks";
import type {
  ChatAdapter,
  ChatPlatform,
  CommentHeader,
  CustomerContext,
  EarlierThread,
  Idempotency,
  MirrorPost,
  ThreadHeader,
  ThreadRef,
} from "../chat/chat-port.ts";
import { DestinationHeld, WHOLE_PLATFORM } from "../chat/health.ts";
import {
  type DmRoot,
  type DmRootRow,
  dmRootOf,
  dmRootSql,
  type EarlierThreadRow,
  loadCustomerContext,
  loadDmRoot,
  loadEarlierThreads,
} from "../conversations/customer-context.ts";
import { afterOutsideCall } from "../db/after-outside-call.ts";
import type { Database } from "../db/database.ts";
import { queryNamed } from "../db/query-named.ts";
import { UNFLUSHED_COMMIT } from "../db/unflushed-commit.ts";
import type {
  Attachment,
  CommentEvent,
  CommentRemovedEvent,
  DmControl,
  DmEcho,
  DmEdit,
  DmMessage,
  DmPostback,
  DmReaction,
  DmUnsend,
  DomainEvent,
  MentionEvent,
  Referral,
  ReplyTo,
} from "../instagram/events.ts";
import { holderName } from "../instagram/thread-control.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { holdReasonOf, type InstagramGateway } from "../outbound/instagram-gateway.ts";
import {
  SENDING_PAUSE_KEY,
  SENDING_STATE_COLUMNS,
  type SendingState,
  type SendingStateRow,
  sendingStateOf,
} from "../outbound/pause.ts";
import {
  type AccountRow,
  type CommentThreadRow,
  type ConversationRow,
  commenterName,
  commentHeader,
  displayName,
  dmHeader,
  headerDigest,
  type MediaSnapshot,
  type MentionRow,
  mentionHeader,
  personFromProfile,
} from "./headers.ts";
import {
  mirrorAttachments,
  quoteFor,
  referralLine,
  STORY_KINDS,
  STORY_LIFETIME_MS,
  storyExpired,
} from "./posts.ts";
import { ownerAfter, type Recorded, type RecordedMessage } from "./record.ts";

// The mirror: after an event is recorded, make the chat thread show it. Every step is idempotent
// through refs stored right after each chat call (the thread on its conversation, each post on its
// message), so a retried job continues where the last attempt stopped instead of posting twice.
// A worker that dies between a chat call and that UPDATE leaves the retry to find the post on the
// platform (`Idempotency`: the event says when its first attempt began) instead of posting twice.

/** How long after a failed profile look-up the next one may be tried. */
const PROFILE_RETRY_MS = 30_000;
/** How long a profile look-up waits for its turn of the `platform` limit (20/s, one per 51 ms).
 * Without a wait, the second of two threads opening within one spacing opened without the
 * customer's name and kept it out for PROFILE_RETRY_MS (test/contract/find failed so, a third of
 * its runs). The wait holds the job's worker slot and the new thread's first post, so it stays
 * short, two spacings: a second's wait took the bench's Slack p99 at 100 events/s over 50 new
 * conversations from 213 ms to 1.7 s (200 ms: 767 ms), and a wave of new conversations would run
 * at the slots over the wait. Past it, the thread opens without the name, as before. */
const PROFILE_WAIT_MS = 120;

/** Thread links kept in memory: a root lists at most a few other threads each. */
const THREAD_LINKS_KEPT = 5000;

export interface MirrorDeps {
  db: Database;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  gateway: InstagramGateway | undefined;
  log: Logger;
  metrics: Metrics;
  humanAgent: boolean;
  /** Profiles and media snapshots older than this are fetched again. */
  refreshMs: number;
  /** Assigns a new conversation or comment thread automatically where its account asks for it
   * (conversations/ownership.ts), before its thread opens, so the root shows the assignee. */
  assignNew?: (
    accountId: string,
    owned: { kind: "dm" | "comment"; id: number },
    platform: ChatPlatform,
    channel: string,
  ) => Promise<void>;
  /** Runs `expireStories(messageId)` at `at`: a story's link is shown until the story expires. */
  scheduleStoryExpiry?: (messageId: number, at: Date) => Promise<void>;
  now?: () => Date;
  /** This app's id (IG_APP_ID) and other apps' names (IG_APP_NAMES), for Conversation Routing. */
  appId?: string;
  appNames?: ReadonlyMap<string, string>;
}

/** An account's route as `routeSql` reads it. */
export type RouteRow = AccountRow & {
  held_channel: string | null;
  held_reason: string | null;
} & SendingStateRow;

/** What the mirror is handed with an event, read while it was recorded: the recording's rows, and
 * the account's route read with the event's row lock (one round trip fewer than reading it after). */
export interface Prefetched extends Recorded {
  route?: RouteRow;
}

/** The parameters `routeSql` takes from its `firstParam` on. */
export const ROUTE_PARAMS = [WHOLE_PLATFORM, SENDING_PAUSE_KEY] as const;

/**
 * The account's chat destination, a hold on it (or on its whole platform), and with them the pause
 * switches and the account's connection (what InstagramGateway.holdReason reads, shown on the
 * roots): one query. `account` is an SQL expression for the account's id; `ROUTE_PARAMS` go in
 * parameters `$firstParam` and the next.
 */
export function routeSql(account: string, firstParam: number): string {
  const whole = `$${firstParam}`;
  const pause = `$${firstParam + 1}`;
  return `SELECT a.id, a.username, a.picture_url, a.status, a.chat_platform, a.chat_channel, a.settings,
              h.channel AS held_channel, h.reason AS held_reason, ${SENDING_STATE_COLUMNS}
         FROM instagram_accounts a
         LEFT JOIN LATERAL (
           SELECT channel, reason FROM chat_destination_holds
            WHERE platform = a.chat_platform AND channel IN (a.chat_channel, ${whole})
            ORDER BY channel = ${whole} DESC LIMIT 1
         ) h ON true
         LEFT JOIN service_flags g ON g.key = ${pause}
        WHERE a.id = ${account}`;
}

/** Under a message recovered through the Conversations API rather than delivered by a webhook. */
export const BACKFILLED_NOTE = "recovered later (backfill): no webhook brought it when it was sent";
/** Under a message Instagram delivered while another app held the conversation. */
export const STANDBY_NOTE = "received on standby: another app held the conversation";

const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A message as the mirror reads it: the columns the recording hands on (MESSAGE_COLUMNS). */
type MessageRow = RecordedMessage;

/** An account's chat destination, and why sending is held for it (shown on its roots). */
interface Route {
  account: AccountRow;
  adapter: ChatAdapter;
  held: string | undefined;
}

interface DmThread extends Route {
  ref: ThreadRef;
  convo: ConversationRow;
}

interface CommentThread extends Route {
  ref: ThreadRef;
  thread: CommentThreadRow;
}

export class Mirror {
  private readonly deps: MirrorDeps;
  private readonly warnedUnrouted = new Set<string>();
  /** Thread links the platforms gave (the roots' other threads), by platform, channel and thread. */
  private readonly threadLinks = new Map<string, string>();
  /** Conversation id → when its profile look-up was last attempted without success. */
  private readonly profileTries = new Map<number, number>();

  constructor(deps: MirrorDeps) {
    this.deps = deps;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Shows event `eventId` in its chat thread. Safe to call again for the same event:
   * `resumedSince` says when an earlier attempt began, whose posts the platform is asked for
   * before anything is posted again. */
  apply(event: DomainEvent, eventId: number, resumedSince?: Date, written?: Prefetched): Promise<void> {
    return this.currentEvent.run({ eventId, resumedSince, written: written ?? {} }, () =>
      this.dispatch(event),
    );
  }

  /** The event being mirrored: its id for posts that have no message row to hold their ref, and
   * whether an earlier attempt may have posted already. */
  private readonly currentEvent = new AsyncLocalStorage<{
    eventId: number;
    resumedSince: Date | undefined;
    /** The rows its recording wrote (record.ts `Recorded`) and the route read with it: read from
     * here, not again. */
    written: Prefetched;
  }>();

  private async dispatch(event: DomainEvent): Promise<void> {
    switch (event.type) {
      case "dm.message":
        return this.customerMessage(event);
      case "dm.echo":
        return this.echo(event);
      case "dm.unsend":
        return this.unsend(event);
      case "dm.edit":
        return this.edit(event);
      case "dm.reaction":
        return this.reaction(event);
      case "dm.seen":
        return this.refreshDmHeader(event.accountId, event.customerId);
      case "dm.postback":
        return this.postback(event);
      case "dm.referral": {
        const t = await this.dmThread(event.accountId, event.customerId);
        if (t)
          await this.postOnce(
            t,
            undefined,
            this.customerPost(t.convo, { text: referralLine(event.referral) }),
          );
        return;
      }
      case "dm.optin": {
        const t = await this.dmThread(event.accountId, event.customerId);
        if (t)
          await this.postOnce(t, undefined, this.customerPost(t.convo, { text: "opted in to messages" }));
        return;
      }
      case "dm.control":
        return this.control(event);
      case "comment":
        return this.comment(event);
      case "comment.removed":
        return this.commentRemoved(event);
      case "mention":
        return this.mention(event);
      case "unknown":
        return;
    }
  }

  // ——— DMs ———

  private async customerMessage(e: DmMessage): Promise<void> {
    // The recording's rows, when it handed them on: the conversation as its upsert left it (used
    // only when its thread exists, see dmThread) and the message as this attempt inserted it.
    const written = this.currentEvent.getStore()?.written;
    const t = await this.dmThread(e.accountId, e.customerId, { create: true }, written?.conversation);
    if (!t) return;
    // Names and pictures change: past the refresh age the profile is fetched again.
    t.convo = await this.freshProfile(t.convo);
    const row =
      written?.message?.conversation_id === t.convo.id
        ? written.message
        : await this.message(e.accountId, e.mid);
    if (!row || row.chat_ref || row.deleted_at) return;
    const post = await this.customerMessagePost(t.convo, e, e.occurredAt);
    // The post's ref is stored with the root's rows read in the same statement (the root is
    // re-rendered right after from them: a customer message re-opens the window, the root says so).
    const root = await this.postOnce(t, row.id, post, {
      accountId: t.account.id,
      customerId: t.convo.customer_id,
    });
    await this.scheduleStoryExpiry(row.id, e.attachments, e.occurredAt);
    await this.refreshHeader(t, root);
  }

  /** A customer's message as its post shows it at this moment (a story link expires). */
  private async customerMessagePost(
    convo: ConversationRow,
    m: Pick<
      DmMessage,
      | "accountId"
      | "text"
      | "attachments"
      | "replyTo"
      | "quickReplyPayload"
      | "referral"
      | "unsupported"
      | "standby"
      | "backfilled"
    >,
    occurredAt: number,
  ): Promise<MirrorPost> {
    const context: string[] = [];
    if (m.backfilled) context.push(BACKFILLED_NOTE);
    if (m.standby) context.push(STANDBY_NOTE);
    if (m.quickReplyPayload) context.push(`quick reply: ${m.quickReplyPayload}`);
    if (m.referral) context.push(referralLine(m.referral));
    const now = this.now().getTime();
    const attachments = m.attachments.flatMap((a) => mirrorAttachments(a, occurredAt, now));
    // `is_unsupported`: Meta kept the content from apps. Say so plainly, named, never an empty post.
    if (m.unsupported)
      attachments.push({
        kind: "placeholder",
        text: "Instagram did not deliver this message's content (is_unsupported: a kind it does not pass to apps)",
      });
    return this.customerPost(convo, {
      ...(m.text !== undefined ? { text: m.text } : {}),
      attachments,
      quote: quoteFor(
        m.replyTo,
        await this.quoted(m.accountId, m.replyTo?.kind === "message" ? m.replyTo.mid : undefined),
      ),
      context,
    });
  }

  /** A post showing a story's link is shown again as expired when the story goes (24 h). */
  private async scheduleStoryExpiry(messageId: number, attachments: Attachment[], occurredAt: number) {
    const schedule = this.deps.scheduleStoryExpiry;
    const now = this.now().getTime();
    const live = attachments.some(
      (a) => STORY_KINDS.has(a.kind) && a.url !== undefined && !storyExpired(a, occurredAt, now),
    );
    if (!schedule || !live) return;
    // A minute past the expiry, so the post is rendered on the far side of it.
    await schedule(messageId, new Date(occurredAt + STORY_LIFETIME_MS + 60_000));
  }

  /** Re-renders a customer's post whose story link has expired: the link goes, a placeholder
   * says so. Safe to repeat; a message unsent or erased meanwhile is left alone. */
  async expireStories(messageId: number): Promise<void> {
    const { rows } = await this.deps.db.query<
      MessageRow & { account_id: string; customer_id: string | null }
    >(
      `SELECT m.id, m.conversation_id, m.comment_thread_id, m.author_kind, m.author_id, m.text, m.attachments,
              m.details, m.chat_ref, m.deleted_at, m.occurred_at, m.account_id, c.customer_id
         FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1`,
      [messageId],
    );
    const row = rows[0];
    if (!row?.chat_ref || row.deleted_at || !row.customer_id || row.details.storiesExpired) return;
    const t = await this.dmThread(row.account_id, row.customer_id, { create: false });
    if (!t) return;
    const d = row.details;
    const post = await this.customerMessagePost(
      t.convo,
      {
        accountId: row.account_id,
        ...(row.text !== null ? { text: row.text } : {}),
        attachments: Array.isArray(row.attachments) ? (row.attachments as Attachment[]) : [],
        ...(d.replyTo ? { replyTo: d.replyTo as ReplyTo } : {}),
        ...(typeof d.quickReplyPayload === "string" ? { quickReplyPayload: d.quickReplyPayload } : {}),
        ...(d.referral ? { referral: d.referral as Referral } : {}),
        ...(d.unsupported === true ? { unsupported: true } : {}),
        ...(d.standby === true ? { standby: true } : {}),
        ...(d.backfilled === true ? { backfilled: true } : {}),
      },
      new Date(row.occurred_at).getTime(),
    );
    await t.adapter.update(t.ref, row.chat_ref, post);
    this.count(t.adapter, "update");
    await this.setDetail(row.id, "storiesExpired", true);
  }

  private async echo(e: DmEcho): Promise<void> {
    const row = await this.message(e.accountId, e.mid);
    // The echo of a message this service sent is matched by its message id, never mirrored again.
    if (!row || row.author_kind === "agent" || row.author_kind === "rule" || row.chat_ref || row.deleted_at)
      return;
    const t = await this.dmThread(e.accountId, e.customerId);
    if (!t) return;
    const post: MirrorPost = {
      author: {
        kind: "business",
        name: t.account.username ? `@${t.account.username}` : "the business",
        ...(t.account.picture_url ? { iconUrl: t.account.picture_url } : {}),
      },
      attachments: this.attachmentsOf(e),
      attribution: e.self
        ? "test message to the account itself"
        : e.standby
          ? "sent by the app holding the conversation"
          : "sent from Instagram",
      context: e.backfilled ? [BACKFILLED_NOTE] : [],
    };
    if (e.text !== undefined) post.text = e.text;
    const quote = quoteFor(
      e.replyTo,
      await this.quoted(e.accountId, e.replyTo?.kind === "message" ? e.replyTo.mid : undefined),
    );
    if (quote) post.quote = quote;
    await this.postOnce(t, row.id, post);
  }

  /** Control of the conversation moved on Instagram (or an app asked for it): a line in the
   * thread, and the root says who holds it now. No thread is opened for this alone. */
  private async control(e: DmControl): Promise<void> {
    const t = await this.dmThread(e.accountId, e.customerId, { create: false });
    if (!t) return;
    const names = this.deps.appNames;
    const owner = ownerAfter(e, this.deps.appId);
    const who = (id: string | undefined) => (id ? holderName(id, names) : "another app");
    const text =
      owner === undefined
        ? `🔀 ${who(e.requestedOwnerAppId)} asks for control of this conversation on Instagram.`
        : owner === null
          ? "🔀 This conversation came back to threadbridge on Instagram: replies written here are sent again, held ones first, in order."
          : `🔀 ${capitalised(who(owner === "unknown" ? undefined : owner))} took control of this conversation on Instagram: replies written here wait until it passes the conversation back, or until someone takes control.`;
    await this.postOnce(t, undefined, {
      author: { kind: "system", name: "threadbridge" },
      text,
      attachments: [],
      context: [],
    });
    await this.refreshHeader(t);
  }

  private async unsend(e: DmUnsend): Promise<void> {
    const row = await this.message(e.accountId, e.mid);
    if (!row?.chat_ref || row.details.mirrorRemoved) return;
    const t = await this.dmThread(e.accountId, e.customerId, { create: false });
    if (!t) return;
    await t.adapter.remove(t.ref, row.chat_ref);
    this.count(t.adapter, "remove");
    await this.setDetail(row.id, "mirrorRemoved", true);
  }

  private async edit(e: DmEdit): Promise<void> {
    const row = await this.message(e.accountId, e.mid);
    if (!row?.chat_ref || row.deleted_at) return;
    if (Number(row.details.mirroredEdit ?? 0) >= e.numEdit) return;
    const t = await this.dmThread(e.accountId, e.customerId, { create: false });
    if (!t) return;
    const post = this.customerPost(t.convo, {
      text: row.text ?? e.text,
      attachments: [],
      context: [],
      attribution: e.numEdit > 1 ? `edited ${e.numEdit} times` : "edited",
    });
    await t.adapter.update(t.ref, row.chat_ref, post);
    this.count(t.adapter, "update");
    await this.setDetail(row.id, "mirroredEdit", e.numEdit);
  }

  private async reaction(e: DmReaction): Promise<void> {
    const row = await this.message(e.accountId, e.mid);
    if (!row?.chat_ref) return;
    const t = await this.dmThread(e.accountId, e.customerId, { create: false });
    if (!t) return;
    // The record holds the customer's current reaction; the mirror converges on it.
    const wanted =
      typeof row.details.customerReaction === "string" ? row.details.customerReaction : undefined;
    const shown = typeof row.details.mirroredReaction === "string" ? row.details.mirroredReaction : undefined;
    if (wanted === shown) return;
    if (shown) await t.adapter.react(t.ref, row.chat_ref, shown, false);
    if (wanted) await t.adapter.react(t.ref, row.chat_ref, wanted, true);
    this.count(t.adapter, "react");
    await this.setDetail(row.id, "mirroredReaction", wanted ?? null);
  }

  private async postback(e: DmPostback): Promise<void> {
    const t = await this.dmThread(e.accountId, e.customerId);
    if (!t) return;
    const row = e.mid ? await this.message(e.accountId, e.mid) : undefined;
    if (row?.chat_ref) return;
    const post = this.customerPost(t.convo, {
      text: `tapped “${e.title}”`,
      context: [`payload: ${e.payload}`],
    });
    await this.postOnce(t, row?.id, post);
    await this.refreshHeader(t);
  }

  private attachmentsOf(e: DmMessage | DmEcho) {
    const now = this.now().getTime();
    return e.attachments.flatMap((a) => mirrorAttachments(a, e.occurredAt, now));
  }

  private customerPost(
    convo: ConversationRow,
    p: Partial<Pick<MirrorPost, "text" | "attachments" | "quote" | "context" | "attribution">>,
  ): MirrorPost {
    const person = personFromProfile(convo.customer_id, convo.profile);
    const post: MirrorPost = {
      author: {
        kind: "customer",
        name: displayName(person),
        ...(person.pictureUrl ? { iconUrl: person.pictureUrl } : {}),
      },
      attachments: p.attachments ?? [],
      context: p.context ?? [],
    };
    if (p.text !== undefined) post.text = p.text;
    if (p.quote) post.quote = p.quote;
    if (p.attribution) post.attribution = p.attribution;
    return post;
  }

  // ——— Comments ———

  private async comment(e: CommentEvent): Promise<void> {
    const root = e.parentId ?? e.commentId;
    const t = await this.commentThread(e.accountId, root);
    if (!t) return;
    if (e.parentId === undefined) {
      // The top-level comment is shown by the root itself; remember that it is mirrored.
      const row = await this.message(e.accountId, e.commentId);
      if (row && !row.chat_ref) await this.setChatRef(row.id, t.ref.thread);
      return;
    }
    const row = await this.message(e.accountId, e.commentId);
    // A removal that came first left a tombstone: there is nothing to show.
    if (!row || row.chat_ref || row.deleted_at || row.author_kind === "agent" || row.author_kind === "rule")
      return;
    const own = e.self;
    const post: MirrorPost = own
      ? {
          author: {
            kind: "business",
            name: t.account.username ? `@${t.account.username}` : "the business",
            ...(t.account.picture_url ? { iconUrl: t.account.picture_url } : {}),
          },
          attribution: "public reply, sent from Instagram",
          attachments: [],
          context: [],
        }
      : {
          author: {
            kind: "customer",
            name: commenterName(e.from, e.live),
          },
          attachments: [],
          context: [],
        };
    if (e.text !== undefined) post.text = e.text;
    await this.postOnce(t, row.id, post);
  }

  /** The top-level comment: its root re-renders as deleted. A reply: its chat copy becomes a
   * removed post (kept, unlike an unsent DM, so the thread's replies still read in order). */
  private async commentRemoved(e: CommentRemovedEvent): Promise<void> {
    if (await this.commentThreadRow(e.accountId, e.commentId))
      return this.refreshCommentHeader(e.accountId, e.commentId);
    const row = await this.message(e.accountId, e.commentId);
    if (!row?.chat_ref || row.comment_thread_id === null || row.details.mirrorRemoved) return;
    const r = await this.route(e.accountId);
    const { rows } = await this.deps.db.query<CommentThreadRow>(
      "SELECT * FROM comment_threads WHERE id = $1",
      [row.comment_thread_id],
    );
    const ref = r && rows[0] && this.existingRef(r.adapter, rows[0]);
    if (!r || !ref) return;
    const username = typeof row.details.username === "string" ? row.details.username : undefined;
    const post: MirrorPost = {
      author:
        row.author_kind === "customer"
          ? {
              kind: "customer",
              name: username ? `@${username}` : `Instagram user ${row.author_id ?? ""}`.trim(),
            }
          : { kind: "business", name: r.account.username ? `@${r.account.username}` : "the business" },
      removed: true,
      attribution: "comment deleted on Instagram",
      attachments: [],
      context: [],
    };
    await r.adapter.update(ref, row.chat_ref, post);
    this.count(r.adapter, "update");
    await this.setDetail(row.id, "mirrorRemoved", true);
  }

  // ——— Mentions: each one a thread of its own ———

  private async mention(e: MentionEvent): Promise<void> {
    const r = await this.route(e.accountId);
    if (!r) return;
    const { rows } = await this.deps.db.query<MentionRow>(
      "SELECT * FROM mentions WHERE account_id = $1 AND media_id = $2 AND comment_id = $3",
      [e.accountId, e.mediaId, e.commentId ?? ""],
    );
    let row = rows[0];
    if (!row || this.existingRef(r.adapter, row)) return;
    if (!row.resolved_at && !row.resolve_error) row = await this.resolveMention(row);
    const header = mentionHeader(r.account, row);
    const ref = await this.open(r.adapter, r.account, header, `mention:${row.id}`);
    await afterOutsideCall(() =>
      this.deps.db.query(
        `UPDATE mentions SET chat_platform = $2, chat_channel = $3, chat_thread = $4, chat_header_digest = $5,
           updated_at = now() WHERE id = $1`,
        [row.id, r.adapter.platform, ref.channel, ref.thread, headerDigest(header)],
      ),
    );
  }

  /** Who wrote the mention and what it says (the webhook carries neither), through the Graph API.
   * A rate limit or a network failure makes the event retry; a refusal is kept and shown. */
  private async resolveMention(row: MentionRow): Promise<MentionRow> {
    const gw = this.deps.gateway;
    if (!gw) return row;
    const out = await gw.call(
      row.account_id,
      "platform",
      (token) =>
        gw.graph.getMention(token, row.account_id, {
          mediaId: row.media_id,
          ...(row.comment_id ? { commentId: row.comment_id } : {}),
        }),
      { maxWaitMs: 10_000 },
    );
    if (out.kind === "deferred") throw new Error(`mention not resolved yet: ${out.reason}`);
    if (out.kind === "uncertain") throw new Error(`mention not resolved yet: ${out.error.reason}`);
    if (out.kind !== "ok") {
      const reason = out.kind === "held" ? out.reason : out.error.reason;
      this.deps.log.info({ account: row.account_id, mention: row.id, reason }, "mention not resolved");
      await this.deps.db.query("UPDATE mentions SET resolve_error = $2, updated_at = now() WHERE id = $1", [
        row.id,
        reason,
      ]);
      return { ...row, resolve_error: reason };
    }
    const m = out.value;
    const media: MediaSnapshot = {
      ...(m.media.caption ? { caption: m.media.caption } : {}),
      ...(m.media.permalink ? { permalink: m.media.permalink } : {}),
      ...(m.media.thumbnailUrl ? { thumbnailUrl: m.media.thumbnailUrl } : {}),
    };
    const { rows } = await this.deps.db.query<MentionRow>(
      `UPDATE mentions SET author_id = $2, author_username = $3, text = $4, media = $5, resolved_at = now(),
         updated_at = now() WHERE id = $1 RETURNING *`,
      [row.id, m.authorId ?? null, m.username ?? null, m.text ?? null, JSON.stringify(media)],
    );
    return rows[0] ?? row;
  }

  // ——— Threads ———

  /** The account's chat destination and adapter, or undefined (logged once) when it has none.
   * While an event is mirrored, a held destination (or platform) throws DestinationHeld before any
   * chat call: the event waits its turn instead of failing against it again. */
  private async route(accountId: string): Promise<Route | undefined> {
    // Read with the event's row lock, when the pipeline did (`routeSql`); else now.
    const read = this.currentEvent.getStore()?.written.route;
    const row =
      read?.id === accountId
        ? read
        : (await this.deps.db.query<RouteRow>(routeSql("$1", 2), [accountId, ...ROUTE_PARAMS])).rows[0];
    const platform = row?.chat_platform;
    if (!row || !platform || !row.chat_channel) return undefined;
    const {
      held_channel,
      held_reason,
      global_paused,
      global_by,
      global_since,
      sending_status,
      has_token,
      paused_by,
      paused_at,
      ...account
    } = row;
    const sending = sendingStateOf({
      global_paused,
      global_by,
      global_since,
      sending_status,
      has_token,
      paused_by,
      paused_at,
    });
    if (held_channel && this.currentEvent.getStore())
      throw new DestinationHeld(platform, held_channel, held_reason ?? "held");
    const adapter = this.deps.adapters.get(platform);
    if (!adapter) {
      if (!this.warnedUnrouted.has(accountId)) {
        this.warnedUnrouted.add(accountId);
        this.deps.log.warn(
          { account: accountId, platform },
          "account routes to a chat platform that is not configured; events are recorded, not mirrored",
        );
      }
      return undefined;
    }
    return { account, adapter, held: this.heldBy(sending) };
  }

  private async conversation(accountId: string, customerId: string): Promise<ConversationRow | undefined> {
    const { rows } = await this.deps.db.query<ConversationRow>(
      "SELECT * FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [accountId, customerId],
    );
    return rows[0];
  }

  private async dmThread(
    accountId: string,
    customerId: string,
    opts: { create: boolean } = { create: true },
    /** The conversation's row as its recording just left it, if the caller has it. */
    recorded?: ConversationRow,
  ): Promise<DmThread | undefined> {
    const r = await this.route(accountId);
    if (!r) return undefined;
    // The recorded row serves a thread that exists (its ref and the customer's profile are what is
    // read of it; the root is re-rendered from a fresh read). A thread about to open is rendered
    // from a fresh read: the recording may have set the entry point or consent after its upsert.
    const known =
      recorded?.account_id === accountId && recorded.customer_id === customerId ? recorded : undefined;
    const knownRef = known && this.existingRef(r.adapter, known);
    if (known && knownRef) return { ...r, ref: knownRef, convo: known };
    let convo = await this.conversation(accountId, customerId);
    if (!convo) return undefined;
    const existing = this.existingRef(r.adapter, convo);
    if (existing) return { ...r, ref: existing, convo };
    if (!opts.create) return undefined;
    if (this.deps.assignNew && convo.assignee === null && r.account.chat_channel) {
      await this.deps.assignNew(
        accountId,
        { kind: "dm", id: convo.id },
        r.adapter.platform,
        r.account.chat_channel,
      );
      convo = (await this.conversation(accountId, customerId)) ?? convo;
    }
    convo = await this.freshProfile(convo);
    const header = dmHeader(
      r.account,
      convo,
      this.now(),
      this.deps.humanAgent,
      r.held,
      await this.customerContext(r.adapter, accountId, customerId, { kind: "dm", id: convo.id }),
      this.deps.appNames,
    );
    const ref = await this.open(r.adapter, r.account, header, `conversation:${convo.id}`);
    await afterOutsideCall(() =>
      this.deps.db.query(
        `UPDATE conversations SET chat_platform = $2, chat_channel = $3, chat_thread = $4, chat_header_digest = $5,
           updated_at = now() WHERE id = $1`,
        [convo.id, r.adapter.platform, ref.channel, ref.thread, headerDigest(header)],
      ),
    );
    return {
      ...r,
      ref,
      convo: {
        ...convo,
        chat_platform: r.adapter.platform,
        chat_channel: ref.channel,
        chat_thread: ref.thread,
      },
    };
  }

  private async commentThread(accountId: string, rootCommentId: string): Promise<CommentThread | undefined> {
    const r = await this.route(accountId);
    if (!r) return undefined;
    let thread = await this.commentThreadRow(accountId, rootCommentId);
    if (!thread) return undefined;
    const existing = this.existingRef(r.adapter, thread);
    if (existing) return { ...r, ref: existing, thread };
    if (this.deps.assignNew && thread.assignee === null && r.account.chat_channel) {
      await this.deps.assignNew(
        accountId,
        { kind: "comment", id: thread.id },
        r.adapter.platform,
        r.account.chat_channel,
      );
      thread = (await this.commentThreadRow(accountId, rootCommentId)) ?? thread;
    }
    thread = await this.freshMedia(thread);
    const header = await this.commentHeaderOf(r, thread);
    const ref = await this.open(r.adapter, r.account, header, `comment-thread:${thread.id}`);
    await afterOutsideCall(() =>
      this.deps.db.query(
        `UPDATE comment_threads SET chat_platform = $2, chat_channel = $3, chat_thread = $4, chat_header_digest = $5,
           updated_at = now() WHERE id = $1`,
        [thread.id, r.adapter.platform, ref.channel, ref.thread, headerDigest(header)],
      ),
    );
    return { ...r, ref, thread: { ...thread, chat_thread: ref.thread, chat_channel: ref.channel } };
  }

  private async commentThreadRow(
    accountId: string,
    rootCommentId: string,
  ): Promise<CommentThreadRow | undefined> {
    const { rows } = await this.deps.db.query<CommentThreadRow>(
      "SELECT * FROM comment_threads WHERE account_id = $1 AND root_comment_id = $2",
      [accountId, rootCommentId],
    );
    return rows[0];
  }

  private async commentHeaderOf(r: Route, thread: CommentThreadRow): Promise<CommentHeader> {
    const { adapter, account } = r;
    return commentHeader(
      account,
      thread,
      await this.rootText(thread),
      this.now(),
      r.held,
      thread.author_id
        ? await this.customerContext(adapter, account.id, thread.author_id, {
            kind: "comment",
            id: thread.id,
          })
        : undefined,
    );
  }

  /** What a root shows about its customer: notes, labels, and their other threads with the
   * account, linked where the platform gives links. */
  private async customerContext(
    adapter: ChatAdapter,
    accountId: string,
    customerId: string,
    self: { kind: "dm" | "comment"; id: number },
  ): Promise<CustomerContext> {
    const context: CustomerContext = await loadCustomerContext(this.deps.db, accountId, customerId);
    const earlier = await loadEarlierThreads(this.deps.db, accountId, customerId, self);
    return this.withEarlier(adapter, context, earlier);
  }

  /** The context with the customer's other threads, linked where the platform gives links. */
  private async withEarlier(
    adapter: ChatAdapter,
    context: CustomerContext,
    earlier: { count: number; threads: EarlierThreadRow[] },
  ): Promise<CustomerContext> {
    if (earlier.count === 0) return context;
    const threads: EarlierThread[] = [];
    for (const t of earlier.threads) {
      const shown: EarlierThread = { kind: t.kind, at: t.at };
      if (t.status) shown.status = t.status;
      const url =
        t.chat_platform === adapter.platform && t.chat_channel && t.chat_thread
          ? await this.threadLink(adapter, { channel: t.chat_channel, thread: t.chat_thread })
          : undefined;
      if (url) shown.url = url;
      threads.push(shown);
    }
    context.earlier = { count: earlier.count, threads };
    return context;
  }

  /** A thread's link, asked of the platform once per thread (a Slack permalink is a call): a
   * thread's address does not change. A missing link only leaves the root without it. */
  private async threadLink(adapter: ChatAdapter, ref: ThreadRef): Promise<string | undefined> {
    if (!adapter.threadLink) return undefined;
    const key = `${adapter.platform}\u0000${ref.channel}\u0000${ref.thread}`;
    const known = this.threadLinks.get(key);
    if (known !== undefined) return known;
    const url = await adapter.threadLink(ref).catch((err: unknown) => {
      this.deps.log.debug({ err, platform: adapter.platform }, "thread link not available");
      return undefined;
    });
    if (url === undefined) return undefined;
    // Bounded: the oldest entry goes (a Map keeps insertion order).
    if (this.threadLinks.size >= THREAD_LINKS_KEPT) {
      const oldest = this.threadLinks.keys().next().value;
      if (oldest !== undefined) this.threadLinks.delete(oldest);
    }
    this.threadLinks.set(key, url);
    return url;
  }

  private existingRef(
    adapter: ChatAdapter,
    row: { chat_platform: string | null; chat_channel: string | null; chat_thread: string | null },
  ): ThreadRef | undefined {
    if (row.chat_thread && row.chat_channel && row.chat_platform === adapter.platform)
      return { channel: row.chat_channel, thread: row.chat_thread };
    return undefined;
  }

  private async open(
    adapter: ChatAdapter,
    account: AccountRow,
    header: ThreadHeader,
    key: string,
  ): Promise<ThreadRef> {
    const channel = account.chat_channel ?? "";
    const ref = await adapter.openThread(
      channel,
      header,
      this.once(key, async (thread) => {
        const { rows } = await this.deps.db.query(
          `SELECT 1 FROM conversations WHERE chat_channel = $1 AND chat_thread = $2
           UNION ALL SELECT 1 FROM comment_threads WHERE chat_channel = $1 AND chat_thread = $2
           UNION ALL SELECT 1 FROM mentions WHERE chat_channel = $1 AND chat_thread = $2 LIMIT 1`,
          [channel, thread],
        );
        return rows.length > 0;
      }),
    );
    this.count(adapter, "open_thread");
    return ref;
  }

  /** The idempotency of a create call made while mirroring the current event. */
  private once(key: string, taken: (ref: string) => Promise<boolean>): Idempotency {
    const since = this.currentEvent.getStore()?.resumedSince;
    return { key, taken, ...(since ? { since } : {}) };
  }

  /** Re-renders a DM thread's root when what it shows has changed (window, seen, status, held). */
  async refreshDmHeader(accountId: string, customerId: string): Promise<void> {
    const t = await this.dmThread(accountId, customerId, { create: false });
    if (t) await this.refreshHeader(t);
  }

  /** Re-renders a comment thread's root (moderation state, private reply used, held). */
  async refreshCommentHeader(accountId: string, rootCommentId: string): Promise<void> {
    const r = await this.route(accountId);
    if (!r) return;
    const thread = await this.commentThreadRow(accountId, rootCommentId);
    const ref = thread && this.existingRef(r.adapter, thread);
    if (!thread || !ref) return;
    const header = await this.commentHeaderOf(r, thread);
    await this.updateIfChanged(
      r.adapter,
      ref,
      "comment_threads",
      thread.id,
      thread.chat_header_digest,
      header,
    );
  }

  private async refreshHeader(t: DmThread, read?: DmRoot<ConversationRow>): Promise<void> {
    // The conversation as it is now, the customer's notes, labels and other threads: one query
    // (or read already, with the post's ref).
    const root = read ?? (await loadDmRoot<ConversationRow>(this.deps.db, t.account.id, t.convo.customer_id));
    const convo = root?.convo ?? t.convo;
    const context = root
      ? await this.withEarlier(t.adapter, root.context, root.earlier)
      : await this.customerContext(t.adapter, t.account.id, convo.customer_id, { kind: "dm", id: convo.id });
    const header = dmHeader(
      t.account,
      convo,
      this.now(),
      this.deps.humanAgent,
      t.held,
      context,
      this.deps.appNames,
    );
    await this.updateIfChanged(t.adapter, t.ref, "conversations", convo.id, convo.chat_header_digest, header);
  }

  private async updateIfChanged(
    adapter: ChatAdapter,
    ref: ThreadRef,
    table: "conversations" | "comment_threads",
    id: number,
    digest: string | null,
    header: ThreadHeader,
  ): Promise<void> {
    const next = headerDigest(header);
    if (next === digest) return;
    await adapter.updateHeader(ref, header);
    this.count(adapter, "update_header");
    await this.deps.db.query(`UPDATE ${table} SET chat_header_digest = $2 WHERE id = $1`, [id, next]);
  }

  /** What a root shows as the reason sending is held (InstagramGateway.holdReason, from the
   * route's read); nothing for an account not connected, nor without a gateway. */
  private heldBy(state: SendingState): string | undefined {
    if (!this.deps.gateway) return undefined;
    const reason = holdReasonOf(state);
    return reason === "this Instagram account is not connected" ? undefined : reason;
  }

  // ——— Profiles and media (through the rate-limited gateway; the mirror never waits long) ———

  private async freshProfile(convo: ConversationRow): Promise<ConversationRow> {
    const gw = this.deps.gateway;
    const fetchedAt = convo.profile_fetched_at ? new Date(convo.profile_fetched_at).getTime() : 0;
    const now = this.now().getTime();
    if (!gw || now - fetchedAt < this.deps.refreshMs) return convo;
    // A look-up that could not be made (rate limit, Meta down) is not tried again on every message.
    const lastTry = this.profileTries.get(convo.id);
    if (lastTry !== undefined && now - lastTry < PROFILE_RETRY_MS) return convo;
    if (this.profileTries.size > 10_000) this.profileTries.clear();
    this.profileTries.set(convo.id, now);
    const out = await gw.call(
      convo.account_id,
      "platform",
      (token) => gw.graph.getUserProfile(token, convo.customer_id),
      { maxWaitMs: PROFILE_WAIT_MS },
    );
    if (out.kind !== "ok") {
      this.deps.log.debug(
        { account: convo.account_id, outcome: out.kind },
        "profile not fetched; thread opens without it",
      );
      return convo;
    }
    await this.deps.db.query(
      "UPDATE conversations SET profile = $2, profile_fetched_at = now() WHERE id = $1",
      [convo.id, JSON.stringify(out.value)],
    );
    return { ...convo, profile: out.value, profile_fetched_at: this.now() };
  }

  private async freshMedia(thread: CommentThreadRow): Promise<CommentThreadRow> {
    if (thread.media) return thread;
    const media = await this.fetchMedia(thread.account_id, thread.media_id, 0);
    return media ? { ...thread, media, media_fetched_at: this.now() } : thread;
  }

  /** Fetches a post's caption, link and picture onto its comment threads; undefined when the
   * call could not be made within `maxWaitMs` or failed. */
  async fetchMedia(
    accountId: string,
    mediaId: string,
    maxWaitMs: number,
  ): Promise<MediaSnapshot | undefined> {
    const gw = this.deps.gateway;
    if (!gw) return undefined;
    const out = await gw.call(accountId, "platform", (token) => gw.graph.getMedia(token, mediaId), {
      maxWaitMs,
    });
    if (out.kind !== "ok") return undefined;
    const media: MediaSnapshot = {
      ...(out.value.caption ? { caption: out.value.caption } : {}),
      ...(out.value.permalink ? { permalink: out.value.permalink } : {}),
      ...(out.value.thumbnailUrl ? { thumbnailUrl: out.value.thumbnailUrl } : {}),
      ...(out.value.mediaProductType ? { mediaProductType: out.value.mediaProductType } : {}),
    };
    await this.deps.db.query(
      "UPDATE comment_threads SET media = $3, media_fetched_at = now() WHERE account_id = $1 AND media_id = $2",
      [accountId, mediaId, JSON.stringify(media)],
    );
    return media;
  }

  // ——— Messages ———

  private async rootText(thread: CommentThreadRow): Promise<string | undefined> {
    const row = await this.message(thread.account_id, thread.root_comment_id);
    return row?.text ?? undefined;
  }

  private async message(accountId: string, igMessageId: string): Promise<MessageRow | undefined> {
    const { rows } = await this.deps.db.query<MessageRow>(
      `SELECT id, conversation_id, comment_thread_id, author_kind, author_id, text, attachments, details, chat_ref,
              deleted_at, occurred_at FROM messages
       WHERE account_id = $1 AND ig_message_id = $2`,
      [accountId, igMessageId],
    );
    return rows[0];
  }

  private async quoted(accountId: string, mid: string | undefined) {
    if (!mid) return undefined;
    const row = await this.message(accountId, mid);
    if (!row) return undefined;
    const author =
      row.author_kind === "customer" ? "customer" : row.author_kind === "agent" ? "agent" : "business";
    return { author, text: row.deleted_at ? "(removed)" : (row.text ?? "(attachment)") };
  }

  /** Posts once: the ref is stored on the message, or on the event when there is no message row.
   * `root`: the DM root's rows are read in the ref's statement and returned (undefined when the
   * post was made before, or the conversation is gone). */
  private async postOnce(
    t: { adapter: ChatAdapter; ref: ThreadRef; account: AccountRow },
    messageId: number | undefined,
    post: MirrorPost,
    root?: { accountId: string; customerId: string },
  ): Promise<DmRoot<ConversationRow> | undefined> {
    const eventId = this.currentEvent.getStore()?.eventId;
    if (messageId === undefined && eventId !== undefined) {
      const { rows } = await this.deps.db.query<{ mirror_ref: string | null }>(
        "SELECT mirror_ref FROM inbound_events WHERE id = $1",
        [eventId],
      );
      if (rows[0]?.mirror_ref) return undefined;
    }
    const key = messageId !== undefined ? `message:${messageId}` : `event:${eventId ?? "none"}`;
    const ref = await t.adapter.post(
      t.ref,
      post,
      this.once(key, async (found) => {
        const { rows } = await this.deps.db.query(
          "SELECT 1 FROM messages WHERE account_id = $1 AND chat_ref = $2",
          [t.account.id, found],
        );
        return rows.length > 0;
      }),
    );
    this.count(t.adapter, "post");
    if (messageId !== undefined) return this.setChatRef(messageId, ref, root);
    if (eventId !== undefined)
      await afterOutsideCall(() =>
        this.deps.db.query("UPDATE inbound_events SET mirror_ref = $2 WHERE id = $1", [eventId, ref]),
      );
    return undefined;
  }

  /** Stores a post's ref on its message; with `root`, reads that DM root's rows in the same
   * statement (the update runs whatever the read finds). */
  private async setChatRef(
    messageId: number,
    ref: string,
    root?: { accountId: string; customerId: string },
  ): Promise<DmRoot<ConversationRow> | undefined> {
    // Committed without waiting for the flush (db/unflushed-commit.ts): lost only with Postgres
    // itself, after which the event's retry finds the post by its key.
    const store = `UPDATE messages SET chat_ref = $1, updated_at = now() WHERE id = $2 RETURNING ${UNFLUSHED_COMMIT}`;
    if (!root) {
      await afterOutsideCall(() => queryNamed(this.deps.db, "tb_chat_ref", store, [ref, messageId]));
      return undefined;
    }
    const { rows } = await afterOutsideCall(() =>
      queryNamed<DmRootRow>(
        this.deps.db,
        "tb_chat_ref_root",
        `WITH stored AS (${store}) ${dmRootSql(3, 4)}`,
        [ref, messageId, root.accountId, root.customerId],
      ),
    );
    return dmRootOf<ConversationRow>(rows[0]);
  }

  private async setDetail(messageId: number, key: string, value: unknown): Promise<void> {
    await this.deps.db.query(
      "UPDATE messages SET details = jsonb_set(details, $2::text[], $3::jsonb), updated_at = now() WHERE id = $1",
      [messageId, `{${key}}`, JSON.stringify(value)],
    );
  }

  private count(adapter: ChatAdapter, operation: string): void {
    this.deps.metrics.mirrorPosts.inc({ platform: adapter.platform, operation });
  }
}
