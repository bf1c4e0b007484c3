// SLA alerts and digest schedules in a running service: a conversation waiting past SLA_MINUTES
// gets one reminder mentioning its assignee, or the on-duty group; the worker keeps one daily and
// one weekly schedule per account with a digest channel, in the account's zone.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIGEST_QUEUE, SLA_QUEUE } from "../../src/queue/boss.ts";
import { ACCOUNT, AGENT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
const HOUR = 3_600_000;

beforeAll(async () => {
  h = await startBridgeHarness({
    SLA_MINUTES: "60",
    SLA_ON_DUTY: "slack-group:S0DUTY,discord-role:400000000000000009",
    DIGEST_HOUR: "7",
    DIGEST_WEEKDAY: "fri",
    DIGEST_TIMEZONE: "America/New_York",
  });
});

afterAll(async () => {
  await h?.close();
});

/** Runs one SLA pass (the same job the worker's cron sends every minute) and waits for it. */
async function slaPass(): Promise<void> {
  const id = await h.service.boss.send(SLA_QUEUE, {});
  if (!id) throw new Error("the SLA pass was not queued");
  await waitFor(async () => {
    const job = await h.service.boss.getJobById(SLA_QUEUE, id);
    if (job?.state === "failed") throw new Error(`the SLA pass failed: ${JSON.stringify(job.output)}`);
    return job?.state === "completed" ? true : undefined;
  });
}

const reminders = (root: string) =>
  h.slack
    .thread(CHANNEL, root)
    .filter((m) => /past the 60-minute SLA/.test(JSON.stringify(m.blocks ?? m.text)));

describe("SLA alerts", () => {
  it("reminds once, mentioning the on-duty group when nobody is assigned", async () => {
    const customer = "1000000000000801";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_sla_1", "hello?", Date.now() - 2 * HOUR));
    const root = await h.rootOf(customer);
    await slaPass();
    await waitFor(async () => (reminders(root).length === 1 ? true : undefined));
    expect(JSON.stringify(reminders(root)[0]?.blocks)).toContain("<!subteam^S0DUTY>");
    expect(JSON.stringify(reminders(root)[0]?.blocks)).toMatch(/waiting 2 h/);
    await slaPass();
    expect(reminders(root)).toHaveLength(1);
    const { rows } = await h.service.db.query(
      "SELECT 1 FROM audit_log WHERE action = 'sla_alert' AND target = $1",
      [`customer:${customer}`],
    );
    expect(rows).toHaveLength(1);
  });

  it("mentions the assignee instead, and leaves answered and recent conversations alone", async () => {
    const assigned = "1000000000000802";
    await postWebhook(h.url(), dmText(ACCOUNT, assigned, "m_sla_2", "any news?", Date.now() - 3 * HOUR));
    const root = await h.rootOf(assigned);
    await h.agentSays(root, "!assign me");
    await waitFor(async () => {
      const { rows } = await h.service.db.query<{ assignee_ref: string | null }>(
        "SELECT assignee_ref FROM conversations WHERE customer_id = $1",
        [assigned],
      );
      return rows[0]?.assignee_ref === AGENT.id ? true : undefined;
    });

    const answered = "1000000000000803";
    await postWebhook(h.url(), dmText(ACCOUNT, answered, "m_sla_3", "hi", Date.now() - 3 * HOUR));
    const answeredRoot = await h.rootOf(answered);
    const reply = await h.agentSays(answeredRoot, "Hello! How can we help?");
    await h.settled(reply.ts, "sent");

    const recent = "1000000000000804";
    await postWebhook(h.url(), dmText(ACCOUNT, recent, "m_sla_4", "just now", Date.now() - 10 * 60_000));
    const recentRoot = await h.rootOf(recent);

    await slaPass();
    await waitFor(async () => (reminders(root).length === 1 ? true : undefined));
    const text = JSON.stringify(reminders(root)[0]?.blocks);
    expect(text).toContain(`<@${AGENT.id}>`);
    expect(text).not.toContain("subteam");
    expect(reminders(answeredRoot)).toEqual([]);
    expect(reminders(recentRoot)).toEqual([]);
  });
});

describe("digest schedules", () => {
  const keys = async () =>
    (await h.service.boss.getSchedules(DIGEST_QUEUE))
      .map((s) => ({ key: s.key, cron: s.cron, tz: s.timezone }))
      .sort((a, b) => a.key.localeCompare(b.key));

  it("keeps a daily and a weekly schedule per account with a digest channel, in its zone", async () => {
    expect(await keys()).toEqual([]);
    await h.service.db.query("UPDATE instagram_accounts SET digest_channel = 'C0DIGEST' WHERE id = $1", [
      ACCOUNT,
    ]);
    await slaPass();
    expect(await keys()).toEqual([
      { key: `${ACCOUNT}/daily`, cron: "0 7 * * *", tz: "America/New_York" },
      { key: `${ACCOUNT}/weekly`, cron: "0 7 * * 5", tz: "America/New_York" },
    ]);
    // The rule file's zone wins over DIGEST_TIMEZONE.
    await h.service.db.query(
      `UPDATE instagram_accounts SET rule_settings = '{"timezone":"Asia/Kolkata","hours":{},"holidays":[]}' WHERE id = $1`,
      [ACCOUNT],
    );
    await slaPass();
    expect((await keys()).map((k) => k.tz)).toEqual(["Asia/Kolkata", "Asia/Kolkata"]);
    await h.service.db.query("UPDATE instagram_accounts SET digest_channel = NULL WHERE id = $1", [ACCOUNT]);
    await slaPass();
    expect(await keys()).toEqual([]);
  });
});
