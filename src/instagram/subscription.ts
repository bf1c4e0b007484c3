import { recordAudit } from "../audit/audit-log.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { InstagramGateway } from "../outbound/instagram-gateway.ts";
import { SUBSCRIBED_FIELDS } from "./business-login.ts";
import type { Result } from "./graph-client.ts";

// An account's webhook subscription, checked when it (re)connects. Instagram keeps a subscription
// per account (`subscribed_apps`, reference 5.5) apart from the app's fields: an account that was
// removed and connected again, or subscribed by another tool with fewer fields, receives nothing
// (or not everything) although its token works. Each queued backfill (a reconnection through the
// console or `accounts add`, the end of a webhook silence) first reads the subscription and, when
// a field the product needs is missing, subscribes again with those fields added to the ones
// already there (a POST sets the whole list, and another app's fields are not ours to drop).

export type SubscriptionCheck =
  | { kind: "complete"; fields: string[] }
  | { kind: "renewed"; missing: string[]; fields: string[] }
  | { kind: "failed"; reason: string };

export interface SubscriptionDeps {
  db: Database;
  gateway: InstagramGateway;
  log: Logger;
}

/** Reads `account`'s subscribed fields and subscribes again when any of SUBSCRIBED_FIELDS is
 * missing. Never throws for Instagram's answers: a failure is returned (and logged) with its
 * reason, for the caller to go on with what it was doing. */
export async function ensureSubscribed(deps: SubscriptionDeps, account: string): Promise<SubscriptionCheck> {
  const read = await call(deps, account, (token) => deps.gateway.graph.subscribedApps(token));
  if (!read.ok) return failed(deps, account, `reading the webhook subscription: ${read.reason}`);
  const have = read.value.subscribed ? read.value.fields : [];
  const missing = SUBSCRIBED_FIELDS.filter((f) => !have.includes(f));
  if (missing.length === 0) return { kind: "complete", fields: have };
  const fields = [...have, ...missing];
  const wrote = await call(deps, account, (token) => deps.gateway.graph.subscribeApps(token, fields));
  if (!wrote.ok) return failed(deps, account, `subscribing ${missing.join(", ")}: ${wrote.reason}`);
  await recordAudit(deps.db, {
    actor: { kind: "system" },
    account,
    action: "webhooks_resubscribed",
    details: { missing, fields },
  });
  deps.log.warn({ account, missing }, "webhook fields were missing for the account; subscribed again");
  return { kind: "renewed", missing, fields };
}

function failed(deps: SubscriptionDeps, account: string, reason: string): SubscriptionCheck {
  deps.log.warn({ account, reason }, "webhook subscription not checked");
  return { kind: "failed", reason };
}

/** One call of the `platform` class through the gateway, waiting out its rate limit twice at
 * most (this runs before a backfill, which must not stall behind it; the next check is at the
 * next reconnection or silence). */
async function call<T>(
  deps: SubscriptionDeps,
  account: string,
  fn: (token: string) => Promise<Result<T>>,
): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  for (let attempt = 0; ; attempt++) {
    const outcome = await deps.gateway.call(account, "platform", fn);
    switch (outcome.kind) {
      case "ok":
        return { ok: true, value: outcome.value };
      case "deferred":
        if (attempt >= 2) return { ok: false, reason: outcome.reason };
        await new Promise((r) => setTimeout(r, Math.min(outcome.retryAfterMs, 10_000)));
        continue;
      case "held":
        return { ok: false, reason: outcome.reason };
      case "uncertain":
      case "failed":
        return { ok: false, reason: outcome.error.reason };
    }
  }
}
