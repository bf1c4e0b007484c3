// A Discord thread's root as the place to close, reopen, take and snooze its conversation: the
// header's buttons and snooze menu, ✅/👀 on the header (a text channel's thread and a forum post),
// and `/ig close|take|assign|snooze` typed in the thread. Each change is stored and audited, said
// once in the thread by the core (the person who acted gets no echo of it), and re-renders the
// header; anywhere else, or from the bot, nothing happens.

import { afterAll, beforeAll, expect, it } from "vitest";
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

it("closes, reopens, takes and snoozes from the header's buttons and menu, within Discord's component limits", async () => {
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
  expect((await conversation(customer))?.status).toBe("closed");
  await headerShows(thread, "ig_conversation_reopen");
  expect(customIds(thread)).not.toContain("ig_conversation_close");
  await acknowledgedQuietly(close);

  const reopen = await h.discord.clickButton(thread, header(thread).id, "ig_conversation_reopen", AGENT.id);
  await saidOnce(thread, "ana reopened this conversation");
  expect((await conversation(customer))?.status).toBe("open");
  await headerShows(thread, "ig_conversation_close");
  await acknowledgedQuietly(reopen);

  const take = await h.discord.clickButton(thread, header(thread).id, "ig_conversation_take", ADMIN.id);
  await saidOnce(thread, "root took this conversation");
  expect((await conversation(customer))?.assignee).toBe("root");
  await waitFor(async () =>
    JSON.stringify(header(thread).embeds).includes("assigned to root") ? true : undefined,
  );
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
  expect(snoozed?.status).toBe("snoozed");
  expect(new Date(snoozed?.snoozed_until ?? 0).getTime()).toBeGreaterThanOrEqual(
    asked + 1440 * 60_000 - 1_000,
  );
  await headerShows(thread, "ig_conversation_reopen");
  await acknowledgedQuietly(snooze);

  expect(await auditOf(customer)).toEqual([
    ["conversation_closed", `discord:${AGENT.id}`],
    ["conversation_open", `discord:${AGENT.id}`],
    ["conversation_assigned", `discord:${ADMIN.id}`],
    ["conversation_snoozed", `discord:${AGENT.id}`],
  ]);
});

it("closes with ✅ and takes with 👀 on a forum post's starter message, and ignores them elsewhere and from the bot", async () => {
  const customer = "1000000000000602";
  const thread = await openThread(FORUM_ACCOUNT, customer);
  expect(header(thread).id).toBe(thread);
  const [mirrored] = await h.posts(thread, 1);

  // The bot's own ✅ on the header, a ✅ on the customer's mirrored message, a 🎉 on the header.
  await h.discord.userReact(thread, thread, "✅", h.discord.botUserId);
  await h.discord.userReact(thread, mirrored?.id as string, "✅", AGENT.id);
  await h.discord.userReact(thread, thread, "🎉", AGENT.id);

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

  // Whatever the ignored reactions were going to do has long been done.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(notices(thread, "closed this conversation")).toHaveLength(1);
  expect(await auditOf(customer)).toEqual([
    ["conversation_closed", `discord:${AGENT.id}`],
    ["conversation_assigned", `discord:${ADMIN.id}`],
  ]);
});

it("finds a text channel thread's header for ✅, and ignores ✅ on the thread's other bot messages", async () => {
  const customer = "1000000000000603";
  const thread = await openThread(TEXT_ACCOUNT, customer);
  const [mirrored] = await h.posts(thread, 1);
  await h.discord.userReact(thread, mirrored?.id as string, "✔️", AGENT.id);
  await h.discord.userReact(thread, header(thread).id, "✔️", AGENT.id);
  await saidOnce(thread, "ana closed this conversation");
  expect((await conversation(customer))?.status).toBe("closed");
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await auditOf(customer)).toEqual([["conversation_closed", `discord:${AGENT.id}`]]);
});

const ig = (
  channel: string,
  name: string,
  options: { name: string; value: string; type?: number }[],
  user = AGENT.id,
) =>
  h.discord.slashCommand(
    channel,
    "ig",
    [{ name, type: 1, options: options.map((o) => ({ type: 3, ...o })) }],
    user,
  );

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
