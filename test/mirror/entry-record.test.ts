// How the record learns a conversation's entry point (src/mirror/record.ts, recordEntry): from its
// first customer event only, a private reply's answer as "comment", a later ad click re-opening it
// through that ad, and nothing guessed for conversations known from before.

import { describe, expect, it } from "vitest";
import type { DmMessage, DomainEvent } from "../../src/instagram/events.ts";
import { recordEvent } from "../../src/mirror/record.ts";
import { useMigratedDatabase } from "../helpers/migrated-database.ts";

const ACC = "17841400000000001";
const T0 = Date.parse("2026-11-02T10:00:00Z");
const store = useMigratedDatabase();

const record = (event: DomainEvent) => store.db.transaction((tx) => recordEvent(tx, event));
const message = (customerId: string, mid: string, at: number, over: Partial<DmMessage> = {}): DmMessage => ({
  type: "dm.message",
  accountId: ACC,
  customerId,
  occurredAt: at,
  mid,
  text: "hi",
  attachments: [],
  ...over,
});
const ad = (id: string, title: string) => ({
  source: "ADS",
  type: "OPEN_THREAD",
  adId: id,
  adsContext: { ad_title: title, photo_url: `https://scontent.example/${id}.jpg` },
});

async function entryOf(customer: string) {
  const { rows } = await store.db.query<{
    entry_point: string | null;
    entry_referral: unknown;
    entry_at: Date | null;
  }>(
    "SELECT entry_point, entry_referral, entry_at FROM conversations WHERE account_id = $1 AND customer_id = $2",
    [ACC, customer],
  );
  return rows[0];
}

describe("recordEntry", () => {
  it("takes the first customer message's entry and keeps it through later messages and redeliveries", async () => {
    await record(message("1001", "m1", T0, { referral: { ref: "bio", source: "SHORTLINK" } }));
    await record(message("1001", "m1", T0, { referral: { ref: "bio", source: "SHORTLINK" } }));
    await record(message("1001", "m2", T0 + 60_000, { replyTo: { kind: "story", storyId: "s1" } }));
    expect(await entryOf("1001")).toEqual({
      entry_point: "link",
      entry_referral: { ref: "bio", source: "SHORTLINK" },
      entry_at: new Date(T0),
    });
  });

  it("re-opens a conversation through an ad clicked later, and counts from that message", async () => {
    await record(message("1002", "m3", T0));
    expect((await entryOf("1002"))?.entry_point).toBe("message");
    await record(message("1002", "m4", T0 + 86_400_000, { referral: ad("A1", "Boots") }));
    expect(await entryOf("1002")).toEqual({
      entry_point: "ad",
      entry_referral: {
        adId: "A1",
        adTitle: "Boots",
        photoUrl: "https://scontent.example/A1.jpg",
        source: "ADS",
      },
      entry_at: new Date(T0 + 86_400_000),
    });
    // An older ad message delivered late does not move it back.
    await record(message("1002", "m5", T0 + 3_600_000, { referral: ad("A0", "Old") }));
    expect((await entryOf("1002"))?.entry_referral).toMatchObject({ adId: "A1" });
  });

  it("knows an answer to a private reply as a comment entry", async () => {
    await store.db.query(
      `INSERT INTO comment_threads (account_id, media_id, root_comment_id, author_id, root_commented_at,
                                    private_reply_sent_at, media)
       VALUES ($1, '17900000000000001', '17850000000000001', '1003', $2, $3, $4)`,
      [
        ACC,
        new Date(T0 - 7_200_000),
        new Date(T0 - 3_600_000),
        JSON.stringify({ permalink: "https://www.instagram.com/p/X/", caption: "Drop" }),
      ],
    );
    await record(message("1003", "m6", T0));
    expect(await entryOf("1003")).toMatchObject({
      entry_point: "comment",
      entry_referral: {
        commentId: "17850000000000001",
        mediaId: "17900000000000001",
        permalink: "https://www.instagram.com/p/X/",
        caption: "Drop",
      },
    });
  });

  it("guesses nothing for a conversation that had customer messages before", async () => {
    await record(message("1004", "m7", T0));
    await store.db.query(
      "UPDATE conversations SET entry_point = NULL, entry_referral = NULL, entry_at = NULL WHERE customer_id = '1004'",
    );
    await record(message("1004", "m8", T0 + 1000, { replyTo: { kind: "story", storyId: "s2" } }));
    expect((await entryOf("1004"))?.entry_point).toBeNull();
  });
});
