import type express from "express";
import { parseSince, queryAudit } from "../../audit/audit-query.ts";
import type { ChatAdapter, ChatPlatform } from "../../chat/chat-port.ts";
import type { PlatformDescriptor } from "../../chat/platform.ts";
import { platformLabel } from "../../chat/platforms.ts";
import {
  CONVERSATION_STATES,
  type ConversationState,
  commentThreadDetail,
  commentThreadMessages,
  commentThreadTargets,
  conversationDetail,
  conversationMessages,
  knownAssignees,
  listConversations,
  ruleFirings,
  THREAD_KINDS,
  type ThreadKind,
} from "../../conversations/conversation-list.ts";
import type { Database } from "../../db/database.ts";
import { listAccounts } from "../../instagram/accounts.ts";
import { storedEntry, windowState } from "../../instagram/windows.ts";
import type { Logger } from "../../log/logger.ts";
import { AUDIT_LIMITS, auditPage } from "./audit-pages.ts";
import type { ConsoleAuth } from "./auth.ts";
import { commentThreadPage, conversationPage, conversationsPage } from "./conversation-pages.ts";
import { problemPage } from "./layout.ts";
import { cdnImages, secured } from "./middleware.ts";

// The read-only pages an operator browses (issue 20): conversations and comment threads, one
// conversation, one comment thread, the audit log. Every query is bounded: a page of conversations, the latest messages, the latest entries.

export interface BrowseDeps {
  db: Database;
  auth: ConsoleAuth;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  platforms: readonly PlatformDescriptor[];
  humanAgent: boolean;
  log: Logger;
}

const PAGE_SIZE = 50;
const MESSAGES_SHOWN = 100;
const CONVERSATIONS = { href: "/conversations", label: "Back to the conversations" };

/** A query parameter as one short string, or undefined (absent, repeated, empty or too long). */
export function queryText(req: express.Request, name: string, max = 200): string | undefined {
  const v = req.query[name];
  if (typeof v !== "string") return undefined;
  const t = v.trim();
  return t.length > 0 && t.length <= max ? t : undefined;
}

/** The platform's label for a stored chat thread, and a link into its client when it gives one. */
async function chatThreadLink(
  deps: BrowseDeps,
  stored: { platform: ChatPlatform; channel: string; thread: string } | undefined,
  what: Record<string, unknown>,
): Promise<{ label: string; link?: string | undefined } | undefined> {
  if (!stored) return undefined;
  const { platform, channel, thread: ref } = stored;
  const shown: { label: string; link?: string | undefined } = {
    label: platformLabel(deps.platforms, platform),
  };
  // A link is a convenience: a platform that cannot give one now still shows the thread's ids.
  try {
    shown.link = await deps.adapters.get(platform)?.threadLink?.({ channel, thread: ref });
  } catch (err) {
    deps.log.warn({ err, ...what }, "console: no link to the chat thread");
  }
  if (shown.link && !/^https:\/\//i.test(shown.link)) shown.link = undefined;
  return shown;
}

export function registerBrowseRoutes(router: express.Router, deps: BrowseDeps): void {
  const { db, auth } = deps;

  router.get(
    "/conversations",
    secured,
    auth.page(async (req, res, session) => {
      const account = queryText(req, "account");
      const kindText = queryText(req, "kind");
      const kind = THREAD_KINDS.includes(kindText as ThreadKind) ? (kindText as ThreadKind) : undefined;
      const stateText = queryText(req, "state");
      const state = CONVERSATION_STATES.includes(stateText as ConversationState)
        ? (stateText as ConversationState)
        : undefined;
      const assigneeText = queryText(req, "assignee");
      const q = queryText(req, "q");
      const after = queryText(req, "after", 64);
      const filter = {
        account,
        kind,
        state,
        assignee: assigneeText === "-" ? null : assigneeText,
        search: q,
        after,
        limit: PAGE_SIZE,
      };
      const [accounts, assignees, page] = await Promise.all([
        listAccounts(db),
        knownAssignees(db),
        listConversations(db, filter),
      ]);
      res.type("html").send(
        conversationsPage(session, {
          accounts,
          assignees,
          form: {
            ...(account ? { account } : {}),
            ...(kind ? { kind } : {}),
            ...(state ? { state } : {}),
            ...(assigneeText ? { assignee: assigneeText } : {}),
            ...(q ? { q } : {}),
          },
          page,
          paged: after !== undefined,
        }),
      );
    }),
  );

  router.get(
    "/conversations/:id",
    secured,
    cdnImages,
    auth.page(async (req, res, session) => {
      const idText = req.params.id as string;
      const conversation = /^\d{1,15}$/.test(idText)
        ? await conversationDetail(db, Number(idText))
        : undefined;
      if (!conversation) {
        res
          .status(404)
          .type("html")
          .send(
            problemPage(
              "No such conversation",
              `No conversation ${idText} is stored here.`,
              CONVERSATIONS,
              session,
            ),
          );
        return;
      }
      const beforeText = queryText(req, "before", 16);
      const before = beforeText && /^\d{1,15}$/.test(beforeText) ? Number(beforeText) : undefined;
      const [page, firings, audit] = await Promise.all([
        conversationMessages(db, conversation.id, { before, limit: MESSAGES_SHOWN }),
        ruleFirings(db, conversation.accountId, conversation.customerId),
        queryAudit(db, {
          account: conversation.accountId,
          target: `customer:${conversation.customerId}`,
          limit: 50,
        }),
      ]);
      const window = windowState(
        conversation.lastCustomerAt,
        new Date(),
        deps.humanAgent,
        storedEntry(conversation.entryPoint, conversation.entryAt),
      );
      const thread = await chatThreadLink(deps, conversation.thread, { conversation: conversation.id });
      res.type("html").send(
        conversationPage(session, {
          conversation,
          window,
          messages: page.messages,
          earlier: page.earlier,
          firings,
          audit,
          thread,
        }),
      );
    }),
  );

  router.get(
    "/comment-threads/:id",
    secured,
    cdnImages,
    auth.page(async (req, res, session) => {
      const idText = req.params.id as string;
      const thread = /^\d{1,15}$/.test(idText) ? await commentThreadDetail(db, Number(idText)) : undefined;
      if (!thread) {
        res
          .status(404)
          .type("html")
          .send(
            problemPage(
              "No such comment thread",
              `No comment thread ${idText} is stored here.`,
              CONVERSATIONS,
              session,
            ),
          );
        return;
      }
      const beforeText = queryText(req, "before", 16);
      const before = beforeText && /^\d{1,15}$/.test(beforeText) ? Number(beforeText) : undefined;
      const [page, targets, chat] = await Promise.all([
        commentThreadMessages(db, thread.id, { before, limit: MESSAGES_SHOWN }),
        commentThreadTargets(db, thread),
        chatThreadLink(deps, thread.thread, { commentThread: thread.id }),
      ]);
      const audit = await queryAudit(db, { account: thread.accountId, targets, limit: 50 });
      res
        .type("html")
        .send(
          commentThreadPage(session, { thread, messages: page.messages, earlier: page.earlier, audit, chat }),
        );
    }),
  );

  router.get(
    "/audit",
    secured,
    auth.page(async (req, res, session) => {
      const form = {
        account: queryText(req, "account"),
        since: queryText(req, "since", 40),
        actor: queryText(req, "actor"),
        action: queryText(req, "action"),
        limit: AUDIT_LIMITS.find((n) => String(n) === queryText(req, "limit")) ?? 200,
      };
      const since = form.since ? parseSince(form.since) : undefined;
      const error =
        form.since && !since
          ? `“${form.since}” is not 30m, 24h, 7d, 2w or a date such as 2026-11-01.`
          : undefined;
      const rows = error ? [] : await queryAudit(db, { ...form, since });
      res
        .status(error ? 400 : 200)
        .type("html")
        .send(
          auditPage(session, {
            form: Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined)) as typeof form,
            rows,
            error,
          }),
        );
    }),
  );
}
