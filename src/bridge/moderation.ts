import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import { recordAudit } from "../audit/audit-log.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { InstagramGateway } from "../outbound/instagram-gateway.ts";
import type { Admins } from "./admins.ts";
import type { ActionResult, AgentIdentity, ChatAdapter, ChatPlatform, CommentAction } from "./chat-port.ts";
import type { Mirror } from "./mirror.ts";
import {
  type ChatPlace,
  DEFAULT_THREAD_SETTINGS,
  noticeIn,
  preview,
  storeAgentReply,
  type Thread,
} from "./threads.ts";

// Comment moderation, one explicit action at a time (policy A.19, A.23): hide, unhide, delete,
// public and private reply, from a comment thread's buttons, its `!commands` and `/ig`. The
// thread says who did what, the header shows the new state, and every action (and refusal) is
// audited. Delete is for admins only: it cannot be undone.

export interface ModerationDeps {
  db: Database;
  boss: PgBoss;
  gateway: InstagramGateway;
  mirror: Mirror;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  admins: Admins;
  log: Logger;
}

interface MirroredComment extends ChatPlace {
  id: number;
  account_id: string;
  root_comment_id: string;
  private_reply_sent_at: Date | null;
}

export class Moderation {
  private readonly deps: ModerationDeps;

  constructor(deps: ModerationDeps) {
    this.deps = deps;
  }

  async comment(
    agent: AgentIdentity,
    action: CommentAction,
    commentId: string,
    text: string | undefined,
  ): Promise<ActionResult> {
    const { rows } = await this.deps.db.query<MirroredComment>(
      `SELECT t.id, t.account_id, t.root_comment_id, t.private_reply_sent_at, t.chat_platform, t.chat_channel, t.chat_thread
         FROM comment_threads t
        WHERE t.root_comment_id = $1
           OR t.id = (SELECT comment_thread_id FROM messages WHERE ig_message_id = $1 AND comment_thread_id IS NOT NULL LIMIT 1)
        LIMIT 1`,
      [commentId],
    );
    const t = rows[0];
    if (!t) return { ok: false, text: `No mirrored comment ${commentId}.` };
    const by = `${agent.platform}:${agent.id}`;
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
        settings: DEFAULT_THREAD_SETTINGS,
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

    let outcome: Awaited<ReturnType<InstagramGateway["call"]>>;
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
    if (outcome.kind !== "ok") {
      const reason =
        outcome.kind === "failed" || outcome.kind === "uncertain" ? outcome.error.reason : outcome.reason;
      return { ok: false, text: `Instagram did not ${action.replace("_", " ")} it: ${reason}.` };
    }
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
      actor: { kind: "agent", id: by },
      account: t.account_id,
      action: `comment_${action}`,
      target: `comment:${commentId}`,
    });
    await noticeIn(this.deps.adapters, t, done);
    await this.deps.mirror.refreshCommentHeader(t.account_id, t.root_comment_id);
    return { ok: true, text: done };
  }
}
