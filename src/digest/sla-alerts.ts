import { recordAudit } from "../audit/audit-log.ts";
import type { ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import type { Config } from "../config/config.ts";
import type { SqlClient } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { AccountSettings } from "../rules/rule.ts";
import { BusinessClock, hasHours } from "./business-time.ts";
import { formatDuration } from "./digest-view.ts";
import { waitingConversations } from "./waiting.ts";

// A conversation waiting longer than SLA_MINUTES (counted in opening hours) gets one reminder in
// its thread, mentioning its assignee or, without one, the on-duty groups. Once per wait: the mark
// is older than the wait's first message once the customer writes again after an answer. The
// notice goes out before the mark is set, so a chat outage delays the reminder rather than losing
// it; the pass runs as a singleton job, so two workers never remind twice.

export interface SlaDeps {
  db: SqlClient;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  config: { sla: Config["sla"] };
  log: Logger;
}

export async function runSlaAlerts(deps: SlaDeps, now = new Date()): Promise<number> {
  const { minutes, onDuty } = deps.config.sla;
  if (minutes === 0) return 0;
  const { rows: accounts } = await deps.db.query<{ id: string; rule_settings: AccountSettings | null }>(
    "SELECT id, rule_settings FROM instagram_accounts WHERE status = 'active' AND chat_platform IS NOT NULL",
  );
  let sent = 0;
  for (const account of accounts) {
    const hours = account.rule_settings ?? undefined;
    const clock = new BusinessClock(hours, new Date(now.getTime() - 8 * 86_400_000), now);
    for (const w of await waitingConversations(deps.db, account.id, now)) {
      if (!w.thread || (w.slaAlertedAt && w.slaAlertedAt >= w.since)) continue;
      const ms = clock.ms(w.since, now);
      if (ms < minutes * 60_000) continue;
      const adapter = deps.adapters.get(w.thread.platform);
      if (!adapter) continue;
      const platform = w.thread.platform;
      const groups = w.assigneeRef
        ? []
        : onDuty.filter((g) => g.platform === platform && g.kind === "group").map((g) => g.id);
      const who = w.assignee ? ` (assigned to ${w.assignee})` : "";
      const during = hasHours(hours) ? " in opening hours" : "";
      try {
        await adapter.notice(
          w.thread.ref,
          `⏰ This customer has been waiting ${formatDuration(ms)}${during}, past the ${minutes}-minute SLA${who}.`,
          {
            ...(w.assigneeRef ? { mention: [w.assigneeRef] } : {}),
            ...(groups.length > 0 ? { mentionGroups: groups } : {}),
          },
        );
      } catch (err) {
        deps.log.warn(
          {
            account: account.id,
            conversation: w.conversationId,
            err: err instanceof Error ? err.message : String(err),
          },
          "sla alert not delivered; the next pass tries again",
        );
        continue;
      }
      await deps.db.query("UPDATE conversations SET sla_alerted_at = $2 WHERE id = $1", [
        w.conversationId,
        now.toISOString(),
      ]);
      await recordAudit(deps.db, {
        actor: { kind: "system" },
        account: account.id,
        action: "sla_alert",
        target: `customer:${w.customerId}`,
        details: { waitedMinutes: Math.round(ms / 60_000), slaMinutes: minutes },
      });
      sent++;
    }
  }
  if (sent > 0) deps.log.info({ alerts: sent }, "sla alerts sent");
  return sent;
}
