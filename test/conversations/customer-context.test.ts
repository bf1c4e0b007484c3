// Customer context on the root (issue 21): `!note`, `!label` and `!unlabel` typed in a thread are
// kept per (account, customer), shown on the current root at once and on every new root of that
// customer; bad labels and the label bound answer precisely.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportCustomer } from "../../src/privacy/export.ts";
import { parseRuleFile } from "../../src/rules/load.ts";
import { importRules } from "../../src/rules/store.ts";
import { ACCOUNT, ADMIN, AGENT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { type DiscordHarness, FORUM_ACCOUNT, startDiscordHarness } from "../helpers/discord-bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
const now = () => Date.now();

beforeAll(async () => {
  h = await startBridgeHarness();
  // Before any message, so the engine's rule cache starts with it.
  const parsed = parseRuleFile(
    `
rules:
  - id: vip-welcome
    name: vip welcome
    account: "${ACCOUNT}"
    trigger: { type: dm_text, keywords: [priority] }
    conditions: { label: vip, agent_silence_minutes: 0 }
    actions:
      - type: dm_reply
        text: "VIP line: we are on it"
`,
    "rules.yaml",
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  await importRules(h.service.db, parsed.file, "rules.yaml");
});

afterAll(async () => {
  await h?.close();
});

const rootShows = (root: string, text: string) =>
  waitFor(
    async () =>
      JSON.stringify(h.slack.message(CHANNEL, root)?.blocks ?? []).includes(text) ? true : undefined,
    10_000,
    `the root showing ${text}`,
  );

it("shows a customer's notes and labels on the current root and on their next new root", async () => {
  const customer = "1000000000000701";
  await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_ctx_1", "hello", now()));
  const root = await h.rootOf(customer);
  const said = (text: string) =>
    waitFor(async () =>
      h.slack.thread(CHANNEL, root).some((m) => m.text?.includes(text)) ? true : undefined,
    );

  await h.agentSays(root, "!note prefers English, ordered twice in May");
  await said("added a note about this customer");
  await h.agentSays(root, "!label VIP");
  await said("labeled this customer vip");
  await h.agentSays(root, "!label wholesale");
  await said("labeled this customer wholesale");
  await h.agentSays(root, "!unlabel wholesale");
  await said("removed the label wholesale");
  await h.agentSays(root, "!label wh@t");
  await said("is not a label");

  await rootShows(root, "prefers English, ordered twice in May");
  await rootShows(root, "🏷️ vip");
  expect(JSON.stringify(h.slack.message(CHANNEL, root)?.blocks)).not.toContain("wholesale");

  const stored = await h.service.db.query<{ label: string }>(
    "SELECT label FROM customer_labels WHERE account_id = $1 AND customer_id = $2",
    [ACCOUNT, customer],
  );
  expect(stored.rows.map((r) => r.label)).toEqual(["vip"]);

  // The conversation's thread is gone from chat (as when its channel's route changes): the
  // customer's next message opens a new root, which carries what the team knows about them.
  await h.service.db.query(
    "UPDATE conversations SET chat_thread = NULL, chat_channel = NULL WHERE customer_id = $1",
    [customer],
  );
  await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_ctx_2", "me again", now() + 10));
  const next = await waitFor(async () => {
    const { rows } = await h.service.db.query<{ chat_thread: string | null }>(
      "SELECT chat_thread FROM conversations WHERE customer_id = $1",
      [customer],
    );
    const t = rows[0]?.chat_thread;
    return t && t !== root ? t : undefined;
  });
  await rootShows(next, "prefers English, ordered twice in May");
  await rootShows(next, "🏷️ vip");
});

it("bounds the labels a customer carries", async () => {
  const customer = "1000000000000702";
  await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_ctx_3", "hi", now()));
  const root = await h.rootOf(customer);
  for (let i = 0; i < 20; i++)
    await h.service.db.query(
      "INSERT INTO customer_labels (account_id, customer_id, label) VALUES ($1, $2, $3)",
      [ACCOUNT, customer, `l${i}`],
    );
  await h.agentSays(root, "!label one-more");
  await waitFor(async () =>
    h.slack.thread(CHANNEL, root).some((m) => m.text?.includes("already has 20 labels")) ? true : undefined,
  );
});

it("exports a customer's notes and labels, and /ig forget erases them", async () => {
  const customer = "1000000000000703";
  await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_ctx_4", "hi", now()));
  const root = await h.rootOf(customer);
  await h.agentSays(root, "!note asked about a refund");
  await h.agentSays(root, "!label refund");
  await rootShows(root, "asked about a refund");
  await rootShows(root, "🏷️ refund");

  const data = await exportCustomer(h.service.db, ACCOUNT, customer);
  expect(data?.customerNotes.map((n) => [n.text, n.author])).toEqual([
    ["asked about a refund", AGENT.display_name],
  ]);
  expect(data?.customerLabels.map((l) => l.label)).toEqual(["refund"]);

  const answer = await h.command(`forget ${customer}`, ADMIN, "ctx-forget");
  expect(answer).toMatch(/1 note\(s\), 1 label\(s\)/);
  const left = await h.service.db.query<{ n: string }>(
    `SELECT (SELECT count(*) FROM customer_notes WHERE customer_id = $1)
          + (SELECT count(*) FROM customer_labels WHERE customer_id = $1) AS n`,
    [customer],
  );
  expect(Number(left.rows[0]?.n)).toBe(0);
});

it("lets a rule fire only for customers carrying a label", async () => {
  const vipSends = () => h.sends().filter((r) => JSON.stringify(r.body).includes("VIP line")).length;

  const customer = "1000000000000704";
  await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_ctx_5", "priority please", now()));
  const root = await h.rootOf(customer);
  await waitFor(async () =>
    (
      await h.service.db.query(
        "SELECT 1 FROM inbound_events WHERE status = 'processed' AND raw::text LIKE '%m_ctx_5%'",
      )
    ).rows.length > 0
      ? true
      : undefined,
  );
  expect(vipSends()).toBe(0);

  await h.agentSays(root, "!label vip");
  await rootShows(root, "🏷️ vip");
  await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_ctx_6", "priority please", now() + 10));
  await waitFor(async () => (vipSends() === 1 ? true : undefined), 10_000, "the VIP rule's reply");

  const bad = parseRuleFile(
    `rules:\n  - id: x\n    name: x\n    trigger: { type: dm_text, keywords: [a] }\n    conditions: { label: "VIP!" }\n    actions: [{ type: dm_reply, text: hi }]\n`,
    "bad.yaml",
  );
  expect(bad.ok).toBe(false);
  expect(JSON.stringify(bad.ok ? [] : bad.errors)).toContain("must be a label");
});

describe("on Discord", () => {
  let d: DiscordHarness;
  beforeAll(async () => {
    d = await startDiscordHarness();
  });
  afterAll(async () => {
    await d?.close();
  });

  it("shows notes and labels typed in the thread on the root", async () => {
    const customer = "1000000000000801";
    await postWebhook(d.url(), dmText(FORUM_ACCOUNT, customer, "m_dctx_1", "hello", Date.now()));
    const thread = await d.threadOf(FORUM_ACCOUNT, customer);
    await d.agentSays(thread, "!note wants the blue one");
    await d.agentSays(thread, "!label vip");
    await waitFor(
      async () => {
        const embeds = JSON.stringify(d.discord.message(thread, thread)?.embeds ?? []);
        return embeds.includes("wants the blue one") && embeds.includes("🏷️ vip") ? true : undefined;
      },
      10_000,
      "the Discord root showing the note and label",
    );
  });
});
