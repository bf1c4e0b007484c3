// Every kind Instagram sends, shown with its content in Slack (issue 22): templates, product
// shares, fallbacks, shares, story mentions, the heart, unsupported content named, live comments
// without an author, and mentions of the account as threads of their own. Through the whole
// service, the real Bolt app and the fakes, from Meta's documented payload shapes.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCOUNT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { fixture, postWebhook } from "../helpers/webhook.ts";
import { CUSTOMER, DM_KINDS, fixtureAt } from "./kinds-fixtures.ts";

let h: BridgeHarness;

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

const shown = (m: { text?: string; blocks?: unknown[] } | undefined) =>
  `${m?.text ?? ""} ${JSON.stringify(m?.blocks ?? [])}`;

beforeAll(async () => {
  h = await startBridgeHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("every kind shown with its content, in Slack", () => {
  it("shows templates, products, fallbacks, shares, stories, the heart and unsupported content", async () => {
    for (const k of DM_KINDS) await deliver(k.name, k.fresh ? fixtureAt(k.name, Date.now()) : undefined);
    const root = await h.rootOf(CUSTOMER);
    const posts = await h.replies(root, DM_KINDS.length);
    DM_KINDS.forEach((k, i) => {
      for (const part of k.shows) expect(shown(posts[i]), `${k.name} shows ${part}`).toContain(part);
    });
    // A template's buttons are shown, never clickable from Slack: no action element.
    expect(shown(posts[1])).not.toContain('"type":"actions"');
    // The carousel was sent as the brand (another app's echo).
    expect(posts[1]?.username).toBe("@brand");
    // Media is linked, never uploaded.
    expect(h.slack.calls.some((c) => c.method.startsWith("files."))).toBe(false);
  });

  it("shows a story mention's link only until the story expires, then a placeholder", async () => {
    // Mentioned almost 24 h ago: the link still works when it is mirrored.
    const at = Date.now() - 24 * 3_600_000 + 3_000;
    const body = fixtureAt("dm-story-mention", at).replaceAll("fake03", "fake40");
    await deliver("story mention near its end", body);
    const { rows } = await h.service.db.query<{ id: number; chat_ref: string }>(
      "SELECT id, chat_ref FROM messages WHERE ig_message_id LIKE '%fake40'",
    );
    const message = rows[0];
    if (!message) throw new Error("the story mention was not stored");
    expect(shown(h.slack.message(CHANNEL, message.chat_ref))).toContain("asset_id=18000000000000003");
    // The re-rendering is scheduled for just after the story's end.
    const { rows: jobs } = await h.service.db.query<{ id: string; start_after: Date }>(
      "SELECT id, start_after FROM pgboss.job WHERE name = 'wake' AND (data->>'id')::bigint = $1 AND data->>'table' = 'messages'",
      [message.id],
    );
    expect(jobs).toHaveLength(1);
    const due = new Date(jobs[0]?.start_after ?? 0).getTime();
    expect(due).toBeGreaterThan(at + 24 * 3_600_000);
    expect(due).toBeLessThan(at + 24 * 3_600_000 + 5 * 60_000);
    // Time passes (the job is made due as soon as the story has ended).
    await new Promise((r) => setTimeout(r, Math.max(0, at + 24 * 3_600_000 + 500 - Date.now())));
    await h.service.db.query("UPDATE pgboss.job SET start_after = now() WHERE id = $1", [jobs[0]?.id]);
    const expired = await waitFor(
      async () => {
        const now = shown(h.slack.message(CHANNEL, message.chat_ref));
        return now.includes("the story has expired") ? now : undefined;
      },
      15_000,
      "the expired placeholder",
    );
    expect(expired).not.toContain("asset_id=18000000000000003");
  });

  it("shows a live comment whose author Instagram did not name", async () => {
    await deliver("live-comment-anonymous");
    const root = await h.commentRootOf("17850000000000007");
    const header = shown(h.slack.message(CHANNEL, root));
    expect(header).toContain("Where can I buy the jacket?");
    expect(header).toContain("A live viewer (Instagram did not say who)");
    expect(header).toContain("live video");
    const { rows } = await h.service.db.query(
      "SELECT id FROM inbound_events WHERE event->>'type' = 'unknown'",
    );
    expect(rows).toEqual([]);
  });

  it("opens a thread of its own for each mention, with who wrote what, where", async () => {
    await deliver("mention-fb-shape");
    await deliver("mention-caption");
    const { rows } = await h.service.db.query<{ comment_id: string; chat_thread: string | null }>(
      "SELECT comment_id, chat_thread FROM mentions WHERE account_id = $1 ORDER BY id",
      [ACCOUNT],
    );
    expect(rows.map((r) => r.comment_id)).toEqual(["17850000000000006", ""]);
    const [inComment, inCaption] = rows.map((r) => shown(h.slack.message(CHANNEL, r.chat_thread ?? "")));
    expect(inComment).toContain("@jane_doe mentioned @brand in a comment");
    expect(inComment).toContain("@brand do you ship to Porto?");
    expect(inComment).toContain("https://www.instagram.com/p/Mx000006/");
    expect(inCaption).toContain("@traveller mentioned @brand in a post's caption");
    expect(inCaption).toContain("Our trip, thanks @brand!");
    // Two threads, neither of them the DM or the comment thread.
    expect(new Set(rows.map((r) => r.chat_thread)).size).toBe(2);
    // A redelivered mention opens nothing new.
    const roots = h.slack.thread(CHANNEL, rows[0]?.chat_thread ?? "").length;
    await deliver("mention-fb-shape", fixture("mention-fb-shape").replace("1776339591", "1776339592"));
    expect(h.slack.thread(CHANNEL, rows[0]?.chat_thread ?? "")).toHaveLength(roots);
    const { rows: again } = await h.service.db.query("SELECT id FROM mentions WHERE account_id = $1", [
      ACCOUNT,
    ]);
    expect(again).toHaveLength(2);
  });
});
