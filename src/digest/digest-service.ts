import type { ChatAdapter, ChatPlatform } from "../chat/chat-port.ts";
import type { Config } from "../config/config.ts";
import type { SqlClient } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { AccountSettings } from "../rules/rule.ts";
import { computeDigest, type Digest } from "./digest.ts";
import { type DigestKind, type Period, previousPeriod, rollingPeriod } from "./period.ts";

// Computing and posting an account's digest: the scheduled ones into its digest channel, the
// on-demand ones wherever they were asked for. The account's time zone and opening hours come
// from its rule file (`accounts:`); without them DIGEST_TIMEZONE and wall-clock waits.

export type DigestSpan = DigestKind | "24h" | "7d";

export interface DigestAccount {
  id: string;
  username?: string;
  platform?: ChatPlatform;
  channel?: string;
  digestChannel?: string;
  timezone: string;
  hours?: AccountSettings | undefined;
}

export interface DigestServiceDeps {
  db: SqlClient;
  adapters: ReadonlyMap<ChatPlatform, ChatAdapter>;
  config: { digest: Config["digest"]; sla: Config["sla"] };
  log: Logger;
}

export class DigestService {
  private readonly deps: DigestServiceDeps;

  constructor(deps: DigestServiceDeps) {
    this.deps = deps;
  }

  async account(id: string): Promise<DigestAccount | undefined> {
    const { rows } = await this.deps.db.query<{
      id: string;
      username: string | null;
      chat_platform: ChatPlatform | null;
      chat_channel: string | null;
      digest_channel: string | null;
      rule_settings: AccountSettings | null;
    }>(
      `SELECT id, username, chat_platform, chat_channel, digest_channel, rule_settings FROM instagram_accounts
        WHERE id = $1 OR lower(username) = lower($1) LIMIT 1`,
      [id.replace(/^@/, "")],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      id: r.id,
      ...(r.username ? { username: r.username } : {}),
      ...(r.chat_platform ? { platform: r.chat_platform } : {}),
      ...(r.chat_channel ? { channel: r.chat_channel } : {}),
      ...(r.digest_channel ? { digestChannel: r.digest_channel } : {}),
      timezone: r.rule_settings?.timezone ?? this.deps.config.digest.timezone,
      hours: r.rule_settings ?? undefined,
    };
  }

  period(account: DigestAccount, span: DigestSpan, now: Date): Period {
    return span === "24h" || span === "7d"
      ? rollingPeriod(span, account.timezone, now)
      : previousPeriod(span, account.timezone, now);
  }

  async compute(account: DigestAccount, span: DigestSpan, now = new Date()): Promise<Digest> {
    return computeDigest(this.deps.db, account.id, this.period(account, span, now), {
      slaMinutes: this.deps.config.sla.minutes,
      hours: account.hours,
      now,
    });
  }

  /** Posts `account`'s digest to `channel` (default: its digest channel, else its own channel) on
   * its own platform. Scheduled digests go only to accounts with a digest channel. */
  async post(
    account: DigestAccount,
    span: DigestSpan,
    channel = account.digestChannel ?? account.channel,
    now = new Date(),
  ): Promise<{ posted: true; digest: Digest } | { posted: false; reason: string }> {
    if (!channel) return { posted: false, reason: "the account is not routed to a chat channel" };
    const adapter = account.platform && this.deps.adapters.get(account.platform);
    if (!adapter)
      return { posted: false, reason: `${account.platform ?? "its chat platform"} is not configured` };
    const started = performance.now();
    const digest = await this.compute(account, span, now);
    // The chart renderer (Skia and Chart.js, about 25 MiB) loads with the first digest drawn, not
    // with every process that might draw one.
    const { renderDigestChart } = await import("./chart.ts");
    const chart = await renderDigestChart(digest);
    await adapter.postDigest(channel, digest, chart);
    this.deps.log.info(
      {
        account: account.id,
        span,
        channel,
        empty: digest.empty,
        ms: Math.round(performance.now() - started),
      },
      "digest posted",
    );
    return { posted: true, digest };
  }
}
