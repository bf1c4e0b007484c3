// An account's timers (issue 21), `instagram_accounts.settings.timers`: how long before the
// 24-hour window and the 7-day human-agent limit the assignee is nudged, and after how much
// silence of the customer a conversation closes by itself. Seconds, so tests (and an impatient
// team) can use short spans; 0 turns one off.

export interface TimerSettings {
  /** Nudge this long before the standard (24-hour) window closes on an unanswered customer. */
  nudgeBeforeSeconds: number;
  /** Nudge again this long before the 7-day human-agent limit (only where HUMAN_AGENT is on). */
  humanAgentNudgeBeforeSeconds: number;
  /** Close a conversation waiting on the customer after this long without a word from them. */
  autoCloseAfterSeconds: number;
}

export const DEFAULT_TIMER_SETTINGS: TimerSettings = {
  nudgeBeforeSeconds: 2 * 3600,
  humanAgentNudgeBeforeSeconds: 12 * 3600,
  // Off: closing a customer's conversation is a team's choice to make.
  autoCloseAfterSeconds: 0,
};

/** The longest any timer setting may be: the human-agent limit itself. */
export const TIMER_SETTING_MAX_SECONDS = 7 * 86_400;

export function timerSettings(raw: unknown): TimerSettings {
  const t = (raw && typeof raw === "object" ? (raw as { timers?: unknown }).timers : undefined) as
    | Partial<Record<keyof TimerSettings, unknown>>
    | undefined;
  const pick = (key: keyof TimerSettings): number => {
    const v = t?.[key];
    return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= TIMER_SETTING_MAX_SECONDS
      ? v
      : DEFAULT_TIMER_SETTINGS[key];
  };
  return {
    nudgeBeforeSeconds: pick("nudgeBeforeSeconds"),
    humanAgentNudgeBeforeSeconds: pick("humanAgentNudgeBeforeSeconds"),
    autoCloseAfterSeconds: pick("autoCloseAfterSeconds"),
  };
}

/** "2h", "30m", "45s", "1d", "off": how the CLI shows a setting. */
export function formatSeconds(seconds: number): string {
  if (seconds === 0) return "off";
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** "2h", "30m", "45s", "1d" or "off" → seconds; undefined for anything else or past 7 days. */
export function parseTimerSetting(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "off" || t === "0") return 0;
  const m = /^(\d{1,6})([smhd])$/.exec(t);
  if (!m) return undefined;
  const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "s" | "m" | "h" | "d"];
  return seconds > 0 && seconds <= TIMER_SETTING_MAX_SECONDS ? seconds : undefined;
}
