// `/ig export` on every platform: an admin gets every row stored about one customer as a JSON
// file only they can see, nothing about anyone else, no token; others are refused and audited;
// the audit keeps counts, never content. How each platform hands the file over (Slack's direct
// message, Discord's ephemeral attachment) and types its arguments:
// test/adapters/<name>/export.test.ts.

import { expect, it } from "vitest";
import type { CustomerExport } from "../../src/privacy/export.ts";
import { waitFor } from "../helpers/service.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import type { Answer, ChatHarness } from "./harness.ts";
import { now } from "./scenario.ts";

const CUSTOMER = "1000000000000701"; // the fake Graph names them customer_0701
const OTHER = "1000000000000702";

/** What a fresh service holds about two customers: DMs, a STOP, an agent's reply, comments under
 * each other's, a rule firing each. */
async function seed(h: ChatHarness): Promise<void> {
  const comment = (id: string, from: string, parent?: string) =>
    commentWebhook(h.account, {
      id,
      text: `comment ${id}`,
      from: { id: from, username: `customer_${from.slice(-4)}` },
      ...(parent ? { parentId: parent } : {}),
    });
  await postWebhook(h.url(), dmText(h.account, CUSTOMER, "m_x_1", "my address is 7 Elm St", now()));
  await postWebhook(h.url(), dmText(h.account, CUSTOMER, "m_x_2", "STOP", now() + 10));
  await postWebhook(h.url(), dmText(h.account, OTHER, "m_y_1", "my code is 9 Oak Rd", now() + 20));
  const thread = await h.threadOf(CUSTOMER);
  // The agent answers the STOP once it is recorded, so the audit holds them in that order.
  await waitFor(async () => {
    const { rows } = await h.service.db.query<{ consent: string }>(
      "SELECT consent FROM conversations WHERE customer_id = $1",
      [CUSTOMER],
    );
    return rows[0]?.consent === "revoked" ? true : undefined;
  });
  const reply = await h.agentSays(thread, ">> Noted, we will stop.");
  await h.settled(reply, "sent");
  // Their own comment (the other customer answers under it), and their answer under the other's.
  await postWebhook(h.url(), comment("17850000000000701", CUSTOMER));
  await postWebhook(h.url(), comment("17850000000000702", OTHER));
  await postWebhook(h.url(), comment("17850000000000703", CUSTOMER, "17850000000000702"));
  await postWebhook(h.url(), comment("17850000000000704", OTHER, "17850000000000701"));
  await waitFor(async () => {
    const { rows } = await h.service.db.query<{ n: number }>(
      `SELECT (SELECT count(*)::int FROM inbound_events WHERE status <> 'processed')
            + (4 - (SELECT count(*)::int FROM messages WHERE ig_message_id LIKE '178500000000007%')) AS n`,
    );
    return rows[0]?.n === 0 ? true : undefined;
  });
  for (const who of [CUSTOMER, OTHER])
    await h.service.db.query(
      "INSERT INTO rule_firings (rule_id, account_id, customer_id, event_id) VALUES ('welcome', $1, $2, NULL)",
      [h.account, who],
    );
}

forEachPlatform(
  "/ig export",
  (h) => {
    /** The answer's file, parsed. */
    const fileOf = (answer: Answer) => {
      if (!answer.file) throw new Error(`no file with “${answer.text}”`);
      return { ...answer.file, export: JSON.parse(answer.file.content) as CustomerExport };
    };

    it("refuses a non-admin, audited, with no file", async () => {
      const answer = await h.command("export", { user: "@customer_0701" }, { as: h.agent });
      expect(answer.text).toMatch(/Only admins may export a customer's data/);
      expect(answer.file).toBeUndefined();
      const { rows } = await h.service.db.query<{ actor_id: string; details: { action: string } }>(
        "SELECT actor_id, details FROM audit_log WHERE action = 'refused'",
      );
      expect(rows).toEqual([{ actor_id: h.key(h.agent), details: { action: "export" } }]);
    });

    it("gives an admin every row about the customer in a file only they see, and nothing about anyone else", async () => {
      const answer = await h.command("export", { user: "@customer_0701" }, { as: h.admin });
      expect(answer.text).toMatch(
        /^Export of @customer_0701: 1 conversation\(s\) with 3 message\(s\), 1 comment thread/,
      );
      const file = fileOf(answer);
      // Only the admin who asked can see it.
      expect(file.onlyFor).toBe(h.admin.id);
      expect(file.name).toMatch(
        new RegExp(`^instagram-data-${h.account}-${CUSTOMER}-\\d{8}T\\d{6}Z\\.json$`),
      );
      expect(file.mimeType).toMatch(/^application\/json/);

      const data = file.export;
      expect(data.header).toEqual({
        format: "threadbridge.customer-export",
        version: 1,
        generatedAt: expect.any(String),
        account: { id: h.account, username: "brand" },
        customerId: CUSTOMER,
      });
      expect(data.conversations).toEqual([
        expect.objectContaining({
          customer_id: CUSTOMER,
          consent: "revoked",
          status: "open",
          assignee: null,
          profile: expect.objectContaining({ username: "customer_0701" }),
        }),
      ]);
      expect(data.conversationMessages.map((m) => [m.direction, m.text])).toEqual([
        ["inbound", "my address is 7 Elm St"],
        ["inbound", "STOP"],
        ["outbound", "Noted, we will stop."],
      ]);
      expect(data.commentThreads.map((t) => t.root_comment_id)).toEqual(["17850000000000701"]);
      // Their comment, not the other customer's answer under it.
      expect(data.commentThreadMessages.map((m) => m.ig_message_id)).toEqual(["17850000000000701"]);
      expect(data.commentsElsewhere.map((m) => m.ig_message_id)).toEqual(["17850000000000703"]);
      expect(data.webhookEvents.length).toBeGreaterThanOrEqual(4);
      expect(file.content).toContain("17850000000000703");
      expect(data.ruleFirings).toEqual([
        expect.objectContaining({ rule_id: "welcome", customer_id: CUSTOMER }),
      ]);
      // The customer's STOP, and the agent's reply to them.
      expect(data.auditEntries.map((a) => [a.action, a.target])).toEqual([
        ["consent_changed", `customer:${CUSTOMER}`],
        ["reply_sent", `customer:${CUSTOMER}`],
      ]);

      // Nothing about the other customer, and no token in any form.
      const { rows } = await h.service.db.query<{ token_ciphertext: string }>(
        "SELECT token_ciphertext FROM instagram_accounts WHERE id = $1",
        [h.account],
      );
      for (const secret of [OTHER, "customer_0702", "9 Oak Rd", "17850000000000704", "IGAA-e2e-token"])
        expect(file.content).not.toContain(secret);
      expect(file.content).not.toContain(rows[0]?.token_ciphertext);
      expect(file.content).not.toMatch(/token/i);
      // Nothing of it was posted in the customer's thread.
      expect(JSON.stringify(h.messages(await h.threadOf(CUSTOMER)))).not.toContain("Export of");
    });

    it("exports by id too, and audits each export with counts only", async () => {
      // The first export is audited once its file has reached the admin, which on some platforms
      // is just after the answer shows it.
      await waitFor(async () => {
        const { rows } = await h.service.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM audit_log WHERE action = 'data_exported'",
        );
        return rows[0]?.n === 1 ? true : undefined;
      });
      const answer = await h.command("export", { user: CUSTOMER }, { as: h.admin });
      expect(answer.text).toMatch(new RegExp(`^Export of ${CUSTOMER}: 1 conversation`));
      const second = fileOf(answer);
      expect(second.onlyFor).toBe(h.admin.id);
      expect(second.export.header.customerId).toBe(CUSTOMER);
      // The second export also holds the audit entry of the first.
      expect(second.export.auditEntries.map((a) => a.action)).toEqual([
        "consent_changed",
        "reply_sent",
        "data_exported",
      ]);

      // Each export is audited once its file has reached the admin, which may be just after the
      // answer shows it.
      const rows = await waitFor(async () => {
        const { rows } = await h.service.db.query<{ actor_id: string; target: string; details: object }>(
          "SELECT actor_id, target, details FROM audit_log WHERE action = 'data_exported' ORDER BY id",
        );
        return rows.length >= 2 ? rows : undefined;
      });
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(row).toMatchObject({
          actor_id: h.key(h.admin),
          target: `customer:${CUSTOMER}`,
          details: {
            format: "threadbridge.customer-export",
            counts: expect.objectContaining({
              conversations: 1,
              conversationMessages: 3,
              commentsElsewhere: 1,
            }),
          },
        });
        const details = JSON.stringify(row.details);
        for (const content of ["Elm St", "Noted", "STOP", "comment 1785"])
          expect(details).not.toContain(content);
      }
    });

    it("answers an unknown customer clearly, without a file", async () => {
      const answer = await h.command("export", { user: "@nobody_here" }, { as: h.admin });
      expect(answer).toEqual({
        text: "No customer @nobody_here in this channel's accounts: nothing to export.",
      });
      const { rows } = await h.service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE action = 'data_exported'",
      );
      expect(rows[0]?.n).toBe(2);
    });
  },
  // The customer is named by the @username of their profile, which the mirror looks up without
  // waiting for the rate limit: a generous platform limit keeps a quick set-up from going without.
  { setup: seed, env: { IG_RATE_LIMITS: "platform=1000/1" } },
);
