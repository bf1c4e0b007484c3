import { AUDIT_COLUMNS, auditPreview, auditValues, recordAudit } from "../audit/audit-log.ts";
import type { AgentFile, ChatAdapter, ChatPlatform, Mark, ThreadRef } from "../chat/chat-port.ts";
import { parseChatKey } from "../chat/ids.ts";
import { afterOutsideCall } from "../db/after-outside-call.ts";
import type { Database } from "../db/database.ts";
import { queryNamed } from "../db/query-named.ts";
import type {
  GenericElement,
  QuickReply,
  SendBody,
  SendMessageContent,
  SendRecipient,
} from "../instagram/graph-client.ts";
import { holderName } from "../instagram/thread-control.ts";
import {
  type ConversationEntry,
  PRIVATE_REPLY_WINDOW_MS,
  type Sender,
  sendPermission,
  storedEntry,
  windowState,
} from "../instagram/windows.ts";
import type { Logger } from "../log/logger.ts";
import type { Mirror } from "../mirror/mirror.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { ApiClass } from "../ratelimit/classes.ts";
import { Admitted, type InstagramGateway } from "./instagram-gateway.ts";
import { type Part, partsOf, sendClass } from "./parts.ts";

// Sends one outbound message (an agent's reply, an automation's message) to Instagram. The job is
// keyed by conversation in a strict-FIFO queue, so a second reply never overtakes the first: a
// message that must wait (rate limit, pause, uncertain delivery) makes its job retry, and the
// queue holds the conversation's later messages behind it.
//
// Crash safety: `send_started_at` is committed before each Graph call and the returned message id
// right after it. A retry that finds a call started but no id does not resend at once: it waits
// the echo grace for the echo webhook, which (echo-match.ts) marks the part delivered. Only when
// no echo arrives within it is the part sent again. What remains possible: a worker killed
// during the call, for a message Instagram did deliver but whose echo arrives later than
// the grace (or never, without the echo subscription), is delivered twice. Echoes
// normally arrive within seconds.

/** Thrown to leave the job for a later retry; its conversation's later messages wait behind it. */
export class SendDeferred extends Error {
  override name = "SendDeferred";
  readonly retryAfterMs: number;
  constructor(reason: string, retryAfterMs: number) {
    super(reason);
    this.retryAfterMs = retryAfterMs;
  }
}

export interface OutboundRow {
  id: number;
  account_id: string;
  conversation_id: number | null;
  comment_thread_id: number | null;
  author_kind: "agent" | "rule";
  /** `platform:id` for agents (chat/ids.ts), the rule id for rules. */
  sender_id: string | null;
  text: string | null;
  attachments: AgentFile[];
  details: {
    partsDone?: number;
    partsTotal?: number;
    partMids?: string[];
    agentName?: string;
    quickReplies?: QuickReply[];
    imageUrl?: string;
    urlAttachments?: { type: "image" | "file"; url: string }[];
    /** A saved reply's cards, expanded: one generic template after the text. */
    cards?: GenericElement[];
    /** The saved reply it was expanded from. */
    snippet?: string;
    /** The mid its first part quotes (Message Replies API). */
    replyTo?: string;
    /** Instagram refused the several-image form at this part: from it on, one image per call. */
    imagesOneByOneFrom?: number;
  };
  chat_ref: string | null;
  delivery_state: "pending" | "held" | "sent" | "failed";
  delivery_error: string | null;
  send_started_at: Date | null;
  ig_message_id: string | null;
  chat_mark: Mark | null;
  send_route: string | null;
  // The conversation (DM) or comment thread it belongs to.
  customer_id: string | null;
  last_customer_message_at: Date | null;
  entry_point: string | null;
  entry_at: Date | null;
  /** Another app holds the conversation on Instagram (Conversation Routing); null: this app. */
  controlled_by: string | null;
  root_comment_id: string | null;
  author_id: string | null;
  root_commented_at: Date | null;
  private_reply_sent_at: Date | null;
  live: boolean | null;
  chat_platform: ChatPlatform | null;
  chat_channel: string | null;
  chat_thread: string | null;
  held_notice_at: Date | null;
}

type Route =
  | { ok: true; via: "dm"; recipient: SendRecipient; messaging: Pick<SendBody, "messaging_type" | "tag"> }
  | { ok: true; via: "private_reply"; recipient: SendRecipient; cls: ApiClass }
  | { ok: false; reason: string };

export interface SenderDeps {
  db: Database;
  gateway: InstagramGateway;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  mirror: Mirror | undefined;
  log: Logger;
  metrics: Metrics;
  humanAgent: boolean;
  /** A short-lived public URL from which Instagram fetches an agent's file. */
  fileUrl: (platform: ChatPlatform, file: AgentFile) => string;
  /** See echo-match.ts. */
  echoGraceMs: number;
  now?: () => Date;
  /** Other apps' names (IG_APP_NAMES), for the reason a reply is held. */
  appNames?: ReadonlyMap<string, string>;
}

/** The columns of an OutboundRow, over `m` (the message), `c` (its conversation) and `t` (its
 * comment thread). */
const ROW_COLUMNS = `m.id, m.account_id, m.conversation_id, m.comment_thread_id, m.author_kind, m.author_id AS sender_id,
         m.text, m.attachments, m.details,
         m.chat_ref, m.delivery_state, m.delivery_error, m.send_started_at, m.ig_message_id, m.chat_mark, m.send_route,
         c.customer_id, c.last_customer_message_at, c.entry_point, c.entry_at, c.controlled_by,
         t.root_comment_id, t.author_id, t.root_commented_at, t.private_reply_sent_at, t.live,
         COALESCE(c.chat_platform, t.chat_platform) AS chat_platform,
         COALESCE(c.chat_channel, t.chat_channel) AS chat_channel,
         COALESCE(c.chat_thread, t.chat_thread) AS chat_thread,
         COALESCE(c.held_notice_at, t.held_notice_at) AS held_notice_at`;

const LOAD = `
  SELECT ${ROW_COLUMNS}
    FROM messages m
    LEFT JOIN conversations c ON c.id = m.conversation_id
    LEFT JOIN comment_threads t ON t.id = m.comment_thread_id
   WHERE m.id = $1`;

/**
 * A part delivered, in one statement (so one commit, and one round trip where a transaction took
 * five): its message id stored (a later part's id kept in `partMids`) and the attempt's mark
 * cleared; the comment thread's one private reply used ($7, the thread, when it was one); the
 * conversation's business time moved to when the call left, when the whole message is delivered
 * ($8, the conversation, then); the audit entry of an agent's reply ($9–$14, written when $15).
 * Returns the message as LOAD reads it, after the change (its thread's columns as they were, the
 * private reply's time excepted), and whether this was the business's first word since the
 * customer's last message.
 */
const DELIVERED = `
  WITH attempt AS (
    SELECT send_started_at FROM messages WHERE id = $1
  ), marked AS (
    UPDATE messages SET
           ig_message_id = COALESCE(ig_message_id, $2),
           details = (CASE WHEN ig_message_id IS NULL OR ig_message_id = $2 THEN details
                           ELSE jsonb_set(details, '{partMids}', COALESCE(details->'partMids', '[]'::jsonb) || to_jsonb($2::text)) END)
                     || jsonb_build_object('partsDone', $3::int),
           send_started_at = NULL,
           send_route = $5, messaging_tag = COALESCE($6, messaging_tag),
           delivery_state = CASE WHEN $3::int >= $4::int THEN 'sent' ELSE delivery_state END,
           sent_at = CASE WHEN $3::int >= $4::int THEN now() ELSE sent_at END,
           delivery_error = NULL, updated_at = now()
      FROM attempt
     WHERE id = $1
    RETURNING messages.*, attempt.send_started_at AS started
  ), reply AS (
    UPDATE comment_threads SET private_reply_sent_at = now(), private_reply_message_id = $2, updated_at = now()
     WHERE id = $7
    RETURNING private_reply_sent_at
  ), spoke AS (
    -- It spoke when the call left, not when this write runs (after Instagram's answer, later still
    -- on a busy worker): a customer who answers it at once wrote after it, and reads as waiting on us.
    UPDATE conversations c
       SET last_business_message_at = GREATEST(c.last_business_message_at, COALESCE((SELECT started FROM marked), now()))
      FROM (SELECT id, last_business_message_at AS before FROM conversations WHERE id = $8) o
     WHERE c.id = o.id
    RETURNING (o.before IS NULL OR o.before < c.last_customer_message_at) AS answered
  ), audited AS (
    INSERT INTO audit_log ${AUDIT_COLUMNS}
    SELECT $9::text, $10::text, $11::text, $12::text, $13::text, $14::jsonb WHERE $15::boolean
  )
  SELECT ${ROW_COLUMNS},
         (SELECT private_reply_sent_at FROM reply) AS reply_sent_at,
         COALESCE((SELECT answered FROM spoke), false) AS answered
    FROM marked m
    LEFT JOIN conversations c ON c.id = m.conversation_id
    LEFT JOIN comment_threads t ON t.id = m.comment_thread_id`;

export class OutboundSender {
  private readonly deps: SenderDeps;
  /** Messages whose delivery was the business's first word since the customer's last message,
   * until their report re-renders the root (queue state). Emptied as each is reported. */
  private readonly answered = new Set<number>();

  constructor(deps: SenderDeps) {
    this.deps = deps;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Sends message `id`, or throws SendDeferred to be retried later. Safe to call again. */
  async send(id: number): Promise<"sent" | "failed" | "gone"> {
    let row = await this.load(id);
    if (!row) return "gone";
    if (row.delivery_state === "sent" || row.delivery_state === "failed") {
      await this.report(row);
      return row.delivery_state;
    }
    if (row.send_started_at) {
      // An earlier attempt started a call and never stored its answer: wait for its echo first.
      const elapsed = this.now().getTime() - new Date(row.send_started_at).getTime();
      if (elapsed < this.deps.echoGraceMs) {
        this.deps.metrics.outboundMessages.inc({ result: "awaiting_echo" });
        throw new SendDeferred(
          "an earlier attempt may have been delivered; waiting for its echo",
          this.deps.echoGraceMs - elapsed,
        );
      }
      // A restarted worker takes this retry and the stored echo's job at about the same time: if
      // an echo of this conversation is stored but not yet handled, let it reconcile first.
      if (row.customer_id && (await this.echoWaiting(row.account_id, row.customer_id)))
        throw new SendDeferred("an echo of this conversation is waiting to be handled", 1_000);
      this.deps.log.warn({ messageId: id }, "no echo of an interrupted send; sending that part again");
    }

    const route = await this.route(row);
    if (!route.ok) return this.fail(row, route.reason);
    // The pause switches and the account's token in one round trip, before anything is written:
    // the first part's call takes this admission instead of asking again.
    const admission = await this.deps.gateway.admit(row.account_id);
    if (!(admission instanceof Admitted)) return this.hold(row, admission.held);
    // Never written over another app's conversation: it waits, visibly, until control comes back
    // (a handover event, or an agent's Take control).
    if (row.controlled_by && route.via === "dm" && row.conversation_id !== null)
      return this.hold(
        row,
        `${holderName(row.controlled_by, this.deps.appNames)} holds this conversation on Instagram (take control to send now)`,
      );

    const parts = partsOf(row.text, row.attachments, {
      ...(row.details.quickReplies ? { quickReplies: row.details.quickReplies } : {}),
      ...(row.details.imageUrl ? { imageUrl: row.details.imageUrl } : {}),
      ...(row.details.urlAttachments ? { urlAttachments: row.details.urlAttachments } : {}),
      ...(row.details.cards ? { cards: row.details.cards } : {}),
      ...(row.details.imagesOneByOneFrom !== undefined
        ? { imagesOneByOneFrom: row.details.imagesOneByOneFrom }
        : {}),
    });
    if (parts.length === 0) return this.fail(row, "nothing to send");
    if (route.via === "private_reply" && (parts.length > 1 || parts[0]?.kind !== "text"))
      return this.fail(
        row,
        "a private reply is one text message of up to 1,000 bytes; send files after the customer answers",
      );
    // An agent's file lives where they attached it: the platform of their `platform:id` key.
    const agent = row.author_kind === "agent" ? parseChatKey(row.sender_id ?? "") : undefined;
    const filesFrom = agent?.platform ?? row.chat_platform ?? undefined;
    const hasFile = (p: Part) =>
      p.kind === "file" || (p.kind === "images" && p.items.some((item) => item.kind === "file"));
    if (filesFrom === undefined && parts.some(hasFile))
      return this.fail(row, "the chat platform its file was attached on is unknown");
    const first = row.details.partsDone ?? 0;
    for (let i = first; i < parts.length; i++) {
      const part = parts[i] as Part;
      const cls = route.via === "private_reply" ? route.cls : sendClass(part);
      // The quote goes with the first part only: the customer sees one quoted message, then the rest.
      const body = this.body(route, part, filesFrom ?? "", i === 0 ? row.details.replyTo : undefined);
      // Marked before the rate-limit turn is taken, not inside it: nothing slow (a round trip
      // behind a busy pool) may sit between the limiter's grant and the call Instagram counts. The
      // mark carries the parts planned, which an echo reconciling this attempt reads with it.
      await queryNamed(
        this.deps.db,
        "tb_send_started",
        `UPDATE messages SET send_started_at = now(), send_attempts = send_attempts + 1,
                details = details || jsonb_build_object('partsTotal', $2::int)
          WHERE id = $1`,
        [row.id, parts.length],
      );
      const outcome = await this.deps.gateway.call(
        row.account_id,
        cls,
        (token) => this.deps.gateway.graph.sendMessage(token, row?.account_id ?? "", body),
        // A later part asks again: a pause switched on meanwhile holds the rest of the message.
        i === first ? { admitted: admission } : {},
      );
      switch (outcome.kind) {
        case "ok":
          row = await this.delivered(row, i, parts.length, outcome.value.messageId, route);
          break;
        case "held":
          await this.clearStarted(row.id);
          return this.hold(row, outcome.reason);
        case "deferred":
          await this.clearStarted(row.id);
          await this.setMark(row, "pending");
          this.deps.metrics.outboundMessages.inc({ result: "deferred" });
          throw new SendDeferred(outcome.reason, outcome.retryAfterMs);
        case "uncertain":
          this.deps.metrics.outboundMessages.inc({ result: "uncertain" });
          throw new SendDeferred(
            `${outcome.error.reason}; checking whether it was delivered`,
            this.deps.echoGraceMs,
          );
        case "failed":
          await this.clearStarted(row.id);
          // The several-image form is newer than the single attachment: an API (or an account)
          // that refuses it as a bad request gets the same images one per call instead.
          if (part.kind === "images" && outcome.error.kind === "bad_request") {
            this.deps.log.info(
              { messageId: row.id, code: outcome.error.code, images: part.items.length },
              "several images in one message refused; sending them one by one",
            );
            await this.setDetails(row.id, { imagesOneByOneFrom: i });
            // Planned again: the parts before `i` are the same, no images part is left from it on.
            return this.send(row.id);
          }
          return this.fail(row, outcome.error.reason, outcome.error.code);
      }
    }
    this.deps.metrics.outboundMessages.inc({ result: "sent" });
    await this.report(row);
    return "sent";
  }

  /** How the message may reach the customer now, or why it cannot (DESIGN.md windows). */
  private async route(row: OutboundRow): Promise<Route> {
    const sender: Sender = row.author_kind === "agent" ? "human" : "automation";
    const now = this.now();
    if (row.conversation_id !== null && row.customer_id)
      return this.dmRoute(
        row.customer_id,
        row.last_customer_message_at,
        storedEntry(row.entry_point, row.entry_at),
        sender,
        now,
      );
    if (!row.root_comment_id)
      return { ok: false, reason: "this thread is neither a conversation nor a comment thread" };
    // A comment thread: the first reply is the one private reply Instagram allows per comment...
    if (!row.private_reply_sent_at && row.send_route !== "dm_after_private_reply") {
      const at = row.root_commented_at ? new Date(row.root_commented_at).getTime() : 0;
      if (now.getTime() - at >= PRIVATE_REPLY_WINDOW_MS)
        return { ok: false, reason: "private replies are only possible within 7 days of the comment" };
      return {
        ok: true,
        via: "private_reply",
        recipient: { comment_id: row.root_comment_id },
        cls: row.live ? "private_reply_live" : "private_reply",
      };
    }
    // ...and later ones continue in the DM conversation it opened, once the customer answers.
    if (!row.author_id) return { ok: false, reason: "the comment's author is unknown" };
    const { rows } = await this.deps.db.query<{
      last_customer_message_at: Date | null;
      entry_point: string | null;
      entry_at: Date | null;
    }>(
      "SELECT last_customer_message_at, entry_point, entry_at FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [row.account_id, row.author_id],
    );
    const last = rows[0]?.last_customer_message_at ?? null;
    if (!last)
      return {
        ok: false,
        reason: "the private reply was sent; Instagram allows nothing more until the customer answers it",
      };
    return this.dmRoute(
      row.author_id,
      last,
      storedEntry(rows[0]?.entry_point, rows[0]?.entry_at),
      sender,
      now,
    );
  }

  /** A DM to `customer`, if the window from their last message (and how the conversation opened)
   * allows `sender` to write now. */
  private dmRoute(
    customer: string,
    lastCustomerMessageAt: Date | null,
    entry: ConversationEntry | null,
    sender: Sender,
    now: Date,
  ): Route {
    const permission = sendPermission(
      windowState(lastCustomerMessageAt, now, this.deps.humanAgent, entry),
      sender,
    );
    if (!permission.ok) return permission;
    return {
      ok: true,
      via: "dm",
      recipient: { id: customer },
      messaging:
        permission.messagingType === "RESPONSE"
          ? { messaging_type: "RESPONSE" }
          : { messaging_type: "MESSAGE_TAG", tag: "HUMAN_AGENT" },
    };
  }

  private body(
    route: Extract<Route, { ok: true }>,
    part: Part,
    filesFrom: ChatPlatform,
    replyTo?: string,
  ): SendBody {
    const message: SendMessageContent =
      part.kind === "text"
        ? { text: part.text, ...(part.quickReplies ? { quick_replies: part.quickReplies } : {}) }
        : part.kind === "cards"
          ? {
              attachment: {
                type: "template",
                payload: { template_type: "generic", elements: part.elements },
              },
            }
          : part.kind === "images"
            ? {
                attachments: part.items.map((item) => ({
                  type: "image" as const,
                  payload: { url: item.kind === "url" ? item.url : this.deps.fileUrl(filesFrom, item.file) },
                })),
              }
            : {
                attachment: {
                  type: part.type,
                  payload: {
                    url: part.kind === "url" ? part.url : this.deps.fileUrl(filesFrom, part.file),
                  },
                },
              };
    if (route.via === "private_reply") return { recipient: route.recipient, message };
    const quote = replyTo ? { reply_to: { mid: replyTo } } : {};
    return route.messaging.messaging_type === "MESSAGE_TAG"
      ? { recipient: route.recipient, ...quote, message, messaging_type: "MESSAGE_TAG", tag: "HUMAN_AGENT" }
      : { recipient: route.recipient, ...quote, message, messaging_type: "RESPONSE" };
  }

  /** Stores part `index`'s message id (and the private reply's use) before anything else happens. */
  private async delivered(
    row: OutboundRow,
    index: number,
    total: number,
    mid: string,
    route: Extract<Route, { ok: true }>,
  ): Promise<OutboundRow> {
    const done = index + 1;
    const viaLabel =
      route.via === "private_reply"
        ? "private_reply"
        : row.comment_thread_id !== null
          ? "dm_after_private_reply"
          : "dm";
    const tag = route.via === "dm" && route.messaging.messaging_type === "MESSAGE_TAG" ? "HUMAN_AGENT" : null;
    // Instagram has the message: a Postgres restart now must delay this write, not fail the job
    // into sending it again.
    const whole = done >= total;
    // Rules' replies are audited when they fire (rule_fired); a person's reply when it is delivered.
    const audit = whole && row.author_kind === "agent";
    const { rows } = await afterOutsideCall(() =>
      queryNamed<OutboundRow & { reply_sent_at: Date | null; answered: boolean }>(
        this.deps.db,
        "tb_send_delivered",
        DELIVERED,
        [
          row.id,
          mid,
          done,
          total,
          viaLabel,
          tag,
          route.via === "private_reply" ? row.comment_thread_id : null,
          whole ? row.conversation_id : null,
          ...auditValues({
            actor: { kind: "agent", id: row.sender_id ?? undefined },
            account: row.account_id,
            action: "reply_sent",
            target: auditTarget(row),
            details: {
              messageId: row.id,
              route: viaLabel,
              ...(tag ? { tag } : {}),
              ...(row.text ? { preview: auditPreview(row.text) } : {}),
              ...(row.attachments.length > 0 ? { files: row.attachments.length } : {}),
              ...(row.details.snippet ? { snippet: row.details.snippet } : {}),
              ...(row.details.replyTo ? { quoted: row.details.replyTo } : {}),
            },
          }),
          audit,
        ],
      ),
    );
    const stored = rows[0];
    // Erased meanwhile (a privacy request): nothing was stored, and the rest goes on as it was.
    if (!stored) return row;
    const { reply_sent_at, answered, ...fresh } = stored;
    // The first reply since the customer wrote moves the queue state the root shows.
    if (answered) this.answered.add(row.id);
    return reply_sent_at ? { ...fresh, private_reply_sent_at: reply_sent_at } : fresh;
  }

  private async fail(row: OutboundRow, reason: string, code?: number): Promise<"failed"> {
    await this.deps.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        "UPDATE messages SET delivery_state = 'failed', delivery_error = $2, send_started_at = NULL, updated_at = now() WHERE id = $1 AND delivery_state IN ('pending', 'held') RETURNING id",
        [row.id, reason],
      );
      if (rows.length > 0)
        await recordAudit(tx, {
          actor: { kind: row.author_kind, id: row.sender_id ?? undefined },
          account: row.account_id,
          action: "delivery_failed",
          target: auditTarget(row),
          details: { messageId: row.id, reason, ...(code !== undefined ? { code } : {}) },
        });
    });
    this.deps.metrics.outboundMessages.inc({ result: "failed" });
    this.deps.log.info(
      { messageId: row.id, account: row.account_id, code, reason },
      "outbound message failed",
    );
    const fresh = await this.load(row.id);
    if (fresh) await this.report(fresh);
    return "failed";
  }

  private async hold(row: OutboundRow, reason: string): Promise<never> {
    await this.deps.db.query(
      "UPDATE messages SET delivery_state = 'held', delivery_error = $2, updated_at = now() WHERE id = $1 AND delivery_state = 'pending'",
      [row.id, reason],
    );
    this.deps.metrics.outboundMessages.inc({ result: "held" });
    await this.setMark(row, "held");
    // One notice per thread and pause episode; the root shows the banner meanwhile.
    const thread = this.thread(row);
    if (thread && !row.held_notice_at) {
      const table = row.conversation_id !== null ? "conversations" : "comment_threads";
      const id = row.conversation_id ?? row.comment_thread_id;
      const { rows: first } = await this.deps.db.query(
        `UPDATE ${table} SET held_notice_at = now() WHERE id = $1 AND held_notice_at IS NULL RETURNING id`,
        [id],
      );
      if (first.length > 0)
        await thread.adapter.notice(
          thread.ref,
          `⏸️ Replies are held: ${reason}. They will be sent in order when sending resumes.`,
        );
      await this.refreshHeader(row);
    }
    throw new SendDeferred(`held: ${reason}`, 5_000);
  }

  /** Brings the chat message's mark (and, for failures, the notice) in line with the stored state. */
  private async report(row: OutboundRow): Promise<void> {
    const thread = this.thread(row);
    if (!thread || !row.chat_ref) return;
    if (row.delivery_state === "sent") {
      if (row.chat_mark === "sent") return;
      await this.setMark(row, "sent");
      // A DM's root shows its queue state, which the first reply since the customer wrote changes.
      const answered = this.answered.delete(row.id);
      if (row.held_notice_at || row.send_route === "private_reply" || answered) {
        const table = row.conversation_id !== null ? "conversations" : "comment_threads";
        await this.deps.db.query(`UPDATE ${table} SET held_notice_at = NULL WHERE id = $1`, [
          row.conversation_id ?? row.comment_thread_id,
        ]);
        await this.refreshHeader(row);
      }
      return;
    }
    if (row.delivery_state === "failed" && row.chat_mark !== "failed") {
      await thread.adapter.notice(
        thread.ref,
        `⚠️ Not delivered to Instagram: ${row.delivery_error ?? "unknown reason"}.`,
        {
          retryMessageId: row.id,
        },
      );
      await this.setMark(row, "failed");
    }
  }

  private async setMark(row: OutboundRow, mark: Mark): Promise<void> {
    const thread = this.thread(row);
    if (!thread || !row.chat_ref || row.chat_mark === mark) return;
    await thread.adapter.mark(thread.ref, row.chat_ref, mark);
    await this.deps.db.query("UPDATE messages SET chat_mark = $2 WHERE id = $1", [row.id, mark]);
    row.chat_mark = mark;
  }

  private async refreshHeader(row: OutboundRow): Promise<void> {
    if (!this.deps.mirror) return;
    if (row.customer_id) await this.deps.mirror.refreshDmHeader(row.account_id, row.customer_id);
    else if (row.root_comment_id)
      await this.deps.mirror.refreshCommentHeader(row.account_id, row.root_comment_id);
  }

  private thread(row: OutboundRow): { adapter: ChatAdapter; ref: ThreadRef } | undefined {
    if (!row.chat_platform || !row.chat_channel || !row.chat_thread) return undefined;
    const adapter = this.deps.adapters.get(row.chat_platform);
    return adapter ? { adapter, ref: { channel: row.chat_channel, thread: row.chat_thread } } : undefined;
  }

  private async echoWaiting(account: string, customer: string): Promise<boolean> {
    const { rows } = await this.deps.db.query(
      "SELECT 1 FROM inbound_events WHERE account_id = $1 AND thread_key = $2 AND kind = 'dm.echo' AND status = 'queued' LIMIT 1",
      [account, `dm:${customer}`],
    );
    return rows.length > 0;
  }

  private async clearStarted(id: number): Promise<void> {
    await this.deps.db.query("UPDATE messages SET send_started_at = NULL WHERE id = $1", [id]);
  }

  private async setDetails(id: number, patch: Record<string, unknown>): Promise<void> {
    await this.deps.db.query("UPDATE messages SET details = details || $2::jsonb WHERE id = $1", [
      id,
      JSON.stringify(patch),
    ]);
  }

  private async load(id: number): Promise<OutboundRow | undefined> {
    const { rows } = await this.deps.db.query<OutboundRow>(LOAD, [id]);
    return rows[0];
  }
}

/** The customer or comment a reply went to, as audit entries name them (erasure re-points these). */
function auditTarget(row: OutboundRow): string | undefined {
  if (row.customer_id) return `customer:${row.customer_id}`;
  return row.root_comment_id ? `comment:${row.root_comment_id}` : undefined;
}
