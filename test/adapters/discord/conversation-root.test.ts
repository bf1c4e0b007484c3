// A root's controls as Discord delivers them (the rest runs on every platform:
// test/contract/conversation-root.test.ts): the header's buttons and snooze menu within Discord's
// component limits, each click acknowledged without an answer; ✅/👀 on a forum post's starter
// message, which also carries the forum's tags; and `/ig close|assign|snooze` typed in a thread.

import { afterAll, beforeAll, expect, it } from "vitest";
import { COMMANDS } from "../../../src/commands/catalog.ts";
import type { Interaction } from "../../fakes/discord-server.ts";
import { auditTrail, conversationState } from "../../helpers/conversation-state.ts";
import {
  ADMIN,
  AGENT,
  type DiscordHarness,
  FORUM_ACCOUNT,
  FORUM_CHANNEL,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../../helpers/discord-bridge.ts";
import { waitFor } from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

let h: DiscordHarness;
const now = () => Date.now();

beforeAll(async () => {
  h = await startDiscordHarness();
});

afterAll(async () => {
  await h?.close();
});

const conversation = (customer: string) => conversationState(h.service.db, customer);
const auditOf = (customer: string) => auditTrail(h.service.db, `customer:${customer}`);

/** A customer's thread once its header and first mirrored message are there. */
async function openThread(account: string, customer: string): Promise<string> {
  await postWebhook(h.url(), dmText(account, customer, `m_${customer}`, "hello", now()));
  const thread = await h.threadOf(account, customer);
  await h.posts(thread, 1);
  return thread;
}

const header = (thread: string) => {
  const first = h.discord.messages(thread)[0];
  if (!first) throw new Error(`no header in ${thread}`);
  return first;
};

const customIds = (thread: string): string[] =>
  [...JSON.stringify(header(thread).components).matchAll(/"custom_id":"([^"]+)"/g)].map(
    (m) => m[1] as string,
  );

const headerShows = (thread: string, customId: string) =>
  waitFor(async () => (customIds(thread).includes(customId) ? true : undefined), 10_000, customId);

const notices = (thread: string, words: string) =>
  h.discord
    .messages(thread)
    .filter((m) => !m.deleted && m.author.id === h.discord.botUserId && m.content.includes(words));

async function saidOnce(thread: string, words: string): Promise<void> {
  await waitFor(async () => (notices(thread, words).length > 0 ? true : undefined), 10_000, words);
  expect(notices(thread, words)).toHaveLength(1);
}

/** Only the silent acknowledgement of a component: no answer, no follow-up. */
async function acknowledgedQuietly(click: Interaction): Promise<void> {
  const [ack] = await click.waitForResponses(1);
  expect(ack).toMatchObject({ kind: "callback", type: 6 });
  expect(click.responses).toHaveLength(1);
}

it("keeps the header's buttons and menu within Discord's component limits, and acknowledges each use quietly", async () => {
  const customer = "1000000000000601";
  const thread = await openThread(TEXT_ACCOUNT, customer);
  const rows = header(thread).components as { components: { type: number }[] }[];
  expect(rows.length).toBeLessThanOrEqual(5);
  for (const row of rows) {
    expect(row.components.length).toBeLessThanOrEqual(5);
    if (row.components.some((c) => c.type === 3)) expect(row.components).toHaveLength(1);
  }
  expect(customIds(thread)).toEqual([
    "ig_conversation_close",
    "ig_conversation_take",
    "ig_conversation_snooze",
  ]);

  const close = await h.discord.clickButton(thread, header(thread).id, "ig_conversation_close", AGENT.id);
  await saidOnce(thread, "ana closed this conversation");
  await headerShows(thread, "ig_conversation_reopen");
  await acknowledgedQuietly(close);

  const reopen = await h.discord.clickButton(thread, header(thread).id, "ig_conversation_reopen", AGENT.id);
  await saidOnce(thread, "ana reopened this conversation");
  await headerShows(thread, "ig_conversation_close");
  await acknowledgedQuietly(reopen);

  const take = await h.discord.clickButton(thread, header(thread).id, "ig_conversation_take", ADMIN.id);
  await saidOnce(thread, "root took this conversation");
  await acknowledgedQuietly(take);

  const asked = now();
  const snooze = await h.discord.selectMenu(
    thread,
    header(thread).id,
    "ig_conversation_snooze",
    ["1440"],
    AGENT.id,
  );
  await saidOnce(thread, "ana snoozed this conversation until");
  const snoozed = await conversation(customer);
  expect(new Date(snoozed?.snoozed_until ?? 0).getTime()).toBeGreaterThanOrEqual(
    asked + 1440 * 60_000 - 1_000,
  );
  await acknowledgedQuietly(snooze);
});

it("closes with ✅ and takes with 👀 on a forum post's starter message, and tags the post closed", async () => {
  const customer = "1000000000000602";
  const thread = await openThread(FORUM_ACCOUNT, customer);
  expect(header(thread).id).toBe(thread);

  await h.discord.userReact(thread, thread, "✅", AGENT.id);
  await saidOnce(thread, "ana closed this conversation");
  expect((await conversation(customer))?.status).toBe("closed");
  await headerShows(thread, "ig_conversation_reopen");
  const tags = h.discord.channel(FORUM_CHANNEL)?.availableTags ?? [];
  await waitFor(async () =>
    (h.discord.channel(thread)?.appliedTags ?? []).some(
      (id) => tags.find((t) => t.id === id)?.name === "closed",
    )
      ? true
      : undefined,
  );

  await h.discord.userReact(thread, thread, "👀", ADMIN.id);
  await saidOnce(thread, "root took this conversation");
  expect((await conversation(customer))?.assignee).toBe("root");
  expect(await auditOf(customer)).toEqual([
    ["conversation_closed", `discord:${AGENT.id}`],
    ["conversation_assigned", `discord:${ADMIN.id}`],
  ]);
});

const ig = (
  channel: string,
  name: string,
  options: { name: string; value: string; type?: number }[],
  user = AGENT.id,
) => h.discord.slashCommand(channel, "ig", slashTree(name, options), user);

/** The option tree Discord sends for `name`, in its option group where the manifest puts it. */
const slashTree = (name: string, options: { name: string; value: string; type?: number }[]) => {
  const leaf = { name, type: 1, options: options.map((o) => ({ type: 3, ...o })) };
  const [group] = COMMANDS.optionPath(name);
  return group === name ? [leaf] : [{ name: group ?? name, type: 2, options: [leaf] }];
};

it("takes /ig close, assign and snooze in a thread, and refuses them clearly outside one", async () => {
  const customer = "1000000000000604";
  const thread = await openThread(TEXT_ACCOUNT, customer);

  const close = await ig(thread, "close", []);
  await saidOnce(thread, "ana closed this conversation");
  expect((await conversation(customer))?.status).toBe("closed");
  // The thinking… answer only the asker saw goes away: the notice is the answer.
  const answered = await close.waitForResponses(2);
  expect(answered.map((r) => r.kind)).toEqual(["callback", "delete_original"]);
  expect(answered[0]?.data).toMatchObject({ flags: 64 });

  // A member picked in the option (a USER option: Discord sends the id) is assigned under their
  // display name.
  await ig(thread, "assign", [{ name: "who", value: ADMIN.id, type: 6 }]);
  await saidOnce(thread, "ana assigned this conversation to root");
  expect((await conversation(customer))?.assignee).toBe("root");

  await ig(thread, "snooze", [{ name: "duration", value: "2h" }]);
  await saidOnce(thread, "ana snoozed this conversation until");
  expect((await conversation(customer))?.status).toBe("snoozed");

  const forever = await ig(thread, "snooze", [{ name: "duration", value: "forever" }]);
  expect(JSON.stringify((await forever.waitForResponse()).data)).toMatch(/30m, 4h, 1d/);

  const outside = await ig(TEXT_CHANNEL, "close", []);
  const [deferred, refusal] = await outside.waitForResponses(2);
  expect(deferred?.data).toMatchObject({ flags: 64 });
  expect(refusal?.kind).toBe("edit_original");
  expect(JSON.stringify(refusal?.data)).toMatch(/thread of a mirrored conversation/);
  expect(
    h.discord.messages(TEXT_CHANNEL).filter((m) => m.content.includes("closed this conversation")),
  ).toEqual([]);

  expect(await auditOf(customer)).toEqual([
    ["conversation_closed", `discord:${AGENT.id}`],
    ["conversation_assigned", `discord:${AGENT.id}`],
    ["conversation_snoozed", `discord:${AGENT.id}`],
  ]);
});
