import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import { recordAudit } from "../audit/audit-log.ts";
import type { Admins } from "../chat/admins.ts";
import type {
  ActionResult,
  AgentIdentity,
  ChatAdapter,
  ChatPlatform,
  CommentAction,
  ModerationCommand,
} from "../chat/chat-port.ts";
import { chatKey } from "../chat/ids.ts";
import { refuseOutside, type Scope } from "../chat/scope.ts";
import {
  accountThreadSettings,
  noticeIn,
  preview,
  storeAgentReply,
  type Thread,
} from "../conversations/threads.ts";
import type { Database } from "../db/database.ts";
import { parseInstagramTarget, shortcodeOf } from "../instagram/links.ts";
import type { Logger } from "../log/logger.ts";
import type { Mirror } from "../mirror/mirror.ts";
import type { GatewayOutcome, InstagramGateway } from "../outbound/instagram-gateway.ts";
import {
  commentThreadOf,
  mediaById,
  mediaByShortcode,
  mediaWithoutLink,
  recentThreadsOf,
  type StoredComment,
  type StoredMedia,
} from "./moderation-targets.ts";

// Comment moderation, one explicit action at a time (policy A.19, A.23): hide, unhide, delete,
// public and private reply, from a comment thread's buttons, its `!commands` and `/ig`, and
// comments turned off or on for a whole post from `/ig`. The thread says who did what, the
// header shows the new state, and every action (and refusal) is audited. Delete is for admins
// only: it cannot be undone. Instagram allows none of it on live media but the private reply.

export interface ModerationDeps {
  db: Database;
  boss: PgBoss;
  gateway: InstagramGateway;
  mirror: Mirror;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  admins: Admins;
  log: Logger;
}

/** "Who did what" goes to this many of a post's comment threads, the most recent ones. */
const MEDIA_NOTICE_THREADS = 3;
/** A pasted post link not matched: how many stored posts without a link to ask Instagram about. */
const LINK_LOOKUPS = 5;
const LINK_LOOKUP_WAIT_MS = 2_000;

const COMMENT_HELP = "Paste the comment's link (…/p/SHORTCODE/c/COMMENT_ID/) or give its id.";
const MEDIA_HELP = "Paste the post's link (…/p/SHORTCODE/ or …/reel/SHORTCODE/) or give its media id.";

/** Why a call to Instagram did not go through, in the gateway's own words. */
function failure(outcome: Exclude<GatewayOutcome<unknown>, { kind: "ok" }>): string {
  return outcome.kind === "failed" || outcome.kind === "uncertain" ? outcome.error.reason : outcome.reason;
}

export class Moderation {
  private readonly deps: ModerationDeps;

  constructor(deps: ModerationDeps) {
    this.deps = deps;
  }

  /** A comment thread root's buttons and reply modal, and the thread's `!commands`. `scope`, when
   * the action came with a channel (buttons, modals): a comment of an account not routed there is
   * refused, whatever custom id reached us. */
  async comment(
    agent: AgentIdentity,
    action: CommentAction,
    commentId: string,
    text: string | undefined,
    scope?: Scope,
  ): Promise<ActionResult> {
    const t = await commentThreadOf(this.deps.db, commentId);
    if (!t) return { ok: false, text: `No mirrored comment ${commentId}.` };
    if (scope && !scope.accounts.has(t.account_id))
      return refuseOutside(this.deps.log, agent, scope, action, t.account_id);
    return this.onComment(agent, action, commentId, text, t);
  }

  /** `/ig hide|unhide|delete|reply|comments-off|comments-on <link or id>`: the target as typed,
   * reaching only the accounts of `scope` (those routed to the channel where it was asked). */
  async moderate(
    agent: AgentIdentity,
    action: ModerationCommand,
    target: string,
    text: string | undefined,
    scope: Scope,
  ): Promise<ActionResult> {
    const typed = target.trim();
    const parsed = parseInstagramTarget(typed);
    if (action === "comments_off" || action === "comments_on") {
      if (!parsed)
        return {
          ok: false,
          text: `${typed ? `“${typed}” is not a post link or a media id. ` : ""}${MEDIA_HELP}`,
        };
      const media = await this.mediaOf(parsed);
      if (typeof media === "string") return { ok: false, text: media };
      if (!scope.accounts.has(media.accountId))
        return refuseOutside(this.deps.log, agent, scope, action, media.accountId);
      return this.setComments(agent, media, action === "comments_on");
    }
    if (!parsed)
      return {
        ok: false,
        text: `${typed ? `“${typed}” is not a comment link or a comment id. ` : ""}${COMMENT_HELP}`,
      };
    if (parsed.kind === "post")
      return { ok: false, text: `That is the link of a post, not of one of its comments. ${COMMENT_HELP}` };
    const commentId = parsed.kind === "comment" ? parsed.commentId : parsed.id;
    const body = text?.trim();
    if (action === "reply" && !body)
      return {
        ok: false,
        text: "Write the public reply's text after the comment: /ig reply <comment> your answer.",
      };
    const t = await commentThreadOf(this.deps.db, commentId);
    if (t && !scope.accounts.has(t.account_id))
      return refuseOutside(this.deps.log, agent, scope, action, t.account_id);
    if (!t) {
      if (parsed.kind === "id" && (await mediaById(this.deps.db, commentId)))
        return { ok: false, text: `${commentId} is a post's media id, not a comment. ${COMMENT_HELP}` };
      return {
        ok: false,
        text: `No mirrored comment ${commentId}: threadbridge moderates the comments it has received.`,
      };
    }
    // A public reply goes under the top-level comment: Instagram attaches replies to a reply there.
    if (action === "reply") return this.onComment(agent, "reply_public", t.root_comment_id, body, t);
    return this.onComment(agent, action, commentId, body, t);
  }

  private async onComment(
    agent: AgentIdentity,
    action: CommentAction,
    commentId: string,
    text: string | undefined,
    t: StoredComment,
  ): Promise<ActionResult> {
    const by = chatKey(agent.platform, agent.id);
    if (t.live && action !== "reply_private")
      return {
        ok: false,
        text: "Instagram allows no moderation on a live broadcast's comments, only a private reply during it.",
      };
    if (action === "delete" && !this.deps.admins.allows(agent))
      return this.deps.admins.refuse(agent, "delete", "delete comments", {
        account: t.account_id,
        target: `comment:${commentId}`,
      });
    const gw = this.deps.gateway;
    const who = agent.name;

    if (action === "reply_private") {
      if (t.private_reply_sent_at)
        return { ok: false, text: "This comment already has its one private reply." };
      if (!text?.trim()) return { ok: false, text: "Write the private reply's text." };
      const thread: Thread = {
        kind: "comment",
        id: t.id,
        accountId: t.account_id,
        rootCommentId: t.root_comment_id,
        // Signed as the account's human replies are.
        settings: await accountThreadSettings(this.deps.db, t.account_id),
      };
      await storeAgentReply(
        this.deps.db,
        this.deps.boss,
        thread,
        agent,
        `action:${uuidv7()}`,
        text.trim(),
        [],
      );
      await noticeIn(this.deps.adapters, t, `✉️ ${who} is sending a private reply: “${preview(text)}”`);
      return { ok: true, text: "Private reply queued." };
    }

    let outcome: GatewayOutcome<unknown>;
    let done: string;
    switch (action) {
      case "hide":
      case "unhide":
        outcome = await gw.call(t.account_id, "platform", (token) =>
          gw.graph.hideComment(token, commentId, action === "hide"),
        );
        done = `${action === "hide" ? "🙈" : "👁️"} ${who} ${action === "hide" ? "hid" : "unhid"} the comment.`;
        break;
      case "delete":
        outcome = await gw.call(t.account_id, "platform", (token) =>
          gw.graph.deleteComment(token, commentId),
        );
        done = `🗑️ ${who} deleted the comment on Instagram.`;
        break;
      case "reply_public": {
        const body = text?.trim();
        if (!body) return { ok: false, text: "Write the public reply's text." };
        outcome = await gw.call(t.account_id, "platform", (token) =>
          gw.graph.replyToComment(token, commentId, body),
        );
        done = `💬 ${who} replied publicly: “${preview(body)}”`;
        if (outcome.kind === "ok") {
          const id = (outcome.value as { id: string }).id;
          // Recorded as ours, so the webhook of this reply is not mirrored a second time.
          await this.deps.db.query(
            `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, author_id, ig_message_id, text,
                                   delivery_state, sent_at, send_route, occurred_at)
             VALUES ($1, $2, 'outbound', 'agent', $3, $4, $5, 'sent', now(), 'public_reply', now())
             ON CONFLICT (account_id, ig_message_id) DO UPDATE SET author_kind = 'agent', author_id = EXCLUDED.author_id`,
            [t.account_id, t.id, by, id, body],
          );
        }
        break;
      }
    }
    if (outcome.kind !== "ok")
      return { ok: false, text: `Instagram did not ${action.replace("_", " ")} it: ${failure(outcome)}.` };
    if (commentId === t.root_comment_id && action !== "reply_public") {
      if (action === "delete")
        await this.deps.db.query(
          "UPDATE comment_threads SET deleted_at = now(), updated_at = now() WHERE id = $1",
          [t.id],
        );
      else
        await this.deps.db.query("UPDATE comment_threads SET hidden = $2, updated_at = now() WHERE id = $1", [
          t.id,
          action === "hide",
        ]);
    }
    if (action === "delete")
      await this.deps.db.query(
        "UPDATE messages SET text = NULL, deleted_at = now(), updated_at = now() WHERE account_id = $1 AND ig_message_id = $2",
        [t.account_id, commentId],
      );
    this.deps.log.info({ account: t.account_id, action, by }, "comment moderated");
    await recordAudit(this.deps.db, {
      actor: { kind: "agent", id: by, name: agent.name },
      account: t.account_id,
      action: `comment_${action}`,
      target: `comment:${commentId}`,
    });
    await noticeIn(this.deps.adapters, t, done);
    await this.deps.mirror.refreshCommentHeader(t.account_id, t.root_comment_id);
    return { ok: true, text: done };
  }
  /** The post a parsed target names; a line for the asker when it names none that is stored. */
  private async mediaOf(
    target: NonNullable<ReturnType<typeof parseInstagramTarget>>,
  ): Promise<StoredMedia | string> {
    const db = this.deps.db;
    switch (target.kind) {
      case "id": {
        const media = await mediaById(db, target.id);
        if (media) return media;
        if (await commentThreadOf(db, target.id))
          return `${target.id} is a comment, not a post. ${MEDIA_HELP} A comment's link works too.`;
        return `No mirrored comment is on media ${target.id}: threadbridge knows a post, and its account, from the comments it has received.`;
      }
      case "comment": {
        // The comment id is exact; the shortcode is the fallback for a comment not stored.
        const t = await commentThreadOf(db, target.commentId);
        const media =
          (t && (await mediaById(db, t.media_id))) ?? (await this.postByShortcode(target.shortcode));
        return media ?? this.unknownPost(target.shortcode);
      }
      case "post":
        return (await this.postByShortcode(target.shortcode)) ?? this.unknownPost(target.shortcode);
    }
  }

  private async postByShortcode(shortcode: string): Promise<StoredMedia | undefined> {
    const db = this.deps.db;
    const known = await mediaByShortcode(db, shortcode);
    if (known) return known;
    // The mirror fetches a post's link once, without waiting, as its first thread opens: a few
    // posts may lack it, so ask Instagram about the most recent of those before giving up.
    for (const m of await mediaWithoutLink(db, LINK_LOOKUPS)) {
      const media = await this.deps.mirror.fetchMedia(m.accountId, m.mediaId, LINK_LOOKUP_WAIT_MS);
      if (media?.permalink && shortcodeOf(media.permalink) === shortcode) return mediaById(db, m.mediaId);
    }
    return undefined;
  }

  private unknownPost(shortcode: string): string {
    return `No mirrored comment is on the post …/p/${shortcode}/: threadbridge finds a post, and its account, from the comments it has mirrored. Give its media id if you have it.`;
  }

  /** `POST /{media}?comment_enabled=…` (reference 3): not on live media. */
  private async setComments(
    agent: AgentIdentity,
    media: StoredMedia,
    enabled: boolean,
  ): Promise<ActionResult> {
    const onOff = enabled ? "on" : "off";
    if (media.live)
      return { ok: false, text: `Instagram does not allow turning comments ${onOff} on live media.` };
    const gw = this.deps.gateway;
    const outcome = await gw.call(media.accountId, "platform", (token) =>
      gw.graph.setCommentsEnabled(token, media.mediaId, enabled),
    );
    if (outcome.kind !== "ok")
      return { ok: false, text: `Instagram did not turn comments ${onOff}: ${failure(outcome)}.` };
    const by = chatKey(agent.platform, agent.id);
    this.deps.log.info(
      { account: media.accountId, media: media.mediaId, enabled, by },
      "media comments switched",
    );
    await recordAudit(this.deps.db, {
      actor: { kind: "agent", id: by, name: agent.name },
      account: media.accountId,
      action: enabled ? "media_comments_enabled" : "media_comments_disabled",
      target: `media:${media.mediaId}`,
    });
    const done = `${enabled ? "💬" : "🔇"} ${agent.name} turned comments ${onOff} for the post ${media.permalink ?? media.mediaId}.`;
    for (const place of await recentThreadsOf(this.deps.db, media, MEDIA_NOTICE_THREADS))
      await noticeIn(this.deps.adapters, place, done);
    return { ok: true, text: done };
  }
}
