// `/ig export` as Discord delivers it (what the file holds, and who is refused, runs on every
// platform: test/contract/export.test.ts): the JSON file rides on the deferred ephemeral answer,
// so only the admin who asked receives it; in a customer's thread the customer can be left out;
// refusals, unknown customers and bad arguments are answered in words, in Discord's markdown.

import { afterAll, beforeAll, expect, it } from "vitest";
import type { CustomerExport } from "../../../src/privacy/export.ts";
import {
  ADMIN,
  AGENT,
  type DiscordHarness,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../../helpers/discord-bridge.ts";
import { waitFor } from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

let h: DiscordHarness;
let thread: string;
const CUSTOMER = "1000000000000801"; // customer_0801 to the fake Graph
const OTHER = "1000000000000802";
const now = () => Date.now();

beforeAll(async () => {
  h = await startDiscordHarness();
  await postWebhook(h.url(), dmText(TEXT_ACCOUNT, CUSTOMER, "m_d_1", "ship it to 3 Pine Ave", now()));
  await postWebhook(h.url(), dmText(TEXT_ACCOUNT, CUSTOMER, "m_d_2", "STOP", now() + 10));
  await postWebhook(h.url(), dmText(TEXT_ACCOUNT, OTHER, "m_e_1", "mine is 5 Birch Ln", now() + 20));
  thread = await h.threadOf(TEXT_ACCOUNT, CUSTOMER);
  await h.posts(thread, 2);
  const said = await h.agentSays(thread, ">> Understood.");
  await h.settled(said.id, "sent");
  await h.threadOf(TEXT_ACCOUNT, OTHER);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const exportOf = (user?: string) => [
  { name: "export", type: 1, options: user === undefined ? [] : [{ name: "user", type: 3, value: user }] },
];

/** Runs `/ig export` and resolves with the deferral and its edit (or the one immediate reply). */
async function ask(channel: string, user: string | undefined, who: string, responses = 2) {
  const interaction = await h.discord.slashCommand(channel, "ig", exportOf(user), who);
  return interaction.waitForResponses(responses, 10_000);
}

it("refuses a non-admin in words, audited, with no file", async () => {
  const [deferred, edit] = await ask(thread, undefined, AGENT.id);
  expect(deferred).toMatchObject({ kind: "callback", type: 5, data: { flags: 64 } });
  expect(edit?.message).toMatchObject({
    content: expect.stringMatching(/Only admins may export/),
    attachments: [],
  });
  const { rows } = await h.service.db.query<{ actor_id: string }>(
    "SELECT actor_id FROM audit_log WHERE action = 'refused' AND details->>'action' = 'export'",
  );
  expect(rows).toEqual([{ actor_id: `discord:${AGENT.id}` }]);
});

it("gives an admin the customer's rows as an attachment only they see, from their thread, by @username and by id", async () => {
  for (const [channel, user] of [
    [thread, undefined],
    [TEXT_CHANNEL, "@customer_0801"],
    [TEXT_CHANNEL, CUSTOMER],
  ] as const) {
    const [, edit] = await ask(channel, user, ADMIN.id);
    expect(edit?.kind).toBe("edit_original");
    const message = edit?.message;
    // Ephemeral (flags 64) is what keeps the file to the person who asked.
    expect(message?.flags).toBe(64);
    expect(message?.content).toMatch(
      /^Export of (this customer|@customer\\_0801|1000000000000801): 1 conversation/,
    );
    expect(message?.attachments).toHaveLength(1);
    const file = message?.attachments[0];
    expect(file?.filename).toMatch(
      new RegExp(`^instagram-data-${TEXT_ACCOUNT}-${CUSTOMER}-\\d{8}T\\d{6}Z\\.json$`),
    );
    expect(edit?.files.map((f) => f.field)).toEqual(["files[0]"]);

    const data = JSON.parse(file?.data.toString("utf8") ?? "") as CustomerExport;
    expect(data.header).toMatchObject({
      customerId: CUSTOMER,
      account: { id: TEXT_ACCOUNT, username: "brand" },
    });
  }
  // Not a single message anyone else can see carries a file.
  for (const channel of [TEXT_CHANNEL, thread])
    expect(h.discord.messages(channel).filter((m) => m.attachments.length > 0)).toEqual([]);

  // Each export is audited once its file has reached the admin, just after the answer shows it.
  const rows = await waitFor(async () => {
    const { rows } = await h.service.db.query<{ actor_id: string; target: string; details: object }>(
      "SELECT actor_id, target, details FROM audit_log WHERE action = 'data_exported'",
    );
    return rows.length >= 3 ? rows : undefined;
  });
  expect(rows).toHaveLength(3);
  for (const row of rows) {
    expect(row).toMatchObject({ actor_id: `discord:${ADMIN.id}`, target: `customer:${CUSTOMER}` });
    expect(JSON.stringify(row.details)).not.toMatch(/Pine Ave|Understood|STOP/);
  }
});

it("answers an unknown customer, a channel without a customer, and a malformed user in words", async () => {
  const [, unknown] = await ask(TEXT_CHANNEL, "@nobody_here", ADMIN.id);
  expect(unknown?.message).toMatchObject({
    flags: 64,
    content: "No customer @nobody\\_here in this channel's accounts: nothing to export.",
    attachments: [],
  });
  const [, nobody] = await ask(TEXT_CHANNEL, undefined, ADMIN.id);
  expect(nobody?.message?.content).toBe(
    "Say whose data to export (@username or id), or ask in their thread.",
  );
  const [malformed] = await ask(TEXT_CHANNEL, "not a user!", ADMIN.id, 1);
  expect(malformed).toMatchObject({
    kind: "callback",
    type: 4,
    data: {
      flags: 64,
      content: "`not a user!` is not an Instagram user (an @username or an id)\nusage: `/ig export [user]`",
    },
  });
  const { rows } = await h.service.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_log WHERE action = 'data_exported'",
  );
  expect(rows[0]?.n).toBe(3);
});
