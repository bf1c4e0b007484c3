// An account's timer settings as stored and as the CLI takes them.

import { describe, expect, it } from "vitest";
import {
  DEFAULT_TIMER_SETTINGS,
  formatSeconds,
  parseTimerSetting,
  timerSettings,
} from "../../src/conversations/timer-settings.ts";

describe("timer settings", () => {
  it("defaults to a 2h and a 12h nudge and no auto-close, and ignores what is not a span", () => {
    expect(timerSettings(null)).toEqual(DEFAULT_TIMER_SETTINGS);
    expect(DEFAULT_TIMER_SETTINGS).toEqual({
      nudgeBeforeSeconds: 7200,
      humanAgentNudgeBeforeSeconds: 43_200,
      autoCloseAfterSeconds: 0,
    });
    expect(
      timerSettings({
        timers: { nudgeBeforeSeconds: 60, humanAgentNudgeBeforeSeconds: -1, autoCloseAfterSeconds: "1d" },
      }),
    ).toEqual({ ...DEFAULT_TIMER_SETTINGS, nudgeBeforeSeconds: 60 });
    expect(timerSettings({ timers: { autoCloseAfterSeconds: 8 * 86_400 } }).autoCloseAfterSeconds).toBe(0);
  });

  it("reads and shows spans from seconds to 7 days, and off", () => {
    expect(["45s", "30m", "2h", "7d", "off", "0"].map(parseTimerSetting)).toEqual([
      45, 1800, 7200, 604_800, 0, 0,
    ]);
    expect(["8d", "soon", "2 h", "-1m", ""].map(parseTimerSetting)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect([0, 45, 5400, 7200, 259_200].map(formatSeconds)).toEqual(["off", "45s", "90m", "2h", "3d"]);
  });
});
