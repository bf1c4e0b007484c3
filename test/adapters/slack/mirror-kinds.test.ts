// Every kind of DM event Instagram sends, from the recorded fixtures, through the whole service
// into one Slack thread, in the order they arrive.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT, type BridgeHarness, CHANNEL, said, startBridgeHarness } from "../../helpers/bridge.ts";
import { waitFor } from "../../helpers/service.ts";
import { fixture, postWebhook } from "../../helpers/webhook.ts";

const CUSTOMER = "1234567890123456";
let h: BridgeHarness;

async function deliver(name: string): Promise<void> {
  const res = await postWebhook(h.url(), fixture(name));
  expect(res.status, name).toBe(200);
  // One at a time: each fixture is handled before the next arrives, so the thread's order is the
  // order of this list.
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

const blocksOf = (m: { blocks?: unknown[] } | undefined) => JSON.stringify(m?.blocks ?? []);

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

describe("every DM event kind, mirrored in order", () => {
  it("shows messages, attachments, replies, payloads and referrals as posts of the thread", async () => {
    for (const name of [
      "dm-text",
      "dm-attachments",
      "dm-share-ig-post",
      "dm-ig-reel",
      "dm-story-mention",
      "dm-ig-story",
      "dm-story-reply",
      "dm-inline-reply",
      "dm-quick-reply",
      "dm-postback",
      "dm-referral",
      "dm-ad-referral",
      "dm-optin",
      "dm-unsupported",
      "dm-echo",
    ])
      await deliver(name);
    const root = await h.rootOf(CUSTOMER);
    const posts = await h.replies(root, 15);
    const all = posts.map(blocksOf);
    expect(posts[0]?.text).toEqual(said("Hi, is this still available?"));
    expect(all[1]).toContain('"type":"image"'); // an image inline from its CDN URL
    expect(all[2]).toContain("Shared a post");
    expect(all[3]).toContain("Shared a reel");
    // The fixtures are from 2025: story links have long expired, so placeholders, never the link.
    expect(all[4]).toContain("Mentioned you in their story (the story has expired)");
    expect(all[5]).toContain("no longer available");
    expect(all[6]).toContain("your story");
    expect(all[7]).toContain("Hi, is this still available?"); // the quoted message
    expect(all[8]).toContain("quick reply:");
    expect(all[9]).toContain("tapped");
    expect(all[10]).toContain("came from");
    expect(all[11]).toContain("came from an ad");
    expect(all[12]).toContain("opted in");
    expect(all[13]).toContain("did not deliver");
    expect(posts[14]?.username).toBe("@brand");
    expect(all[14]).toContain("sent from Instagram");
    // Nothing was re-uploaded: the bot never called a file upload.
    expect(h.slack.calls.some((c) => c.method.startsWith("files."))).toBe(false);
  });

  it("applies reactions, edits, seen receipts and unsends to what is already mirrored", async () => {
    const root = await h.rootOf(CUSTOMER);
    const before = await h.replies(root, 15);
    const first = before[0];
    const echo = before[14];

    await deliver("dm-reaction"); // on the echo (the business's message)
    expect(Object.keys(h.slack.reactions(CHANNEL, echo?.ts ?? ""))).toHaveLength(1);
    await deliver("dm-unreact");
    expect(Object.keys(h.slack.reactions(CHANNEL, echo?.ts ?? ""))).toHaveLength(0);

    await deliver("dm-edit");
    expect(blocksOf(h.slack.message(CHANNEL, first?.ts ?? ""))).toContain("edited");

    const rootBefore = blocksOf(h.slack.message(CHANNEL, root));
    await deliver("dm-seen");
    const rootAfter = blocksOf(h.slack.message(CHANNEL, root));
    expect(rootAfter).not.toBe(rootBefore);
    expect(rootAfter).toContain("Seen");
    // A seen receipt is a mark on the root, never a post.
    expect(h.slack.thread(CHANNEL, root).slice(1)).toHaveLength(15);

    await deliver("dm-unsend");
    expect(h.slack.message(CHANNEL, first?.ts ?? "")).toBeUndefined();
    const { rows } = await h.service.db.query<{ text: string | null; deleted_at: Date | null }>(
      "SELECT text, deleted_at FROM messages WHERE ig_message_id = 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDE6fake01'",
    );
    expect(rows[0]).toMatchObject({ text: null, deleted_at: expect.any(Date) });
  });

  it("answers an agent's edit or deletion of a sent reply with a notice", async () => {
    const root = await h.rootOf(CUSTOMER);
    // The fixtures' window closed long ago: the reply fails, and its deletion is then explained.
    const { ts } = await h.agentSays(root, "late answer");
    await h.settled(ts, "failed");
    const edited = {
      type: "message",
      subtype: "message_changed",
      hidden: true,
      channel: CHANNEL,
      ts: `${Date.now() / 1000}`,
      message: {
        type: "message",
        user: AGENT.id,
        text: "late answer!",
        ts,
        thread_ts: root,
        edited: { user: AGENT.id, ts: "1" },
      },
      previous_message: { type: "message", user: AGENT.id, text: "late answer", ts, thread_ts: root },
    };
    const { postSlackEvent } = await import("../../helpers/slack.ts");
    const { SECRET } = await import("../../helpers/bridge.ts");
    await postSlackEvent(h.url(), SECRET, edited);
    await waitFor(async () =>
      h.slack
        .thread(CHANNEL, root)
        .some((m) => m.text?.includes("Edits are not sent") || m.text?.includes("cannot change"))
        ? true
        : undefined,
    );
  });
});
