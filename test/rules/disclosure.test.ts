// "Who is speaking" for automation: a rule's reply carries the account's disclosure line the first
// time in a conversation, not the next time, again after a human replied, and again after the
// configured lapse; in the language the rule (or its saved reply) is written in. Decided in the
// database, so a restart neither repeats nor forgets it. Also a rule's `snippet` action, and one
// naming a saved reply that was removed since.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_DISCLOSURE,
  disclosureDue,
  disclosureSettings,
  disclosureText,
} from "../../src/rules/disclosure.ts";
import { parseRuleFile } from "../../src/rules/load.ts";
import { importRules } from "../../src/rules/store.ts";
import { importSnippets, removeSnippet } from "../../src/snippets/store.ts";
import type { RecordedRequest } from "../fakes/graph-server.ts";
import { ACCOUNT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const OPERATOR = { kind: "operator" as const, id: "cli:test" };

describe("when a disclosure is due", () => {
  const t = (h: number) => new Date(Date.UTC(2026, 0, 1, h));
  const lapse = 24 * 60;
  it("is due first, after the lapse, and after a human spoke since the last automated message", () => {
    const none = { lastHumanAt: null, lastAutomatedAt: null, now: t(10) };
    expect(disclosureDue({ ...none, lastDisclosureAt: null }, lapse)).toBe("first");
    expect(disclosureDue({ ...none, lastDisclosureAt: t(9) }, lapse)).toBeUndefined();
    expect(
      disclosureDue({ ...none, lastDisclosureAt: t(9), now: new Date(t(9).getTime() + 86_400_000) }, lapse),
    ).toBe("lapse");
    expect(
      disclosureDue({ lastDisclosureAt: t(1), lastAutomatedAt: t(1), lastHumanAt: t(2), now: t(3) }, lapse),
    ).toBe("handover");
    expect(
      disclosureDue({ lastDisclosureAt: t(1), lastAutomatedAt: t(3), lastHumanAt: t(2), now: t(4) }, lapse),
    ).toBeUndefined();
  });

  it("picks the text of the language, its base language, the account's default, or English", () => {
    const s = disclosureSettings({
      disclosure: {
        texts: { default: "Automated.", es: "Mensaje automático.", "pt-BR": "Mensagem automática." },
      },
    });
    expect(disclosureText(s, "es")).toBe("Mensaje automático.");
    expect(disclosureText(s, "es-MX")).toBe("Mensaje automático.");
    expect(disclosureText(s, "pt-br")).toBe("Mensagem automática.");
    expect(disclosureText(s, "de")).toBe("Automated.");
    expect(disclosureText(s)).toBe("Automated.");
    expect(disclosureText(disclosureSettings({}), "de")).toBe(DEFAULT_DISCLOSURE);
    expect(disclosureSettings({}).lapseMinutes).toBe(24 * 60);
  });
});

const RULES = `
rules:
  - id: price
    name: price
    account: "${ACCOUNT}"
    trigger: { type: dm_text, keywords: [price] }
    conditions: { agent_silence_minutes: 0 }
    actions:
      - type: dm_reply
        text: "Prices: https://shop.example/prices"
  - id: hours
    name: opening hours
    account: "${ACCOUNT}"
    language: en
    trigger: { type: dm_text, keywords: [horario] }
    actions:
      - snippet: horario
      - type: tag
        tag: hours
`;

let h: BridgeHarness;
const now = () => Date.now();
type Sent = { recipient: { id: string }; message: { text?: string; quick_replies?: unknown[] } };
const body = (r: RecordedRequest) => r.body as Sent;
const sendsTo = (customer: string) => h.sends().filter((r) => body(r).recipient.id === customer);

async function customerSays(customer: string, mid: string, text: string, count: number): Promise<string> {
  await postWebhook(h.url(), dmText(ACCOUNT, customer, mid, text, now()));
  const sent = await waitFor(
    async () => sendsTo(customer)[count - 1],
    15_000,
    `send ${count} to ${customer}`,
  );
  return body(sent).message.text ?? "";
}

describe("rules' replies and the disclosure, end to end", () => {
  beforeAll(async () => {
    h = await startBridgeHarness();
    await h.service.db.query(`UPDATE instagram_accounts SET settings = settings || $2::jsonb WHERE id = $1`, [
      ACCOUNT,
      JSON.stringify({ disclosure: { texts: { es: "Este es un mensaje automático." } } }),
    ]);
    await importSnippets(
      h.service.db,
      [
        {
          account: ACCOUNT,
          name: "horario",
          text: "Abrimos a las 9, {first_name}.",
          language: "es",
          attachments: [],
          quickReplies: [{ title: "Gracias", payload: "THANKS" }],
          cards: [{ title: "Horario de {first_name}", url: "https://shop.example/horario" }],
        },
      ],
      "test",
      OPERATOR,
    );
    const parsed = parseRuleFile(RULES, "rules.yaml", { snippetExists: (_a, name) => name === "horario" });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    await importRules(h.service.db, parsed.file, "rules.yaml");
  });

  afterAll(async () => {
    await h?.close();
  });

  it("discloses the first time, not the second, again after a human reply, after a restart only past the lapse", async () => {
    const customer = "1000000000000901";
    const reply = "Prices: https://shop.example/prices";
    const disclosed = `${reply}\n\n${DEFAULT_DISCLOSURE}`;
    expect(await customerSays(customer, "m_disc_1", "price?", 1)).toBe(disclosed);
    const root = await h.rootOf(customer);
    await waitFor(async () =>
      h.slack
        .thread(CHANNEL, root)
        .some(
          (m) =>
            m.text?.includes("rule ‘price’ replied") && m.text.includes("with the automation disclosure"),
        )
        ? true
        : undefined,
    );
    expect(await customerSays(customer, "m_disc_2", "price again", 2)).toBe(reply);

    // A person answers: the next automated message says again that it is one.
    const human = await h.agentSays(root, "Let me check that for you.");
    await h.settled(human.ts, "sent");
    expect(await customerSays(customer, "m_disc_3", "price, please", 4)).toBe(disclosed);

    // Kept in the database: a restart does not disclose again within the lapse...
    await h.restart();
    expect(await customerSays(customer, "m_disc_4", "price!", 5)).toBe(reply);
    // ...and a day after the last one, it does.
    await h.service.db.query(
      "UPDATE conversations SET last_disclosure_at = now() - interval '25 hours' WHERE account_id = $1 AND customer_id = $2",
      [ACCOUNT, customer],
    );
    expect(await customerSays(customer, "m_disc_5", "price?", 6)).toBe(disclosed);
    const { rows } = await h.service.db.query<{ details: { disclosed?: boolean } }>(
      "SELECT details FROM audit_log WHERE action = 'rule_fired' AND target = $1 ORDER BY id",
      [`customer:${customer}`],
    );
    expect(rows.map((r) => r.details.disclosed === true)).toEqual([true, false, true, false, true]);
  });

  it("sends a rule's saved reply with its cards, disclosed in the saved reply's language", async () => {
    const customer = "1000000000000902";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_disc_6", "¿horario?", now()));
    const sent = await waitFor(async () => sendsTo(customer)[0]);
    expect(body(sent).message).toEqual({
      text: "Abrimos a las 9, Customer.\n\nEste es un mensaje automático.",
      quick_replies: [{ content_type: "text", title: "Gracias", payload: "THANKS" }],
    });
    // Its cards follow as one generic template, variables filled in as in the text.
    const cards = await waitFor(async () => sendsTo(customer)[1]);
    expect(body(cards).message).toEqual({
      attachment: {
        type: "template",
        payload: {
          template_type: "generic",
          elements: [
            {
              title: "Horario de Customer",
              default_action: { type: "web_url", url: "https://shop.example/horario" },
            },
          ],
        },
      },
    });
    const root = await h.rootOf(customer);
    await waitFor(async () =>
      h.slack
        .thread(CHANNEL, root)
        .some((m) => m.text?.includes("replied with saved reply ‘horario’: “Abrimos a las 9, Customer.”"))
        ? true
        : undefined,
    );
  });

  it("skips a saved reply removed since the import, says so in the thread and the log, and does the rest", async () => {
    await removeSnippet(h.service.db, "horario", ACCOUNT, OPERATOR);
    const customer = "1000000000000903";
    await postWebhook(h.url(), dmText(ACCOUNT, customer, "m_disc_7", "horario", now()));
    const root = await h.rootOf(customer);
    await waitFor(async () =>
      h.slack
        .thread(CHANNEL, root)
        .some((m) => m.text?.includes("names the saved reply ‘horario’, which does not exist"))
        ? true
        : undefined,
    );
    const { rows } = await h.service.db.query<{ tags: string[] }>(
      "SELECT tags FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [ACCOUNT, customer],
    );
    expect(rows[0]?.tags).toEqual(["hours"]);
    expect(sendsTo(customer)).toEqual([]);
    const { rows: audit } = await h.service.db.query<{ details: { missingSnippets?: string[] } }>(
      "SELECT details FROM audit_log WHERE action = 'rule_fired' AND target = $1",
      [`customer:${customer}`],
    );
    expect(audit[0]?.details.missingSnippets).toEqual(["horario"]);
  });
});
