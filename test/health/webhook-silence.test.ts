// Webhook silence (issue 22), end to end against the fakes: an account whose webhooks stopped
// longer ago than WEBHOOK_SILENCE_MINUTES (and 4 usual gaps) gets one notice in its channel, not
// one per check; the metric says 1 and `doctor` fails on it; a webhook arriving ends it with an
// all-clear and the gauge back to 0. A busy account's threshold follows its traffic.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../adapters/index.ts";
import { loadConfig } from "../../src/config/config.ts";
import { runDoctor } from "../../src/health/doctor.ts";
import { silenceText, webhookSilence } from "../../src/health/webhook-silence.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { createLogger } from "../../src/log/logger.ts";
import { ACCOUNT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { TEST_KEY, waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
const HOUR = 3_600_000;

const notices = () =>
  h.slack
    .topLevel(CHANNEL)
    .map((m) => m.text ?? "")
    .filter((t) => t.includes("webhooks for @brand"));

beforeAll(async () => {
  h = await startBridgeHarness({ WEBHOOK_SILENCE_MINUTES: "60", CHAT_CHECK_SECONDS: "1" });
});
afterAll(async () => {
  await h?.close();
});

async function metric(name: string): Promise<string | undefined> {
  const text = await (await fetch(`${h.url()}/metrics`)).text();
  return text.split("\n").find((l) => l.startsWith(`${name}{account="${ACCOUNT}"}`));
}

describe("webhook silence", () => {
  it("notices a silent account once, shows it in the metric and doctor, and clears when webhooks return", async () => {
    // A webhook two hours ago, nothing since.
    await postWebhook(h.url(), dmText(ACCOUNT, "1000000000000961", "m_sil_1", "hello", Date.now()));
    await waitFor(async () => {
      const { rows } = await h.service.db.query<{ at: Date | null }>(
        "SELECT last_webhook_at AS at FROM instagram_accounts WHERE id = $1",
        [ACCOUNT],
      );
      return rows[0]?.at ? true : undefined;
    });
    expect(await metric("threadbridge_webhook_silent")).toMatch(/ 0$/);
    await h.service.db.query(
      "UPDATE instagram_accounts SET last_webhook_at = now() - interval '2 hours' WHERE id = $1",
      [ACCOUNT],
    );

    await waitFor(async () => (notices().length > 0 ? true : undefined), 15_000, "the silence notice");
    expect(notices()[0]).toContain("have gone silent");
    expect(await metric("threadbridge_webhook_silent")).toMatch(/ 1$/);
    const config = loadConfig(h.t.env, platforms);
    const doctor = await runDoctor({ config, log: createLogger("silent"), db: h.service.db });
    const line = doctor.find((c) => c.check === "account @brand: webhook traffic");
    expect(line).toMatchObject({ ok: false });
    expect(line?.detail).toMatch(/^silent for 2 h/);

    // Checks keep running (every second here): still one notice.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(notices()).toHaveLength(1);

    await postWebhook(h.url(), dmText(ACCOUNT, "1000000000000961", "m_sil_2", "still there?", Date.now()));
    await waitFor(
      async () => (notices().some((t) => t.includes("arriving again")) ? true : undefined),
      15_000,
      "the all-clear",
    );
    expect(await metric("threadbridge_webhook_silent")).toMatch(/ 0$/);
    expect(notices()).toHaveLength(2);
    // The end of the silence queued a backfill: a worker reads the account's conversations.
    await waitFor(
      async () =>
        h.graph.requests.some((r) => r.method === "GET" && r.path.endsWith(`/${ACCOUNT}/conversations`))
          ? true
          : undefined,
      15_000,
      "the backfill after the silence",
    );
  }, 60_000);

  it("gives a busy account a threshold from its traffic, a quiet one the fixed minimum", async () => {
    const now = new Date();
    // Two webhooks this week (the test above): a usual gap of 3.5 days, so 14 days of quiet are usual.
    const [quiet] = await webhookSilence(h.service.db, HOUR, now);
    expect(quiet?.thresholdMs).toBe(14 * 24 * HOUR);
    expect(quiet?.silent).toBe(false);
    // 2,016 events in a week: one every 5 minutes, so 4 gaps are 20 minutes, over the 10-minute
    // minimum given here: the traffic decides.
    await h.service.db.query(
      `INSERT INTO inbound_events (account_id, dedupe_key, kind, thread_key, event, raw, occurred_at, received_at, job_id, status)
       SELECT $1, 'busy:' || g, 'unknown', 'account', '{"type":"unknown"}', '{}', now(), now() - (g || ' minutes')::interval, gen_random_uuid(), 'processed'
         FROM generate_series(1, 2014) g`,
      [ACCOUNT],
    );
    const [busy] = await webhookSilence(h.service.db, 10 * 60_000, now);
    expect(busy?.thresholdMs).toBe(20 * 60_000);
  });

  it("counts only the time within the account's opening hours: a quiet night is no silence", async () => {
    const NIGHT = "17841400000000777";
    await addAccount(h.service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: NIGHT,
      username: "night_shop",
      token: "IGAA-night-token",
      chat: { platform: "slack", channel: "C0NIGHTSHOP" },
    });
    // The last webhook at closing time on Monday 7 Dec 2026 (UTC); open 09:00–17:00 every day but Sunday.
    await h.service.db.query(
      "UPDATE instagram_accounts SET last_webhook_at = $2, created_at = $3 WHERE id = $1",
      [NIGHT, "2026-12-07T17:00:00Z", "2026-11-01T00:00:00Z"],
    );
    const at = async (iso: string) =>
      (await webhookSilence(h.service.db, HOUR, new Date(iso))).find((s) => s.account === NIGHT);

    // Without opening hours, 15 hours of night ring the 1-hour alarm.
    expect(await at("2026-12-08T08:00:00Z")).toMatchObject({
      silent: true,
      openHoursOnly: false,
      quietMs: 15 * HOUR,
    });

    const hours = Object.fromEntries(
      ["mon", "tue", "wed", "thu", "fri", "sat"].map((d) => [d, ["09:00-17:00"]]),
    );
    await h.service.db.query("UPDATE instagram_accounts SET rule_settings = $2 WHERE id = $1", [
      NIGHT,
      JSON.stringify({ timezone: "UTC", hours, holidays: [] }),
    ]);
    // The night before opening: no open time has passed.
    expect(await at("2026-12-08T08:59:00Z")).toMatchObject({
      silent: false,
      openHoursOnly: true,
      quietMs: 0,
    });
    // Half an hour into the day: still under the hour.
    expect(await at("2026-12-08T09:30:00Z")).toMatchObject({ silent: false, quietMs: HOUR / 2 });
    // An hour and a half of opening hours without a webhook: the alarm rings.
    const silent = await at("2026-12-08T10:30:00Z");
    expect(silent).toMatchObject({ silent: true, quietMs: 1.5 * HOUR, thresholdMs: HOUR });
    if (!silent) throw new Error("no silence for the account");
    expect(silenceText(silent, new Date("2026-12-08T10:30:00Z"))).toContain(
      "no webhook has arrived for 17 h 30 min (since 2026-12-07 17:00 UTC), 1 h 30 min of it within opening hours, longer than its usual traffic explains (1 h of opening hours)",
    );
    // Saturday 17:00 to Monday 08:00: a closed Sunday and two nights are not a silence.
    await h.service.db.query("UPDATE instagram_accounts SET last_webhook_at = $2 WHERE id = $1", [
      NIGHT,
      "2026-12-12T17:00:00Z",
    ]);
    expect(await at("2026-12-14T08:00:00Z")).toMatchObject({ silent: false, quietMs: 0 });
    expect(await at("2026-12-14T10:01:00Z")).toMatchObject({ silent: true });
  });
});
