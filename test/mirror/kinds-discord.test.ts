// Every kind Instagram sends, shown with its content in Discord (issue 22): the same fixtures and
// the same expectations as the Slack test, through the whole service and the fake Discord.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMessage } from "../fakes/discord-server.ts";
import { type DiscordHarness, startDiscordHarness, TEXT_ACCOUNT } from "../helpers/discord-bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { fixture, postWebhook } from "../helpers/webhook.ts";
import { CUSTOMER, DM_KINDS, fixtureAt } from "./kinds-fixtures.ts";

let h: DiscordHarness;

async function deliver(name: string, body: string = fixture(name)): Promise<void> {
  const res = await postWebhook(h.url(), body);
  expect(res.status, name).toBe(200);
  await waitFor(
    async () => {
      const { rows } = await h.service.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM inbound_events WHERE status <> 'processed'",
      );
      return rows[0]?.n === 0 ? true : undefined;
    },
    10_000,
    `${name} processed`,
  );
}

/** What a message shows, markdown escapes (`like\_heart`) read as the characters they stand for. */
const shown = (m: FakeMessage | undefined) =>
  `${m?.content ?? ""} ${JSON.stringify(m?.embeds ?? [])}`.replace(/\\\\?([_*~`|>#-])/g, "$1");
const header = (thread: string) => shown(h.discord.messages(thread)[0]);

beforeAll(async () => {
  h = await startDiscordHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("every kind shown with its content, in Discord", () => {
  it("shows templates, products, fallbacks, shares, stories, the heart and unsupported content", async () => {
    for (const k of DM_KINDS) await deliver(k.name, k.fresh ? fixtureAt(k.name, Date.now()) : undefined);
    const thread = await h.threadOf(TEXT_ACCOUNT, CUSTOMER);
    const posts = await h.posts(thread, DM_KINDS.length);
    DM_KINDS.forEach((k, i) => {
      for (const part of k.shows) expect(shown(posts[i]), `${k.name} shows ${part}`).toContain(part);
    });
    // A template's buttons are shown, never clickable from Discord.
    expect(posts[1]?.components).toEqual([]);
  });

  it("shows a live comment whose author Instagram did not name", async () => {
    await deliver("live-comment-anonymous");
    const thread = await h.commentThreadOf("17850000000000007");
    expect(header(thread)).toContain("Where can I buy the jacket?");
    expect(header(thread)).toContain("A live viewer (Instagram did not say who)");
  });

  it("opens a thread of its own for each mention", async () => {
    await deliver("mention-fb-shape");
    await deliver("mention-caption");
    const { rows } = await h.service.db.query<{ chat_thread: string }>(
      "SELECT chat_thread FROM mentions WHERE account_id = $1 AND chat_thread IS NOT NULL ORDER BY id",
      [TEXT_ACCOUNT],
    );
    expect(rows).toHaveLength(2);
    const [inComment, inCaption] = rows.map((r) => header(r.chat_thread));
    expect(inComment).toContain("@jane_doe mentioned @brand in a comment");
    expect(inComment).toContain("@brand do you ship to Porto?");
    expect(inComment).toContain("https://www.instagram.com/p/Mx000006/");
    expect(inCaption).toContain("@traveller mentioned @brand in a post's caption");
    expect(inCaption).toContain("Our trip, thanks @brand!");
  });
});
