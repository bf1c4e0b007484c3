import type { ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import type { Database } from "../db/database.ts";
import { BusinessClock, hasHours } from "../digest/business-time.ts";
import type { Logger } from "../log/logger.ts";
import type { AccountSettings } from "../rules/rule.ts";

// Webhook silence (issue 22): an account whose webhooks stop (a subscription lost on reconnect,
// an outage at Meta, a misrouted callback URL) looks exactly like an account nobody writes to. The
// alarm compares the silence with the account's own traffic: it rings once the newest webhook is
// older than WEBHOOK_SILENCE_MINUTES and older than 4 times the account's usual gap between events
// over the last 7 days, so a quiet account is not called silent every night. Its chat channel is
// told once per silence (silence_noticed_at), the metric and `doctor` say it while it lasts, and
// the end of a silence is told too (and starts a backfill, through `onSilenceEnded`).
//
// An account with opening hours (the rule file's `accounts:` section, as the digest reads them)
// counts only the time within them, the silence and the usual gap alike: a shop's quiet night or
// weekend is not a silence, and the alarm rings once the open hours since the last webhook pass the
// threshold. Without opening hours every minute counts.

/** How many usual gaps make a silence. */
export const SILENCE_GAPS = 4;
const WEEK_MS = 7 * 86_400_000;
/** How far back a silence is measured within opening hours: longer ones ring anyway, and the
 * clock lays out each day of its span. */
const LONGEST_MEASURED_MS = 60 * 86_400_000;

export interface AccountSilence {
  account: string;
  username: string | null;
  /** The newest webhook event handled for it; null: none since it was connected. */
  lastWebhookAt: Date | null;
  /** Since when it has been quiet: the newest webhook, else when the account was connected. */
  quietSince: Date;
  /** The silence that rings, for this account now (time within its opening hours, when it has
   * them). */
  thresholdMs: number;
  /** How much of the quiet counts: all of it, or the time within opening hours. */
  quietMs: number;
  /** The account has opening hours: `quietMs` and `thresholdMs` are open time. */
  openHoursOnly: boolean;
  silent: boolean;
  /** Its channel was told of the current silence at this time. */
  noticedAt: Date | null;
  chatPlatform: ChatPlatform | null;
  chatChannel: string | null;
}

/** Every connected account's silence, with the threshold its traffic gives it. */
export async function webhookSilence(
  db: Database,
  minimumMs: number,
  now: Date = new Date(),
): Promise<AccountSilence[]> {
  const { rows } = await db.query<{
    id: string;
    username: string | null;
    chat_platform: ChatPlatform | null;
    chat_channel: string | null;
    last_webhook_at: Date | null;
    created_at: Date;
    silence_noticed_at: Date | null;
    rule_settings: AccountSettings | null;
    week_events: number;
  }>(
    `SELECT a.id, a.username, a.chat_platform, a.chat_channel, a.last_webhook_at, a.created_at, a.silence_noticed_at,
            a.rule_settings,
            (SELECT count(*)::int FROM inbound_events e
              WHERE e.account_id = a.id AND e.received_at > $1 AND (e.event->>'backfilled') IS NULL) AS week_events
       FROM instagram_accounts a WHERE a.status = 'active' ORDER BY a.id`,
    [new Date(now.getTime() - WEEK_MS).toISOString()],
  );
  return rows.map((r) => {
    const quietSince = new Date(r.last_webhook_at ?? r.created_at);
    const settings = r.rule_settings ?? undefined;
    const openHoursOnly = hasHours(settings);
    const weekAgo = new Date(now.getTime() - WEEK_MS);
    const measuredFrom = new Date(Math.max(quietSince.getTime(), now.getTime() - LONGEST_MEASURED_MS));
    const clock = openHoursOnly
      ? new BusinessClock(settings, new Date(Math.min(measuredFrom.getTime(), weekAgo.getTime())), now)
      : undefined;
    const quietMs = clock ? clock.ms(measuredFrom, now) : now.getTime() - quietSince.getTime();
    // A week's events spread evenly over the week's (open) time: the usual gap. Fewer than two
    // events tell no usual gap.
    const weekMs = clock ? clock.ms(weekAgo, now) : WEEK_MS;
    const usualGapMs = r.week_events >= 2 ? weekMs / r.week_events : 0;
    const thresholdMs = Math.max(minimumMs, SILENCE_GAPS * usualGapMs);
    return {
      account: r.id,
      username: r.username,
      lastWebhookAt: r.last_webhook_at ? new Date(r.last_webhook_at) : null,
      quietSince,
      thresholdMs,
      quietMs,
      openHoursOnly,
      silent: quietMs > thresholdMs,
      noticedAt: r.silence_noticed_at ? new Date(r.silence_noticed_at) : null,
      chatPlatform: r.chat_platform,
      chatChannel: r.chat_channel,
    };
  });
}

/** "3 h 20 min", "2 days": a span as people read it. */
export function spanText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} days`;
}

const label = (s: AccountSilence) => (s.username ? `@${s.username}` : s.account);

export function silenceText(s: AccountSilence, now: Date): string {
  const since = s.lastWebhookAt
    ? `no webhook has arrived for ${spanText(now.getTime() - s.quietSince.getTime())} (since ${s.quietSince.toISOString().slice(0, 16).replace("T", " ")} UTC)`
    : `no webhook has arrived since it was connected ${spanText(now.getTime() - s.quietSince.getTime())} ago`;
  const open = s.openHoursOnly ? `, ${spanText(s.quietMs)} of it within opening hours` : "";
  return `📭 Instagram webhooks for ${label(s)} have gone silent: ${since}${open}, longer than its usual traffic explains (${spanText(s.thresholdMs)}${s.openHoursOnly ? " of opening hours" : ""}). Messages may be missing from these threads. Check the app's webhook subscription (\`threadbridge doctor\`); once webhooks return, threadbridge recovers what it can through the Conversations API.`;
}

export interface SilenceWatchDeps {
  db: Database;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  log: Logger;
  minimumMs: number;
  intervalMs: number;
  /** A silence ended: recover what it missed (the backfill). */
  onSilenceEnded?: (account: string, since: Date) => Promise<void>;
  now?: () => Date;
}

/** Checks every account's silence now and then; posts each channel's notice once per silence. */
export class SilenceWatch {
  private readonly deps: SilenceWatchDeps;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(deps: SilenceWatchDeps) {
    this.deps = deps;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.check()
        .catch((err: unknown) => this.deps.log.warn({ err }, "webhook silence check failed"))
        .finally(() => {
          this.running = undefined;
        });
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass: notices for silences that began, the all-clear (and a backfill) for those that ended. */
  async check(): Promise<void> {
    const now = this.deps.now?.() ?? new Date();
    for (const s of await webhookSilence(this.deps.db, this.deps.minimumMs, now)) {
      if (s.silent && !s.noticedAt) {
        // The conditional update makes one process (of several workers) the one that posts.
        const { rows } = await this.deps.db.query(
          "UPDATE instagram_accounts SET silence_noticed_at = $2 WHERE id = $1 AND silence_noticed_at IS NULL RETURNING id",
          [s.account, now.toISOString()],
        );
        if (rows.length > 0) {
          this.deps.log.warn({ account: s.account, quietSince: s.quietSince }, "webhooks silent");
          await this.notify(s, silenceText(s, now));
        }
      } else if (!s.silent && s.noticedAt) {
        const { rows } = await this.deps.db.query(
          "UPDATE instagram_accounts SET silence_noticed_at = NULL WHERE id = $1 AND silence_noticed_at IS NOT NULL RETURNING id",
          [s.account],
        );
        if (rows.length === 0) continue;
        this.deps.log.info({ account: s.account }, "webhooks arriving again");
        await this.notify(
          s,
          `📬 Instagram webhooks for ${label(s)} are arriving again; recovering what the silence missed.`,
        );
        // From a little before the silence was noticed: what it missed began before it rang.
        await this.deps.onSilenceEnded?.(
          s.account,
          new Date(Math.min(s.noticedAt.getTime() - s.thresholdMs, now.getTime())),
        );
      }
    }
  }

  private async notify(s: AccountSilence, text: string): Promise<void> {
    const adapter = s.chatPlatform ? this.deps.adapters.get(s.chatPlatform) : undefined;
    if (!adapter || !s.chatChannel) return;
    await adapter
      .alert(s.chatChannel, text)
      .catch((err: unknown) =>
        this.deps.log.error({ err, account: s.account }, "could not post the silence notice"),
      );
  }
}
