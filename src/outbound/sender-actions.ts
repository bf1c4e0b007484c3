import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Database } from "../db/database.ts";
import { storedEntry, windowState } from "../instagram/windows.ts";
import type { Logger } from "../log/logger.ts";
import { OUTBOUND_QUEUE, type OutboundJob } from "../queue/boss.ts";
import { outboundKey } from "./enqueue.ts";
import type { InstagramGateway } from "./instagram-gateway.ts";
import { SendDeferred } from "./send-worker.ts";

// Sender actions: `mark_seen` when an agent takes a conversation, `typing_on` while an agent types
// (where the platform tells: Discord's TYPING_START). They are jobs in the conversation's outbound
// lane, so one never overtakes a reply queued before it and none is lost to a restart; each takes
// a turn of its own rate-limit class (`sender_action`).
//
// Window rule: only inside the standard window. Instagram has no tag for sender actions, and a
// customer whose window closed is not to be shown activity the business cannot follow with a
// message. Nothing is sent while the account is paused or another app holds the conversation. A
// typing indicator that could not go within TYPING_STALE_MS is dropped: late, it would lie.

//
// Reactions (`react`, `unreact`: the business reacting to a customer's message, outbound/
// reactions.ts) are sender actions too, with the same window rule, in the same lane, but their own
// rate-limit class (`reaction`).

export type SenderAction = "mark_seen" | "typing_on" | "react" | "unreact";

/** What a reaction is on: the customer's message (its Instagram mid) and, to react, the value. */
export interface ReactionTarget {
  mid: string;
  reaction?: string;
}

/** How long a typing indicator stays worth sending (Instagram shows one for about 20 s). */
export const TYPING_STALE_MS = 15_000;

/** Queues `action` for the customer's conversation, unless it could not be sent anyway (no open
 * window, another app's conversation): those are dropped here, not queued. */
export async function enqueueSenderAction(
  db: Database,
  boss: PgBoss,
  account: string,
  customer: string,
  action: SenderAction,
  now = new Date(),
  target?: ReactionTarget,
): Promise<boolean> {
  if (!(await allowed(db, account, customer, now))) return false;
  await boss.insert(OUTBOUND_QUEUE, [
    {
      id: uuidv7(),
      singletonKey: outboundKey(account, { customerId: customer }),
      data: {
        messageId: 0,
        senderAction: {
          account,
          customer,
          action,
          at: now.getTime(),
          ...(target ? { mid: target.mid } : {}),
          ...(target?.reaction ? { reaction: target.reaction } : {}),
        },
      } satisfies OutboundJob,
    },
  ]);
  return true;
}

async function allowed(db: Database, account: string, customer: string, now: Date): Promise<boolean> {
  const { rows } = await db.query<{
    last_customer_message_at: Date | null;
    entry_point: string | null;
    entry_at: Date | null;
    controlled_by: string | null;
  }>(
    "SELECT last_customer_message_at, entry_point, entry_at, controlled_by FROM conversations WHERE account_id = $1 AND customer_id = $2",
    [account, customer],
  );
  const c = rows[0];
  if (!c || c.controlled_by) return false;
  // The human-agent flag is irrelevant here: only the standard window counts.
  return (
    windowState(c.last_customer_message_at, now, false, storedEntry(c.entry_point, c.entry_at)).kind ===
    "open"
  );
}

export interface SenderActionDeps {
  db: Database;
  gateway: InstagramGateway;
  log: Logger;
  now?: () => Date;
}

/** Performs a queued sender action: "sent", or "dropped" (window closed meanwhile, stale typing,
 * held account, refused by Instagram: none is worth holding the conversation's replies for). A
 * rate-limit wait throws SendDeferred, as a reply's would. */
export async function performSenderAction(
  deps: SenderActionDeps,
  job: NonNullable<OutboundJob["senderAction"]>,
): Promise<"sent" | "dropped"> {
  const now = deps.now?.() ?? new Date();
  if (job.action === "typing_on" && now.getTime() - job.at > TYPING_STALE_MS) return "dropped";
  if (!(await allowed(deps.db, job.account, job.customer, now))) return "dropped";
  const reacting = job.action === "react" || job.action === "unreact";
  if (reacting && !job.mid) return "dropped";
  const payload = reacting
    ? {
        message_id: job.mid ?? "",
        ...(job.action === "react" && job.reaction ? { reaction: job.reaction } : {}),
      }
    : undefined;
  const outcome = await deps.gateway.call(job.account, reacting ? "reaction" : "sender_action", (token) =>
    deps.gateway.graph.senderAction(token, job.account, job.customer, job.action, payload),
  );
  switch (outcome.kind) {
    case "ok":
      return "sent";
    case "deferred":
      throw new SendDeferred(outcome.reason, outcome.retryAfterMs);
    case "held":
    case "uncertain":
      return "dropped";
    case "failed":
      deps.log.info(
        { account: job.account, action: job.action, code: outcome.error.code, reason: outcome.error.reason },
        "sender action refused by Instagram",
      );
      return "dropped";
  }
}
