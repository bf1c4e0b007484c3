// `/ig forget` on Discord: the customer's threads go whole — a text-channel thread (header, mirrored
// messages and notices) as well as a forum post — and the answer counts them.

import { afterAll, beforeAll, expect, it } from "vitest";
import {
  ADMIN,
  AGENT,
  type DiscordHarness,
  FORUM_ACCOUNT,
  startDiscordHarness,
  TEXT_ACCOUNT,
} from "../../helpers/discord-bridge.ts";
import { waitFor } from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

let h: DiscordHarness;
const CUSTOMER = "1000000000000611";

beforeAll(async () => {
  h = await startDiscordHarness();
});

afterAll(async () => {
  await h?.close();
});

const forget = async (channel: string, user: string, by: string) => {
  const call = await h.discord.slashCommand(
    channel,
    "ig",
    [{ name: "forget", type: 1, options: [{ name: "user", type: 3, value: user }] }],
    by,
  );
  return JSON.stringify(await call.waitForResponses(2));
};

it("deletes the customer's text-channel thread and forum post whole", async () => {
  await postWebhook(h.url(), dmText(TEXT_ACCOUNT, CUSTOMER, "m_fd_1", "my phone is 555-0101", Date.now()));
  await postWebhook(h.url(), dmText(FORUM_ACCOUNT, CUSTOMER, "m_fd_2", "hello forum", Date.now()));
  const text = await h.threadOf(TEXT_ACCOUNT, CUSTOMER);
  const forum = await h.threadOf(FORUM_ACCOUNT, CUSTOMER);
  await h.posts(text, 1);
  await h.posts(forum, 1);
  // A notice from the bridge in the thread: erasure must take it too.
  const said = await h.agentSays(text, "!status");
  await waitFor(async () => (h.discord.messages(text).some((m) => m.replyTo === said.id) ? true : undefined));

  expect(await forget(text, CUSTOMER, AGENT.id)).toMatch(/Only admins may erase/);
  expect(h.discord.channel(text)).toBeDefined();

  expect(await forget(text, CUSTOMER, ADMIN.id)).toMatch(
    /Erased 1000000000000611: 1 conversation\(s\).*1 chat thread\(s\)/,
  );
  expect(h.discord.channel(text)).toBeUndefined();
  const { rows } = await h.service.db.query(
    "SELECT 1 FROM conversations WHERE customer_id = $1 AND account_id = $2",
    [CUSTOMER, TEXT_ACCOUNT],
  );
  expect(rows).toEqual([]);

  // The forum account's conversation is asked for in the forum's post itself.
  expect(await forget(forum, "", ADMIN.id)).toMatch(
    /Erased this customer: 1 conversation\(s\).*1 chat thread\(s\)/,
  );
  expect(h.discord.channel(forum)).toBeUndefined();
});
