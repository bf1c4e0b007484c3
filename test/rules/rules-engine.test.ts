// Auto-reply rules running in the whole service: a customer's event is recorded, mirrored into
// Slack, and the account's rules answer through the outbound path (fake Graph), announce
// themselves in the thread and write the audit log; cooldowns, opt-outs and agents' replies hold
// them back; a dry run decides the same without sending.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWebhook } from "../../src/instagram/webhook.ts";
import { createLogger } from "../../src/log/logger.ts";
import { DEFAULT_DISCLOSURE } from "../../src/rules/disclosure.ts";
import { RulesEngine } from "../../src/rules/engine.ts";
import { parseRuleFile } from "../../src/rules/load.ts";
import { importRules } from "../../src/rules/store.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { ACCOUNT, ADMIN, AGENT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { cli } from "../helpers/cli.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const RULES = `
version: 1
rules:
  - id: price
    name: price
    account: "${ACCOUNT}"
    priority: 10
    trigger: { type: dm_text, keywords: [price, "how much"] }
    actions:
      - type: dm_reply
        text: "Hi {first_name|there}! Prices: https://shop.example/prices"
        quick_replies: [{ title: Shipping, payload: FAQ_SHIPPING }]
      - type: tag
        tag: pricing
    cooldown: 1h
  - id: comment-to-dm
    name: comment to DM
    account: "${ACCOUNT}"
    trigger: { type: comment_text, keywords: [link] }
    actions:
      - type: private_reply
        text: "Here is the link, {first_name|friend}: https://shop.example"
      - type: public_reply
        variants: ["Sent you a DM, @{username}!", "Check your DMs @{username}"]
  - id: story-thanks
    name: story thanks
    account: "${ACCOUNT}"
    trigger: { type: story_mention }
    actions:
      - type: dm_reply
        text: "Thanks for the mention, {first_name|friend}!"
        image_url: "https://cdn.example/thanks.png"
      - type: notice
        text: "Story mention thanked automatically."
`;

let h: BridgeHarness;
const now = () => Date.now();
const textOf = (r: { body: unknown }) => (r.body as { message?: { text?: string } }).message?.text;

beforeAll(async () => {
  h = await startBridgeHarness();
  const parsed = parseRuleFile(RULES, "rules.yaml");
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  await importRules(h.service.db, parsed.file, "rules.yaml");
});

afterAll(async () => {
  await h?.close();
});

async function processed(mid: string): Promise<void> {
  await waitFor(async () => {
    const { rows } = await h.service.db.query<{ status: string }>(
      "SELECT status FROM inbound_events WHERE dedupe_key LIKE $1",
      [`%${mid}%`],
    );
    return rows[0]?.status === "processed" ? true : undefined;
  });
}

describe("rules in the service", () => {
  it("answers a price question once, with its quick reply, announces it in the thread and audits it", async () => {
    const customer = "1000000000000101";
    const before = h.sends().length;
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_rule_1", "how much is it?", now()));
    const sent = await waitFor(async () => {
      const s = h.sends().slice(before);
      return s.length > 0 ? s : undefined;
    });
    expect(sent[0]?.body).toEqual({
      recipient: { id: customer },
      messaging_type: "RESPONSE",
      message: {
        // The first automated message of a conversation says it is one (rules/disclosure.ts).
        text: `Hi Customer! Prices: https://shop.example/prices\n\n${DEFAULT_DISCLOSURE}`,
        quick_replies: [{ content_type: "text", title: "Shipping", payload: "FAQ_SHIPPING" }],
      },
    });
    const root = await h.rootOf(customer);
    await waitFor(async () =>
      h.slack.thread(CHANNEL, root).some((m) => m.text?.includes("rule ‘price’ replied")) ? true : undefined,
    );
    const { rows: audit } = await h.service.db.query<{ actor_id: string; action: string }>(
      "SELECT actor_id, action FROM audit_log WHERE actor_kind = 'rule'",
    );
    expect(audit).toEqual([{ actor_id: "price", action: "rule_fired" }]);
    const { rows: tags } = await h.service.db.query<{ tags: string[] }>(
      "SELECT tags FROM conversations WHERE customer_id = $1",
      [customer],
    );
    expect(tags[0]?.tags).toEqual(["pricing"]);

    // Within the cooldown the same question is the agents' to answer.
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_rule_2", "price again?", now() + 10));
    await processed("m_rule_2");
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sends().slice(before)).toHaveLength(1);
  });

  it("thanks a story mention with a text and an image, and leaves a notice in the thread", async () => {
    const customer = "1000000000000104";
    const before = h.sends().length;
    const at = now();
    await postWebhook(h.url(), {
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: at,
          messaging: [
            {
              sender: { id: customer },
              recipient: { id: ACCOUNT },
              timestamp: at,
              message: {
                mid: "m_story_1",
                attachments: [{ type: "story_mention", payload: { url: "https://cdn.example/story.jpg" } }],
              },
            },
          ],
        },
      ],
    });
    const sent = await waitFor(async () => {
      const s = h.sends().slice(before);
      return s.length >= 2 ? s : undefined;
    });
    expect(sent.map((r) => (r.body as { message: unknown }).message)).toEqual([
      { text: `Thanks for the mention, Customer!\n\n${DEFAULT_DISCLOSURE}` },
      { attachment: { type: "image", payload: { url: "https://cdn.example/thanks.png" } } },
    ]);
    const root = await h.rootOf(customer);
    await waitFor(async () =>
      h.slack.thread(CHANNEL, root).some((m) => m.text?.includes("Story mention thanked automatically"))
        ? true
        : undefined,
    );
  });

  it("never writes to a customer who opted out", async () => {
    const customer = "1000000000000102";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_rule_3", "hello", now()));
    await processed("m_rule_3");
    await h.service.db.query("UPDATE conversations SET consent = 'revoked' WHERE customer_id = $1", [
      customer,
    ]);
    const before = h.sends().length;
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_rule_4", "price?", now() + 10));
    await processed("m_rule_4");
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sends().length).toBe(before);
  });

  it("is silenced by an agent's recent reply in the thread", async () => {
    const customer = "1000000000000103";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_rule_5", "hello", now()));
    const root = await h.rootOf(customer);
    const { ts } = await h.agentSays(root, "Hi, Ana here, how can I help?");
    await h.settled(ts, "sent");
    const before = h.sends().length;
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_rule_6", "how much?", now() + 10));
    await processed("m_rule_6");
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sends().length).toBe(before);
  });

  it("turns a comment into a private reply and a public reply worded for that person", async () => {
    const root = "17850000000000301";
    const before = h.sends().length;
    await postWebhook(h.url(), {
      object: "instagram",
      entry: [
        {
          id: ACCOUNT,
          time: now(),
          changes: [
            {
              field: "comments",
              value: {
                id: root,
                text: "link please",
                from: { id: "1234567890123456", username: "jane_doe" },
                media: { id: "17900000000000001", media_product_type: "FEED" },
              },
            },
          ],
        },
      ],
    });
    const sent = await waitFor(async () => {
      const s = h.sends().slice(before);
      return s.length > 0 ? s : undefined;
    });
    expect(sent[0]?.body).toEqual({
      recipient: { comment_id: root },
      message: { text: `Here is the link, friend: https://shop.example\n\n${DEFAULT_DISCLOSURE}` },
    });
    const reply = await waitFor(async () =>
      h.graph.requests.find((r) => r.path.endsWith(`/${root}/replies`)),
    );
    expect(["Sent you a DM, @jane_doe!", "Check your DMs @jane_doe"]).toContain(
      (reply.body as { message: string }).message,
    );
  });

  it("dry-runs a rule file over a recorded webhook without sending anything", async (ctx) => {
    needsDatabaseServer("the CLI runs in its own process while the service holds the database", ctx);
    const file = `${h.t.env.DATA_DIR}/rules.yaml`;
    const event = `${h.t.env.DATA_DIR}/event.json`;
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, RULES);
    writeFileSync(
      event,
      JSON.stringify(dmText(ACCOUNT, "1000000000000199", "m_dry_1", "what's the price?", now())),
    );
    const before = h.sends().length;
    const r = await cli(["rules", "test", file, "--event", event], h.t.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/price: would fire/);
    expect(r.stdout).toMatch(
      /dm_reply to 1000000000000199: "Hi there! Prices: https:\/\/shop.example\/prices"/,
    );
    expect(h.sends().length).toBe(before);
  });

  it("lists, tests and (for admins) toggles rules with /ig rules in Slack", async () => {
    const ask = h.command;
    expect(await ask("rules list", AGENT, "rl")).toMatch(/price \(price\): dm_text → dm_reply, tag/);
    const before = h.sends().length;
    expect(await ask('rules test "how much?"', AGENT, "rt")).toMatch(
      /Dry run, nothing sent:\nprice: would fire: dm_reply/,
    );
    expect(h.sends().length).toBe(before);
    expect(await ask("rules disable price", AGENT, "rd1")).toMatch(/Only admins/);
    expect(await ask("rules disable price", ADMIN, "rd2")).toMatch(/Rule price disabled/);
    expect(await ask('rules test "how much?"', AGENT, "rt2")).toMatch(/No rule would answer/);
    expect(await ask("rules enable price", ADMIN, "re")).toMatch(/Rule price enabled/);
  });

  it("switches a rule from the CLI too, and audits every switch as rule:ID whoever made it", async (ctx) => {
    needsDatabaseServer("the CLI runs in its own process while the service holds the database", ctx);
    const off = await cli(["rules", "disable", "price"], h.t.env);
    expect({ code: off.code, out: off.stdout }).toEqual({ code: 0, out: "price disabled\n" });
    const on = await cli(["rules", "enable", "price"], h.t.env);
    expect({ code: on.code, out: on.stdout }).toEqual({ code: 0, out: "price enabled\n" });
    const unknown = await cli(["rules", "disable", "no-such-rule"], h.t.env);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("no rule no-such-rule");
    const { rows } = await h.service.db.query<{ actor_kind: string; action: string; target: string }>(
      "SELECT actor_kind, action, target FROM audit_log WHERE action LIKE 'rule_%abled' ORDER BY id",
    );
    // The chat switches of the test above, then the CLI's; the unknown rule left nothing.
    expect(rows.map((r) => `${r.actor_kind} ${r.action} ${r.target}`)).toEqual([
      "agent rule_disabled rule:price",
      "agent rule_enabled rule:price",
      "operator rule_disabled rule:price",
      "operator rule_enabled rule:price",
    ]);
  });

  it("decides in a dry run exactly what the real run then does, minus the sends", async () => {
    // An id the fake Graph has no profile for, so both runs know the same facts about the person.
    const customer = "100000000000150";
    const webhook = dmText(ACCOUNT, customer, "m_same_1", "price please", now());
    const parsed = parseWebhook(webhook);
    if (!parsed.ok) throw new Error(parsed.reason);
    const event = parsed.records[0]?.event;
    if (!event) throw new Error("no event");
    const dry = new RulesEngine({
      db: h.service.db,
      boss: undefined,
      gateway: undefined,
      adapters: new Map(),
      log: createLogger("silent"),
    });
    const before = h.sends().length;
    const planned = await dry.run(event, undefined, { dryRun: true });
    expect(h.sends().length).toBe(before);
    const firing = planned.find((d) => d.kind === "fire");
    const dm = firing?.kind === "fire" ? firing.actions.find((a) => a.type === "dm_reply") : undefined;
    expect(dm?.type).toBe("dm_reply");
    await postWebhook(h.url(), webhook);
    const sent = await waitFor(async () =>
      h
        .sends()
        .slice(before)
        .find((r) => textOf(r) !== undefined),
    );
    // What the dry run planned, with the disclosure the real run adds to a first automated message.
    expect(textOf(sent)).toBe(dm?.type === "dm_reply" ? `${dm.text}\n\n${DEFAULT_DISCLOSURE}` : undefined);
    const { rows } = await h.service.db.query<{ rule_id: string }>(
      "SELECT rule_id FROM rule_firings WHERE customer_id = $1",
      [customer],
    );
    expect(rows.map((r) => r.rule_id)).toEqual(planned.filter((d) => d.kind === "fire").map((d) => d.ruleId));
  });

  it("refuses a rule file with errors, listing each with its line", async () => {
    const file = `${h.t.env.DATA_DIR}/bad.yaml`;
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      file,
      `rules:\n  - id: Bad Id\n    name: x\n    account: "1"\n    trigger: { type: dm_text, regex: "(" }\n    actions: []\n`,
    );
    const r = await cli(["rules", "import", file], h.t.env);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/line 2/);
    expect(r.stderr).toMatch(/line 5/);
    expect(r.stderr).toMatch(/line 6/);
  });
});
