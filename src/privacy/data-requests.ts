import { recordAudit } from "../audit/audit-log.ts";
import type { Admins } from "../chat/admins.ts";
import type { ActionResult, Asked, ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import { chatKey } from "../chat/ids.ts";
import type { StoredCopies } from "../chat/platform.ts";
import { scopeOf } from "../chat/scope.ts";
import { findThread } from "../conversations/threads.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { Mirror } from "../mirror/mirror.ts";
import { setConsent } from "./consent.ts";
import { type CustomerExport, exportCounts, exportCustomer } from "./export.ts";
import { forgetCustomer } from "./forget.ts";

// The privacy requests the team answers from chat (seed 000, policy A.12): consent on a
// customer's word, and erasure. Every one is for admins, names its customer by @username, IGSID
// or the thread it is asked in, and is audited by the privacy module that carries it out.

export interface DataRequestsDeps {
  db: Database;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  mirror: Mirror;
  admins: Admins;
  log: Logger;
  /** The chat platforms' copies kept in this database (the web inbox's): exported too. */
  copies?: ReadonlyMap<ChatPlatform, StoredCopies>;
}

export interface Customer {
  accountId: string;
  customerId: string;
}

export class DataRequests {
  private readonly deps: DataRequestsDeps;

  constructor(deps: DataRequestsDeps) {
    this.deps = deps;
  }

  async consent(req: Asked, user: string, consent: "granted" | "revoked"): Promise<ActionResult> {
    if (!this.deps.admins.allows(req.agent))
      return this.deps.admins.refuse(req.agent, "consent", "record consent");
    const target = await this.findCustomer(req, user);
    if (!target)
      return {
        ok: false,
        text: user
          ? `No conversation with ${user} in this channel's accounts.`
          : "Name the customer (@username or id), or ask in their thread.",
      };
    await this.deps.db.transaction((tx) =>
      setConsent(tx, target.accountId, target.customerId, consent, chatKey(req.agent.platform, req.agent.id)),
    );
    await this.deps.mirror.refreshDmHeader(target.accountId, target.customerId);
    return {
      ok: true,
      text:
        consent === "revoked"
          ? `Consent revoked for ${user || "this customer"}: no automated messages, and agents confirm before replying.`
          : `Consent granted for ${user || "this customer"}.`,
    };
  }

  async forget(req: Asked, user: string): Promise<ActionResult> {
    const agent = req.agent;
    if (!this.deps.admins.allows(agent))
      return this.deps.admins.refuse(agent, "forget", "erase a customer's data");
    const by = chatKey(agent.platform, agent.id);
    const target = await this.findCustomer(req, user);
    if (!target)
      return {
        ok: false,
        text: user
          ? `Nothing stored about ${user} in this channel's accounts.`
          : "Name the customer (@username or id), or ask in their thread.",
      };
    const counts = await forgetCustomer(
      this.deps.db,
      this.deps.adapters,
      target.accountId,
      target.customerId,
      by,
      (item, err) =>
        this.deps.log.warn(
          {
            platform: item.platform,
            channel: item.ref.channel,
            thread: item.ref.thread,
            err: err instanceof Error ? err.message : String(err),
          },
          "an erased customer's chat copy could not be deleted",
        ),
    );
    this.deps.log.info({ account: target.accountId, by, counts }, "customer data erased");
    const failed =
      counts.chatFailures > 0
        ? ` ${counts.chatFailures} chat item(s) could not be deleted (see the log); delete them by hand.`
        : "";
    return {
      ok: true,
      text: `Erased ${user || "this customer"}: ${counts.conversations} conversation(s), ${counts.commentThreads} comment thread(s), ${counts.messages} message(s), ${counts.events} webhook event(s), ${counts.ruleFirings} rule firing(s), ${counts.customerNotes} note(s), ${counts.customerLabels} label(s); ${counts.chatThreads} chat thread(s) and ${counts.chatMessages} other chat message(s) deleted. Only a hashed tombstone and the audit entry remain.${failed}`,
    };
  }

  /** Every row stored about a customer, as a JSON file for the admin who asked and nobody else. */
  async export(req: Asked, user: string): Promise<ActionResult> {
    const agent = req.agent;
    if (!this.deps.admins.allows(agent))
      return this.deps.admins.refuse(agent, "export", "export a customer's data");
    const target = await this.findCustomer(req, user);
    const data =
      target &&
      (await exportCustomer(this.deps.db, target.accountId, target.customerId, new Date(), this.deps.copies));
    if (!target || !data)
      return {
        ok: false,
        text: user
          ? `No customer ${user} in this channel's accounts: nothing to export.`
          : "Say whose data to export (@username or id), or ask in their thread.",
      };
    const by = chatKey(agent.platform, agent.id);
    const counts = exportCounts(data);
    const delivered = async () => {
      // Counts only: the audit trail and the log must not become a second copy of the data.
      await recordAudit(this.deps.db, {
        actor: { kind: "agent", id: by },
        account: target.accountId,
        action: "data_exported",
        target: `customer:${target.customerId}`,
        details: { format: data.header.format, version: data.header.version, counts },
      });
      this.deps.log.info({ account: target.accountId, by, counts }, "customer data exported");
    };
    const who = user || "this customer";
    return {
      ok: true,
      text: `Export of ${who}: ${counts.conversations} conversation(s) with ${counts.conversationMessages} message(s), ${counts.commentThreads} comment thread(s) with ${counts.commentThreadMessages} message(s), ${counts.commentsElsewhere} comment(s) under other people's comments, ${counts.webhookEvents} webhook event(s), ${counts.ruleFirings} rule firing(s), ${counts.customerNotes} note(s), ${counts.customerLabels} label(s), ${counts.auditEntries} audit entry(ies). It holds personal data: share it with the customer only.`,
      file: {
        name: exportFileName(data),
        mimeType: "application/json",
        content: JSON.stringify(data, null, 2),
        delivered,
      },
    };
  }

  /** A customer by @username or IGSID among the accounts of the channel where it was asked (a
   * thread's: its channel's), or the thread's own. */
  async findCustomer(req: Asked, user: string): Promise<Customer | undefined> {
    const accounts = [...(await scopeOf(this.deps.db, req)).accounts];
    if (user === "") {
      const thread = req.thread && (await findThread(this.deps.db, req.agent.platform, req.thread));
      return thread?.kind === "dm"
        ? { accountId: thread.accountId, customerId: thread.customerId }
        : undefined;
    }
    const name = user.replace(/^@/, "");
    const { rows } = await this.deps.db.query<{ account_id: string; customer_id: string }>(
      `SELECT account_id, customer_id FROM conversations
        WHERE account_id = ANY($1::text[]) AND (customer_id = $2 OR lower(profile->>'username') = lower($2))
        ORDER BY updated_at DESC LIMIT 1`,
      [accounts, name],
    );
    const r = rows[0];
    return r ? { accountId: r.account_id, customerId: r.customer_id } : undefined;
  }
}

function exportFileName(data: CustomerExport): string {
  const stamp = data.header.generatedAt.replace(/[-:]|\.\d+/g, "");
  return `instagram-data-${data.header.account.id}-${data.header.customerId}-${stamp}.json`;
}
