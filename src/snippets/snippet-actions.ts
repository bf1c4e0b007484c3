import type { PgBoss } from "pg-boss";
import type { Admins } from "../chat/admins.ts";
import type {
  ActionResult,
  AgentFile,
  AgentIdentity,
  ChatAdapter,
  ChatMessageRef,
  ChatPlatform,
  CompletionChoice,
  MirrorAttachment,
  MirrorPost,
  ThreadRef,
} from "../chat/chat-port.ts";
import { chatKey } from "../chat/ids.ts";
import { refuseOutside, type Scope } from "../chat/scope.ts";
import {
  optedOut,
  preview,
  type ReplyExtras,
  replyProblem,
  signedText,
  storeAgentReply,
  type Thread,
} from "../conversations/threads.ts";
import type { Database } from "../db/database.ts";
import type { GenericElement } from "../instagram/graph-client.ts";
import type { Logger } from "../log/logger.ts";
import { SNIPPET_NAME, snippetLabel } from "./snippet.ts";
import { findSnippet, listSnippets, removeSnippet, type StoredSnippet, usableSnippets } from "./store.ts";
import { expand } from "./template.ts";
import { accountName, cardsForSend, customerValues } from "./values.ts";

// Saved replies from chat: `!!NAME [text]` typed in a thread, `/ig snippet` (Discord) and the
// "Send saved reply" shortcut (Slack) send one as the agent's own reply; `/ig snippets list` and,
// for admins, `/ig snippets remove` manage them. A sent saved reply is an agent's reply like any
// other (storeAgentReply: windows, the human-agent tag, delivery marks, limits, order, crash
// safety); the thread shows what the customer receives as a post under the agent's name, since the
// agent's own chat message only says `!!thanks`.

export interface SnippetActionsDeps {
  db: Database;
  boss: PgBoss;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  admins: Admins;
  log: Logger;
}

/** `!!name more text` → the name (as typed, lower-cased) and the text after it. */
export function snippetCall(text: string): { name: string; extra: string } | undefined {
  const m = /^!!(\S*)([\s\S]*)$/.exec(text.trim());
  if (!m) return undefined;
  return { name: (m[1] ?? "").toLowerCase(), extra: (m[2] ?? "").trim() };
}

export interface SnippetSend {
  thread: Thread;
  ref: ThreadRef;
  agent: AgentIdentity;
  name: string;
  /** Typed after the name: appended on a line of its own. */
  extra: string;
  /** The agent's own chat message that asked for it (`!!name`): the reply's dedupe key and where
   * its delivery marks go. Without one (a slash command, a modal) the post showing the expanded
   * text carries them. */
  message?: ChatMessageRef;
  /** Files the agent attached to that message: they go too. */
  files?: AgentFile[];
}

export type SnippetSendResult =
  | { kind: "queued"; messageId: number }
  | { kind: "duplicate" }
  /** No such saved reply: for the agent's eyes only, and nothing is sent. */
  | { kind: "unknown"; text: string }
  | { kind: "refused"; reason: string };

/** How many names an unknown-name answer suggests. */
const SUGGESTIONS = 15;
/** How many saved replies `/ig snippets list` shows per account. */
const LIST_MAX = 50;

export class SnippetActions {
  private readonly deps: SnippetActionsDeps;

  constructor(deps: SnippetActionsDeps) {
    this.deps = deps;
  }

  async send(req: SnippetSend): Promise<SnippetSendResult> {
    const { db } = this.deps;
    const { thread, agent } = req;
    const snippet = SNIPPET_NAME.test(req.name)
      ? await findSnippet(db, thread.accountId, req.name)
      : undefined;
    if (!snippet) return { kind: "unknown", text: await this.unknownText(thread.accountId, req.name) };
    if (thread.kind === "dm" && (await optedOut(db, thread.id)))
      return {
        kind: "refused",
        reason:
          "This customer opted out of messages (STOP). Nothing was sent. To write to them anyway, write the reply yourself.",
      };
    const values = {
      ...(await customerValues(db, thread)),
      agent: agent.name,
      ...(await this.accountValue(thread.accountId)),
    };
    const expanded = expand(snippet.text, values);
    const cards = cardsForSend(snippet.cards ?? [], values);
    const text = req.extra === "" ? expanded : `${expanded}\n${req.extra}`;
    const files = req.files ?? [];
    const problem = replyProblem(text, files);
    if (problem) return { kind: "refused", reason: problem };
    const extras: ReplyExtras = {
      snippet: snippet.name,
      ...(snippet.quickReplies.length
        ? { quickReplies: snippet.quickReplies.map((q) => ({ content_type: "text" as const, ...q })) }
        : {}),
      ...(snippet.attachments.length ? { urlAttachments: snippet.attachments } : {}),
      ...(cards.length ? { cards } : {}),
    };
    const post = mirrorPost(snippet, signedText(thread.settings, agent.name, text), agent, cards);
    const adapter = this.deps.adapters.get(agent.platform);

    if (req.message !== undefined) {
      const id = await storeAgentReply(db, this.deps.boss, thread, agent, req.message, text, files, extras);
      if (id === undefined) {
        // A platform retry: the reply was taken; show it if a crash came before its post.
        await this.showOnce(thread.accountId, req.ref, adapter, req.message, post);
        return { kind: "duplicate" };
      }
      await this.showOnce(thread.accountId, req.ref, adapter, req.message, post);
      this.deps.log.info({ messageId: id, snippet: snippet.name }, "saved reply queued");
      return { kind: "queued", messageId: id };
    }

    // No chat message of the agent's: the post is the reply in the thread, and its marks' place.
    if (!adapter) return { kind: "refused", reason: "This chat platform is not connected here." };
    const posted = await adapter.post(req.ref, post);
    try {
      const id = await storeAgentReply(db, this.deps.boss, thread, agent, posted, text, files, {
        ...extras,
        snippetPost: posted,
      });
      if (id === undefined) return { kind: "duplicate" };
      this.deps.log.info({ messageId: id, snippet: snippet.name }, "saved reply queued");
      return { kind: "queued", messageId: id };
    } catch (err) {
      // Not stored, so not sent: the post must not say it was.
      await adapter.remove(req.ref, posted).catch(() => undefined);
      throw err;
    }
  }

  /** `/ig snippet` and the shortcut's modal: the answer for the person who asked. */
  async sendFromCommand(req: Omit<SnippetSend, "files">): Promise<ActionResult> {
    const result = await this.send(req);
    switch (result.kind) {
      case "queued":
      case "duplicate":
        // The thread shows the post; the asker needs no answer of their own.
        return { ok: true, text: `Saved reply ${req.name} is on its way.`, announced: true };
      case "unknown":
        return { ok: false, text: result.text };
      case "refused":
        return { ok: false, text: result.reason };
    }
  }

  /** Names for a picker (Discord's autocomplete, Slack's modal): those `account` can send. */
  async complete(accounts: readonly string[], typed: string, limit: number): Promise<CompletionChoice[]> {
    const seen = new Map<string, CompletionChoice>();
    for (const account of accounts)
      for (const s of await usableSnippets(this.deps.db, account, typed, limit))
        if (!seen.has(s.name)) seen.set(s.name, { value: s.name, label: `${s.name} · ${preview(s.text)}` });
    return [...seen.values()].slice(0, limit);
  }

  /** `/ig snippets list`: the saved replies each account of the channel can send. */
  async list(asked: { agent: AgentIdentity }, scope: Scope): Promise<ActionResult> {
    if (scope.accounts.size === 0) return refuseOutside(this.deps.log, asked.agent, scope, "snippets_list");
    const sections: string[] = [];
    for (const account of [...scope.accounts].sort()) {
      const all = await listSnippets(this.deps.db, account);
      // The account's own hides a shared one of the same name.
      const usable = all.filter(
        (s) => s.account !== null || !all.some((o) => o.account !== null && o.name === s.name),
      );
      const name = await accountName(this.deps.db, account);
      const title = `Saved replies of ${name ? `@${name}` : account}`;
      if (usable.length === 0) {
        sections.push(`${title}: none yet (threadbridge snippets import FILE).`);
        continue;
      }
      const lines = usable
        .slice(0, LIST_MAX)
        .map((s) => `• !!${s.name}${s.account === null ? " (shared)" : ""}: ${preview(s.text)}`);
      if (usable.length > LIST_MAX)
        lines.push(`…and ${usable.length - LIST_MAX} more (threadbridge snippets list).`);
      sections.push(`${title}:\n${lines.join("\n")}`);
    }
    return { ok: true, text: sections.join("\n\n") };
  }

  /** `/ig snippets remove NAME [account]` (admins): one account's own saved reply; a shared one
   * belongs to every account, so only the CLI removes it. */
  async remove(
    asked: { agent: AgentIdentity },
    scope: Scope,
    name: string,
    account: string | undefined,
  ): Promise<ActionResult> {
    const { agent } = asked;
    if (!this.deps.admins.allows(agent))
      return this.deps.admins.refuse(agent, "snippets_remove", "remove saved replies", {
        target: `snippet:${name}`,
      });
    if (scope.accounts.size === 0) return refuseOutside(this.deps.log, agent, scope, "snippets_remove");
    const accounts = await this.resolveAccounts(scope, account);
    if (accounts.length === 0)
      return {
        ok: false,
        text: `No Instagram account ${account} in this channel. Give the id or username of one whose threads are here.`,
      };
    const owners: string[] = [];
    for (const a of accounts)
      if ((await listSnippets(this.deps.db, a)).some((s) => s.account === a && s.name === name))
        owners.push(a);
    if (owners.length > 1)
      return {
        ok: false,
        text: `Several accounts here have a saved reply ${name} (${owners.join(", ")}): name the account.`,
      };
    const owner = owners[0];
    if (owner === undefined) {
      const shared = (await listSnippets(this.deps.db)).some((s) => s.account === null && s.name === name);
      return {
        ok: false,
        text: shared
          ? `${name} is shared by every account: remove it with threadbridge snippets remove ${name}. Nothing was removed.`
          : `No saved reply ${name} for this channel's accounts. Nothing was removed.`,
      };
    }
    await removeSnippet(this.deps.db, name, owner, {
      kind: "agent",
      id: chatKey(agent.platform, agent.id),
      name: agent.name,
    });
    this.deps.log.info(
      { agent: chatKey(agent.platform, agent.id), account: owner, name },
      "saved reply removed",
    );
    return { ok: true, text: `Removed the saved reply ${snippetLabel({ name, account: owner })}.` };
  }

  // ——— helpers ———

  private async accountValue(account: string): Promise<{ account?: string }> {
    const name = await accountName(this.deps.db, account);
    return name ? { account: name } : {};
  }

  private async unknownText(account: string, name: string): Promise<string> {
    const usable = await usableSnippets(this.deps.db, account, "", SUGGESTIONS + 1);
    const typed =
      name === "" ? "Type !!NAME to send a saved reply." : `No saved reply “${name}” for this account.`;
    const names =
      usable.length === 0
        ? " There are none yet (threadbridge snippets import FILE)."
        : ` Saved replies here: ${usable
            .slice(0, SUGGESTIONS)
            .map((s) => s.name)
            .join(", ")}${usable.length > SUGGESTIONS ? ", …" : ""}.`;
    return `${typed}${names} Nothing was sent.`;
  }

  private async resolveAccounts(scope: Scope, account: string | undefined): Promise<string[]> {
    const ids = [...scope.accounts].sort();
    if (account === undefined) return ids;
    const { rows } = await this.deps.db.query<{ id: string }>(
      "SELECT id FROM instagram_accounts WHERE (id = $1 OR lower(username) = lower($1)) AND id = ANY($2::text[])",
      [account.replace(/^@/, ""), ids],
    );
    return rows.map((r) => r.id);
  }

  /** Posts what was sent under the agent's `!!name` message, once per reply: the row is claimed
   * first (a platform retry racing the first delivery finds it claimed), then the post's ref kept. */
  private async showOnce(
    account: string,
    ref: ThreadRef,
    adapter: ChatAdapter | undefined,
    message: ChatMessageRef,
    post: MirrorPost,
  ): Promise<void> {
    if (!adapter) return;
    const { rows } = await this.deps.db.query<{ id: number }>(
      `UPDATE messages SET details = details || '{"snippetPost": ""}'::jsonb
        WHERE account_id = $1 AND chat_ref = $2 AND author_kind = 'agent' AND NOT details ? 'snippetPost'
        RETURNING id`,
      [account, message],
    );
    const row = rows[0];
    if (!row) return;
    const posted = await adapter.post(ref, post);
    await this.deps.db.query(
      "UPDATE messages SET details = details || jsonb_build_object('snippetPost', $2::text) WHERE id = $1",
      [row.id, posted],
    );
  }
}

/** The thread's copy of a saved reply as the customer receives it. */
function mirrorPost(
  snippet: StoredSnippet,
  text: string,
  agent: AgentIdentity,
  cards: readonly GenericElement[],
): MirrorPost {
  const attachments: MirrorAttachment[] = snippet.attachments.map((a) =>
    a.type === "image"
      ? { kind: "image", url: a.url, alt: `image of the saved reply ${snippet.name}` }
      : { kind: "link", label: `document of the saved reply ${snippet.name}`, url: a.url },
  );
  // The carousel as the customer sees it, card by card, in the same form as a template a customer
  // or another app sent (buttons shown as what they do, never clickable in chat).
  for (const c of cards)
    attachments.push({
      kind: "card",
      title: c.title,
      ...(c.subtitle !== undefined ? { subtitle: c.subtitle } : {}),
      ...(c.default_action ? { url: c.default_action.url } : {}),
      ...(c.image_url !== undefined ? { imageUrl: c.image_url } : {}),
      ...(c.buttons?.length
        ? {
            buttons: c.buttons.map((b) =>
              b.type === "web_url" ? { label: b.title, url: b.url } : { label: b.title, payload: b.payload },
            ),
          }
        : {}),
    });
  return {
    author: { kind: "agent", name: agent.name },
    text,
    attribution: `saved reply ${snippet.name}, as sent to the customer`,
    attachments,
    context: snippet.quickReplies.length
      ? [`quick replies: ${snippet.quickReplies.map((q) => q.title).join(" · ")}`]
      : [],
  };
}
