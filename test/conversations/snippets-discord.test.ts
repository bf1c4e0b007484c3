// Saved replies on Discord, end to end: the real core and discord.js (gateway and REST) against the
// fake Discord, the outbound worker against a fake Graph API. `!!NAME` typed in a thread and
// `/ig snippet` (with autocomplete) send the expanded reply once as the agent's reply; an unknown
// name goes to the agent's direct messages (or, when they take none, to the thread, mentioning
// them) and nothing is sent; `/ig snippets list` and, for admins, `/ig snippets remove` manage them.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importSnippets } from "../../src/snippets/store.ts";
import type { RecordedRequest } from "../fakes/graph-server.ts";
import {
  ADMIN,
  AGENT,
  type DiscordHarness,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../helpers/discord-bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

let h: DiscordHarness;
const now = () => Date.now();
const QUIET = { id: "500000000000000009", username: "quiet", dmsClosed: true };

type Sent = { recipient: { id: string }; message: { text?: string; quick_replies?: unknown[] } };
const body = (r: RecordedRequest) => r.body as Sent;
const sendsTo = (customer: string) => h.sends().filter((r) => body(r).recipient.id === customer);

beforeAll(async () => {
  h = await startDiscordHarness();
  h.discord.addUser(QUIET);
  await importSnippets(
    h.service.db,
    [
      {
        account: null,
        name: "thanks",
        text: "Thanks {first_name}! {agent} from {account} here.",
        attachments: [],
        quickReplies: [{ title: "Track order", payload: "TRACK" }],
      },
      { account: TEXT_ACCOUNT, name: "hours", text: "We open at 9.", attachments: [], quickReplies: [] },
    ],
    "test",
    { kind: "operator", id: "cli:test" },
  );
});

afterAll(async () => {
  await h?.close();
});

async function conversation(customer: string, mid: string): Promise<string> {
  await postWebhook(h.url(), dmText(TEXT_ACCOUNT, customer, mid, "hello?", now()));
  const thread = await h.threadOf(TEXT_ACCOUNT, customer);
  await h.posts(thread, 1);
  return thread;
}

type Option = { name: string; type: number; value?: string; focused?: boolean; options?: Option[] };

describe("!!NAME in a Discord thread", () => {
  it("sends the expanded saved reply once, shows it in the thread and marks the agent's message", async () => {
    const customer = "1000000000000801";
    const thread = await conversation(customer, "m_dsnip_1");
    const said = await h.agentSays(thread, "!!thanks Your order ships today.");
    await h.settled(said.id, "sent");
    const expected = "Thanks Customer! ana from brand here.\nYour order ships today.";
    expect(sendsTo(customer).map((r) => body(r).message)).toEqual([
      { text: expected, quick_replies: [{ content_type: "text", title: "Track order", payload: "TRACK" }] },
    ]);
    const shown = await waitFor(async () =>
      h.discord
        .messages(thread)
        .find((m) => m.webhookId && JSON.stringify(m).includes("Your order ships today.")),
    );
    expect(shown.username).toMatch(/^ana/);
    await waitFor(async () =>
      h.discord.message(thread, said.id)?.reactions.get("✅")?.size ? true : undefined,
    );
    // Caught up again after a reconnect: still one send.
    await h.discord.dropConnections({ resumable: false });
    await waitFor(async () => (h.discord.sessions().connected > 0 ? true : undefined), 15_000, "reconnect");
    await new Promise((r) => setTimeout(r, 1_000));
    expect(sendsTo(customer)).toHaveLength(1);
  });

  it("tells the agent alone about an unknown name, in their direct messages, and sends nothing", async () => {
    const customer = "1000000000000802";
    const thread = await conversation(customer, "m_dsnip_2");
    const before = h.discord.messages(thread).length;
    await h.agentSays(thread, "!!hourz");
    const dm = await waitFor(async () => h.discord.directMessages(AGENT.id).at(-1));
    expect(dm.content).toContain(`In <#${thread}>:`);
    expect(dm.content).toMatch(
      /No saved reply “hourz” for this account\. Saved replies here: hours, thanks\. Nothing was sent\./,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(sendsTo(customer)).toEqual([]);
    expect(h.discord.messages(thread)).toHaveLength(before + 1); // the agent's own message only

    // Someone who takes no direct messages hears it in the thread, mentioned, in answer to theirs.
    const asked = await h.agentSays(thread, "!!nope", QUIET.id);
    const notice = await waitFor(async () =>
      h.discord.messages(thread).find((m) => m.replyTo === asked.id && JSON.stringify(m).includes("nope")),
    );
    expect(JSON.stringify(notice)).toContain(`<@${QUIET.id}>`);
    expect(sendsTo(customer)).toEqual([]);
  });
});

describe("/ig snippet and its autocomplete", () => {
  async function complete(channel: string, sub: Option): Promise<unknown> {
    const interaction = await h.discord.autocomplete(channel, "ig", [sub], AGENT.id);
    const answer = await interaction.waitForResponse();
    expect(answer.type).toBe(8);
    return answer.data.choices;
  }

  it("offers the thread account's saved replies as the agent types, and nothing outside a thread", async () => {
    const customer = "1000000000000803";
    const thread = await conversation(customer, "m_dsnip_3");
    const snippet = (value: string): Option => ({
      name: "snippet",
      type: 1,
      options: [{ name: "name", type: 3, value, focused: true }],
    });
    expect(await complete(thread, snippet(""))).toEqual([
      { name: "hours · We open at 9.", value: "hours" },
      { name: "thanks · Thanks {first_name}! {agent} from {account} here.", value: "thanks" },
    ]);
    expect(await complete(thread, snippet("th"))).toEqual([
      { name: "thanks · Thanks {first_name}! {agent} from {account} here.", value: "thanks" },
    ]);
    expect(await complete(TEXT_CHANNEL, snippet(""))).toEqual([]);
    // Removing is asked in the channel: its accounts' names.
    const removing: Option = {
      name: "snippets",
      type: 2,
      options: [
        { name: "remove", type: 1, options: [{ name: "name", type: 3, value: "ho", focused: true }] },
      ],
    };
    expect(await complete(TEXT_CHANNEL, removing)).toEqual([
      { name: "hours · We open at 9.", value: "hours" },
    ]);
  });

  it("sends the picked saved reply from the slash command, and the post showing it carries the mark", async () => {
    const customer = "1000000000000804";
    const thread = await conversation(customer, "m_dsnip_4");
    const interaction = await h.discord.slashCommand(
      thread,
      "ig",
      [
        {
          name: "snippet",
          type: 1,
          options: [
            { name: "name", type: 3, value: "thanks" },
            { name: "text", type: 3, value: "See you soon." },
          ],
        },
      ],
      AGENT.id,
    );
    const [deferred, answered] = await interaction.waitForResponses(2, 10_000);
    expect(deferred?.type).toBe(5);
    // The thread shows what was sent: the deferred private answer goes away.
    expect(answered?.kind).toBe("delete_original");
    const sent = await waitFor(async () => sendsTo(customer)[0]);
    expect(body(sent).message.text).toBe("Thanks Customer! ana from brand here.\nSee you soon.");
    const shown = await waitFor(async () =>
      h.discord.messages(thread).find((m) => m.webhookId && JSON.stringify(m).includes("See you soon.")),
    );
    await h.settled(shown.id, "sent");
    await waitFor(async () =>
      h.discord.message(thread, shown.id)?.reactions.get("✅")?.size ? true : undefined,
    );

    const unknown = await h.discord.slashCommand(
      thread,
      "ig",
      [{ name: "snippet", type: 1, options: [{ name: "name", type: 3, value: "nothing" }] }],
      AGENT.id,
    );
    const [, refused] = await unknown.waitForResponses(2, 10_000);
    expect(String(refused?.data.content)).toMatch(/No saved reply “nothing” for this account/);
    expect(refused?.message?.flags).toBe(64);
    expect(sendsTo(customer)).toHaveLength(1);
  });
});

describe("/ig snippets list and remove", () => {
  async function ig(channel: string, options: Option[], user = AGENT.id): Promise<string> {
    const interaction = await h.discord.slashCommand(channel, "ig", options, user);
    const first = await interaction.waitForResponse();
    if (first.type === 4) return String(first.data.content ?? "");
    const [, edited] = await interaction.waitForResponses(2, 10_000);
    return String(edited?.data.content ?? "");
  }
  const group = (sub: string, options: Option[] = []): Option[] => [
    { name: "snippets", type: 2, options: [{ name: sub, type: 1, options }] },
  ];

  it("lists the channel's saved replies, and lets only admins remove an account's own", async () => {
    const listed = await ig(TEXT_CHANNEL, group("list"));
    expect(listed).toContain("Saved replies of @brand:");
    expect(listed).toContain("!!hours: We open at 9.");
    // Discord's markdown is escaped in answers: `_` shows as written.
    expect(listed).toMatch(/!!thanks \(shared\): Thanks \{first\\_name\}!/);

    const name = (value: string): Option => ({ name: "name", type: 3, value });
    expect(await ig(TEXT_CHANNEL, group("remove", [name("hours")]))).toMatch(
      /Only admins may remove saved replies/,
    );
    expect(await ig(TEXT_CHANNEL, group("remove", [name("thanks")]), ADMIN.id)).toMatch(
      /thanks is shared by every account: remove it with threadbridge snippets remove thanks/,
    );
    expect(await ig(TEXT_CHANNEL, group("remove", [name("hours")]), ADMIN.id)).toBe(
      `Removed the saved reply hours (account ${TEXT_ACCOUNT}).`,
    );
    const { rows } = await h.service.db.query("SELECT 1 FROM snippets WHERE name = 'hours'");
    expect(rows).toEqual([]);
    const { rows: audit } = await h.service.db.query<{ actor_id: string }>(
      "SELECT actor_id FROM audit_log WHERE action = 'snippet_removed'",
    );
    expect(audit).toEqual([{ actor_id: `discord:${ADMIN.id}` }]);
  });
});
