// Durations as agents type them, for snoozing: a number and a unit, nothing else.

/** "2h", "30m", "1d", "45s" → milliseconds; undefined for anything else or over 30 days. */
export function durationArg(text: string | undefined): number | undefined {
  const m = /^(\d{1,4})([smhd])$/i.exec(text ?? "");
  if (!m) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    (m[2] as string).toLowerCase() as "s" | "m" | "h" | "d"
  ];
  const ms = Number(m[1]) * unit;
  return ms > 0 && ms <= 30 * 86_400_000 ? ms : undefined;
}
