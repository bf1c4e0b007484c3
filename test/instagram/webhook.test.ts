import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { DomainEvent, InboundRecord } from "../../src/instagram/events.ts";
import { type ParseResult, parseWebhook } from "../../src/instagram/webhook.ts";

const FIXTURES = new URL("../fixtures/webhooks/", import.meta.url);
const ACC = "17841400000000001";
const CUS = "1234567890123456";
const MID = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDE6";
const mid = (n: number) => `${MID}fake${String(n).padStart(2, "0")}`;
const cdn = (asset: string) =>
  `https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=${asset}&signature=FAKE`;

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8"));
}

function ok(result: ParseResult): { records: InboundRecord[]; warnings: string[] } {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result;
}

/** Parses a fixture that must yield exactly one record and no warning. */
function single(name: string): InboundRecord {
  const { records, warnings } = ok(parseWebhook(fixture(name)));
  expect(warnings).toEqual([]);
  expect(records).toHaveLength(1);
  return records[0] as InboundRecord;
}

function reason(result: ParseResult): string {
  if (result.ok) throw new Error("expected a rejection");
  return result.reason;
}

/** A one-item messaging body, for cases that need no fixture file. */
function dmBody(item: Record<string, unknown>, time = 1761287298065): unknown {
  return { object: "instagram", entry: [{ id: ACC, time, messaging: [item] }] };
}
const inbound = (rest: Record<string, unknown>) => ({
  sender: { id: CUS },
  recipient: { id: ACC },
  timestamp: 1761287294014,
  ...rest,
});

describe("parseWebhook: DM fixtures", () => {
  it("dm-text", () => {
    const rec = single("dm-text");
    expect(rec).toEqual({
      event: {
        type: "dm.message",
        accountId: ACC,
        customerId: CUS,
        occurredAt: 1761287294014,
        mid: mid(1),
        text: "Hi, is this still available?",
        attachments: [],
      },
      dedupeKey: `msg:${mid(1)}`,
      threadKey: `dm:${CUS}`,
      raw: (fixture("dm-text") as { entry: { messaging: unknown[] }[] }).entry[0]?.messaging[0],
    });
  });

  it("dm-attachments: image and video", () => {
    expect(single("dm-attachments").event).toMatchObject({
      type: "dm.message",
      mid: mid(2),
      attachments: [
        { kind: "image", rawType: "image", url: cdn("17900000000000001") },
        { kind: "video", rawType: "video", url: cdn("17900000000000002") },
      ],
    });
  });

  it("dm-share-ig-post: the legacy share twin is dropped", () => {
    const { event } = single("dm-share-ig-post");
    expect(event).toMatchObject({ type: "dm.message", mid: mid(8) });
    expect(event.type === "dm.message" && event.attachments).toEqual([
      {
        kind: "ig_post",
        rawType: "ig_post",
        url: cdn("18139494541428835"),
        title: "Caption text",
        mediaId: "18139494541428835",
      },
    ]);
  });

  it("dm-ig-reel", () => {
    expect(single("dm-ig-reel").event).toMatchObject({
      attachments: [
        {
          kind: "ig_reel",
          rawType: "ig_reel",
          url: cdn("17873858025351922"),
          title: "Reel caption #tag",
          mediaId: "17873858025351922",
        },
      ],
    });
  });

  it("dm-story-mention", () => {
    expect(single("dm-story-mention").event).toMatchObject({
      mid: mid(3),
      attachments: [{ kind: "story_mention", rawType: "story_mention", url: cdn("18000000000000003") }],
    });
  });

  it("dm-ig-story: url comes from story_media_url", () => {
    expect(single("dm-ig-story").event).toMatchObject({
      attachments: [
        {
          kind: "ig_story",
          rawType: "ig_story",
          url: cdn("18000000000000010"),
          mediaId: "18000000000000010",
        },
      ],
    });
  });

  it("dm-story-reply", () => {
    expect(single("dm-story-reply").event).toEqual({
      type: "dm.message",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1761287300670,
      mid: mid(4),
      text: "Love this!",
      attachments: [],
      replyTo: { kind: "story", storyId: "18000000000000004", url: cdn("18000000000000004") },
    });
  });

  it("dm-inline-reply", () => {
    expect(single("dm-inline-reply").event).toMatchObject({
      mid: mid(11),
      replyTo: { kind: "message", mid: mid(1) },
    });
  });

  it("dm-quick-reply", () => {
    expect(single("dm-quick-reply").event).toMatchObject({
      type: "dm.message",
      text: "Track my order",
      quickReplyPayload: "TRACK_ORDER",
    });
  });

  it("dm-echo: the customer is the recipient", () => {
    const rec = single("dm-echo");
    expect(rec.event).toEqual({
      type: "dm.echo",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1761287299999,
      mid: mid(6),
      text: "Thanks! We'll check.",
      attachments: [],
    });
    expect(rec.dedupeKey).toBe(`msg:${mid(6)}`);
    expect(rec.threadKey).toBe(`dm:${CUS}`);
  });

  it("dm-self-echo", () => {
    const rec = single("dm-self-echo");
    expect(rec.event).toEqual({
      type: "dm.echo",
      accountId: ACC,
      customerId: ACC,
      occurredAt: 1761287303001,
      mid: mid(12),
      text: "test to myself",
      attachments: [],
      self: true,
    });
  });

  it("dm-unsend", () => {
    const rec = single("dm-unsend");
    expect(rec.event).toEqual({
      type: "dm.unsend",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1761287304000,
      mid: mid(1),
    });
    expect(rec.dedupeKey).toBe(`unsend:${mid(1)}`);
  });

  it("dm-unsupported", () => {
    expect(single("dm-unsupported").event).toEqual({
      type: "dm.message",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1761287305000,
      mid: mid(13),
      attachments: [],
      unsupported: true,
    });
  });

  it("dm-edit: num_edit sent as a string becomes a number", () => {
    const rec = single("dm-edit");
    expect(rec.event).toEqual({
      type: "dm.edit",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1761287300000,
      mid: mid(1),
      text: "Hi, is the blue one still available?",
      numEdit: 1,
    });
    expect(rec.dedupeKey).toBe(`edit:${mid(1)}:1`);
    expect(rec.threadKey).toBe(`dm:${CUS}`);
  });

  it("dm-reaction", () => {
    const rec = single("dm-reaction");
    expect(rec.event).toEqual({
      type: "dm.reaction",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1569262485349,
      mid: mid(6),
      action: "react",
      reaction: "love",
      emoji: "\u2764\ufe0f",
    });
    expect(rec.dedupeKey).toBe(`reaction:${mid(6)}:${CUS}:react:1569262485349`);
  });

  it("dm-unreact", () => {
    const rec = single("dm-unreact");
    expect(rec.event).toEqual({
      type: "dm.reaction",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1569262499999,
      mid: mid(6),
      action: "unreact",
    });
    expect(rec.dedupeKey).toBe(`reaction:${mid(6)}:${CUS}:unreact:1569262499999`);
  });

  it("dm-seen", () => {
    const rec = single("dm-seen");
    expect(rec.event).toEqual({
      type: "dm.seen",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1569262485349,
      mid: mid(6),
    });
    expect(rec.dedupeKey).toBe(`seen:${mid(6)}:${CUS}`);
  });

  it("dm-postback", () => {
    const rec = single("dm-postback");
    expect(rec.event).toEqual({
      type: "dm.postback",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1502905976377,
      mid: mid(7),
      title: "Talk to an agent",
      payload: "CARE_HELP",
    });
    expect(rec.dedupeKey).toBe(`postback:${mid(7)}`);
  });

  it("postback without mid (ice breaker) keys on sender, time and payload", () => {
    const { records } = ok(
      parseWebhook(dmBody(inbound({ postback: { title: "Where is my order?", payload: "ORDER" } }))),
    );
    expect(records[0]?.event).toMatchObject({ type: "dm.postback", title: "Where is my order?" });
    expect(records[0]?.dedupeKey).toBe(`postback:${CUS}:1761287294014:ORDER`);
  });

  it("dm-referral", () => {
    const rec = single("dm-referral");
    expect(rec.event).toEqual({
      type: "dm.referral",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1502905976377,
      referral: {
        ref: "spring_promo",
        source: "https://ig.me/m/yourbrand?ref=spring_promo",
        type: "OPEN_THREAD",
      },
    });
    expect(rec.dedupeKey).toBe(`referral:${CUS}:1502905976377:spring_promo`);
  });

  it("dm-ad-referral: message.referral", () => {
    expect(single("dm-ad-referral").event).toMatchObject({
      type: "dm.message",
      text: "Is this available in size M?",
      referral: {
        ref: "summer_sale",
        adId: "120200000000000001",
        source: "ADS",
        type: "OPEN_THREAD",
        adsContext: {
          ad_title: "Summer sale: 30% off",
          photo_url: "https://scontent.xx.fbcdn.net/v/t45.1600-4/fake_photo.jpg",
          video_url: "https://video.xx.fbcdn.net/v/t42.1790-2/fake_video.mp4",
        },
      },
    });
  });

  it("dm-optin", () => {
    const rec = single("dm-optin");
    expect(rec.event).toMatchObject({
      type: "dm.optin",
      customerId: CUS,
      occurredAt: 1700000000000,
      optin: { type: "notification_messages", notification_messages_token: "FAKE-TOKEN" },
    });
    expect(rec.dedupeKey).toBe(`optin:${CUS}:1700000000000`);
  });

  it("dm-standby: flagged standby", () => {
    const rec = single("dm-standby");
    expect(rec.event).toEqual({
      type: "dm.message",
      accountId: ACC,
      customerId: CUS,
      occurredAt: 1761287307000,
      standby: true,
      mid: mid(15),
      text: "Hello? Anyone there?",
      attachments: [],
    });
  });

  it("dashboard-test: a changes-style messages item is a DM; its string seconds become ms", () => {
    const body = fixture("dashboard-test") as { entry: { changes: unknown[] }[] };
    const rec = single("dashboard-test");
    expect(rec).toEqual({
      event: {
        type: "dm.message",
        accountId: "0",
        customerId: "12334",
        occurredAt: 1527459824000,
        mid: "random_mid",
        text: "random_text",
        attachments: [],
      },
      dedupeKey: "msg:random_mid",
      threadKey: "dm:12334",
      raw: body.entry[0]?.changes[0],
    });
  });
});

describe("parseWebhook: comment fixtures", () => {
  it("comment: entry.time in seconds becomes ms", () => {
    expect(single("comment")).toEqual({
      event: {
        type: "comment",
        accountId: ACC,
        occurredAt: 1776339591000,
        commentId: "17867301270523379",
        text: "How much is shipping?",
        from: { id: CUS, username: "jane_doe" },
        media: { id: "18050310947722369", productType: "FEED" },
        live: false,
        self: false,
      },
      dedupeKey: "comment:17867301270523379",
      threadKey: "comment:17867301270523379",
      raw: {
        field: "comments",
        value: {
          from: { id: CUS, username: "jane_doe" },
          media: { id: "18050310947722369", media_product_type: "FEED" },
          id: "17867301270523379",
          text: "How much is shipping?",
        },
      },
    });
  });

  it("comment-reply: threaded under its parent", () => {
    const rec = single("comment-reply");
    expect(rec.event).toMatchObject({
      type: "comment",
      commentId: "17850000000000002",
      parentId: "17850000000000001",
      media: { id: "17900000000000001", productType: "REELS" },
      self: false,
    });
    expect(rec.dedupeKey).toBe("comment:17850000000000002");
    expect(rec.threadKey).toBe("comment:17850000000000001");
  });

  it("comment-self: our own public reply is flagged self", () => {
    expect(single("comment-self").event).toMatchObject({ type: "comment", self: true, from: { id: ACC } });
  });

  it("self is also detected from self_ig_scoped_id alone", () => {
    const body = fixture("comment") as {
      entry: { changes: { value: { from: Record<string, string> } }[] }[];
    };
    const from = body.entry[0]?.changes[0]?.value.from;
    if (from) from.self_ig_scoped_id = "9876543210987654";
    expect(ok(parseWebhook(body)).records[0]?.event).toMatchObject({ self: true });
  });

  it("live-comment", () => {
    expect(single("live-comment").event).toEqual({
      type: "comment",
      accountId: ACC,
      occurredAt: 1776339591000,
      commentId: "17850000000000004",
      text: "Hello from Lisbon!",
      from: { id: CUS, username: "jane_doe" },
      media: { id: "17900000000000005" },
      live: true,
      self: false,
    });
  });

  it("FB-Login comment_id spelling", () => {
    const body = {
      object: "instagram",
      entry: [
        {
          id: ACC,
          time: 1776339591,
          changes: [
            { field: "comments", value: { comment_id: "1785", from: { id: CUS }, media: { id: "1790" } } },
          ],
        },
      ],
    };
    expect(ok(parseWebhook(body)).records[0]?.dedupeKey).toBe("comment:1785");
  });

  it("mention-fb-shape", () => {
    expect(single("mention-fb-shape")).toEqual({
      event: {
        type: "mention",
        accountId: ACC,
        occurredAt: 1776339591000,
        mediaId: "17900000000000006",
        commentId: "17850000000000006",
      },
      dedupeKey: "mention:17900000000000006:17850000000000006",
      threadKey: "mention:17900000000000006",
      raw: { field: "mentions", value: { media_id: "17900000000000006", comment_id: "17850000000000006" } },
    });
  });

  it("flat-entry-comment: field/value directly on the entry", () => {
    const rec = single("flat-entry-comment");
    expect(rec.event).toMatchObject({
      type: "comment",
      commentId: "17850000000000007",
      occurredAt: 1776339591000,
    });
    expect(rec.raw).toEqual({
      field: "comments",
      value: {
        id: "17850000000000007",
        text: "Love it",
        from: { id: CUS, username: "jane_doe" },
        media: { id: "17900000000000007", media_product_type: "FEED" },
      },
    });
  });

  it("unknown-field: kept as an unknown event on the account stream", () => {
    const rec = single("unknown-field");
    expect(rec.event).toEqual({
      type: "unknown",
      accountId: ACC,
      occurredAt: 1776339591000,
      field: "story_insights",
      reason: expect.any(String),
    });
    expect(rec.threadKey).toBe("account");
    expect(rec.dedupeKey).toMatch(/^unknown:[0-9a-f]{64}$/);
  });
});

describe("parseWebhook: attachments", () => {
  const attachmentsOf = (attachments: unknown[]) => {
    const { records, warnings } = ok(
      parseWebhook(dmBody(inbound({ message: { mid: mid(20), attachments } }))),
    );
    expect(warnings).toEqual([]);
    const event = records[0]?.event;
    return event?.type === "dm.message" ? event.attachments : [];
  };

  it("maps every documented type, unsupported_type and unknown ones", () => {
    const types = ["image", "video", "audio", "file", "share", "ig_post", "ig_reel", "reel"];
    const more = ["story_mention", "ig_story", "story", "media", "unsupported_type", "hologram"];
    const got = attachmentsOf(
      [...types, ...more].map((type) => ({ type, payload: { url: `https://x/${type}` } })),
    );
    expect(got.map((a) => [a.kind, a.rawType])).toEqual([
      ...types.map((t) => [t, t]),
      ["story_mention", "story_mention"],
      ["ig_story", "ig_story"],
      ["story", "story"],
      ["media", "media"],
      ["unsupported", "unsupported_type"],
      ["other", "hologram"],
    ]);
  });

  it("accepts attachments without payload and keeps sticker ids", () => {
    expect(
      attachmentsOf([
        { type: "unsupported_type" },
        { type: "image", payload: { url: "https://x/s.png", sticker_id: 369239263222822 } },
      ]),
    ).toEqual([
      { kind: "unsupported", rawType: "unsupported_type" },
      { kind: "image", rawType: "image", url: "https://x/s.png", stickerId: 369239263222822 },
    ]);
  });

  it("keeps a share that has no ig_post twin", () => {
    expect(
      attachmentsOf([{ type: "share", payload: { url: "https://www.instagram.com/reel/FAKE/" } }]),
    ).toEqual([{ kind: "share", rawType: "share", url: "https://www.instagram.com/reel/FAKE/" }]);
  });
});

describe("parseWebhook: batches, ids and time", () => {
  it("batch-50: 50 records, in order, across 10 customers", () => {
    const { records, warnings } = ok(parseWebhook(fixture("batch-50")));
    expect(warnings).toEqual([]);
    expect(records).toHaveLength(50);
    expect(records.map((r) => r.event.type)).toEqual(Array(50).fill("dm.message"));
    const times = records.map((r) => r.event.occurredAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(records.map((r) => r.dedupeKey)).size).toBe(50);
    expect(new Set(records.map((r) => r.threadKey)).size).toBe(10);
    expect(records.map((r) => (r.event.type === "dm.message" ? r.event.text : ""))).toEqual(
      Array.from({ length: 50 }, (_, i) => `Batch message ${i + 1}`),
    );
  });

  it("coerces numeric ids to strings", () => {
    const body = {
      object: "instagram",
      entry: [
        {
          id: 17841400000000,
          time: 1761287298065,
          messaging: [{ sender: { id: 1234 }, recipient: { id: 17841400000000 }, message: { mid: "m1" } }],
        },
      ],
    };
    expect(ok(parseWebhook(body)).records[0]?.event).toMatchObject({
      accountId: "17841400000000",
      customerId: "1234",
      occurredAt: 1761287298065, // no item timestamp: falls back to entry.time
    });
  });

  it("a non-echo item sent by the account itself belongs to the recipient's conversation", () => {
    const item = { sender: { id: ACC }, recipient: { id: CUS }, timestamp: 1, read: { mid: "m" } };
    const rec = ok(parseWebhook(dmBody(item))).records[0];
    expect(rec?.event).toMatchObject({ type: "dm.seen", customerId: CUS });
    expect(rec?.dedupeKey).toBe(`seen:m:${ACC}`);
  });

  it("normalises a seconds timestamp on a messaging item", () => {
    const rec = ok(parseWebhook(dmBody(inbound({ timestamp: 1761287294, message: { mid: "m" } }))))
      .records[0];
    expect(rec?.event.occurredAt).toBe(1761287294000);
  });

  it("an item with no known key becomes an unknown event named after its first extra key", () => {
    // (Handover keys are known since issue 22: an app_roles item stays unknown.)
    const body = dmBody(inbound({ app_roles: { "123": ["primary_receiver"] } }));
    const { records, warnings } = ok(parseWebhook(body));
    expect(warnings).toEqual([]);
    expect(records[0]?.event).toMatchObject({ type: "unknown", field: "app_roles" });
    expect(records[0]?.threadKey).toBe("account");
  });

  it("is deterministic: same body, same dedupe keys (unknown ones too, whatever the key order)", () => {
    const names = ["batch-50", "unknown-field", "dm-reaction", "comment", "mention-fb-shape"];
    for (const name of names) {
      const a = ok(parseWebhook(fixture(name))).records.map((r) => r.dedupeKey);
      const b = ok(parseWebhook(fixture(name))).records.map((r) => r.dedupeKey);
      expect(a).toEqual(b);
    }
    const change = (value: unknown) => ({
      object: "instagram",
      entry: [{ id: ACC, time: 1, changes: [{ field: "story_insights", value }] }],
    });
    const x = ok(parseWebhook(change({ a: 1, b: [1, { c: 2, d: 3 }] }))).records[0]?.dedupeKey;
    const y = ok(parseWebhook(change({ b: [1, { d: 3, c: 2 }], a: 1 }))).records[0]?.dedupeKey;
    const z = ok(parseWebhook(change({ a: 1, b: [1, { c: 2, d: 4 }] }))).records[0]?.dedupeKey;
    expect(x).toBe(y);
    expect(x).not.toBe(z);
  });

  it("unknown dedupe key is the sha256 of the sorted-key JSON of the raw item", () => {
    const item = { value: { z: 1, a: "x" }, field: "story_insights" };
    const body = { object: "instagram", entry: [{ id: ACC, time: 1, changes: [item] }] };
    const expected = createHash("sha256")
      .update('{"field":"story_insights","value":{"a":"x","z":1}}')
      .digest("hex");
    expect(ok(parseWebhook(body)).records[0]?.dedupeKey).toBe(`unknown:${expected}`);
  });
});

describe("parseWebhook: envelope errors", () => {
  const good = () => fixture("dm-text") as { object: string; entry: Record<string, unknown>[] };

  it('rejects object "page" as a Messenger subscription mistake', () => {
    const r = reason(parseWebhook({ ...good(), object: "page" }));
    expect(r).toContain("object");
    expect(r).toMatch(/Messenger|Page/);
  });

  it("rejects a missing entry", () => {
    expect(reason(parseWebhook({ object: "instagram" }))).toMatch(/^entry: /);
  });

  it("rejects an empty entry", () => {
    expect(reason(parseWebhook({ object: "instagram", entry: [] }))).toMatch(/^entry: .*non-empty/);
  });

  it("rejects an entry without id", () => {
    const body = good();
    delete body.entry[0]?.id;
    expect(reason(parseWebhook(body))).toMatch(/^entry\[0\]\.id: expected a string/);
  });

  it("rejects an entry without time", () => {
    const body = good();
    delete body.entry[0]?.time;
    expect(reason(parseWebhook(body))).toMatch(/^entry\[0\]\.time: expected a number/);
  });

  it("rejects a messaging item without sender, naming its path", () => {
    const body = fixture("batch-50") as { object: string; entry: { messaging: Record<string, unknown>[] }[] };
    delete body.entry[1]?.messaging[2]?.sender;
    expect(reason(parseWebhook(body))).toMatch(/^entry\[1\]\.messaging\[2\]\.sender: expected an object/);
  });

  it("rejects a sender id of the wrong type with the exact path", () => {
    const body = dmBody(inbound({ sender: { id: { nested: true } }, message: { mid: "m" } }));
    expect(reason(parseWebhook(body))).toBe(
      "entry[0].messaging[0].sender.id: expected a string, got an object",
    );
  });

  it("rejects a non-object body and a non-array messaging", () => {
    expect(reason(parseWebhook(null))).toBe("body: expected an object, got null");
    const body = { object: "instagram", entry: [{ id: ACC, time: 1, messaging: {} }] };
    expect(reason(parseWebhook(body))).toBe("entry[0].messaging: expected an array, got an object");
  });

  it("never includes message text in a reason", () => {
    const body = dmBody({ sender: { id: CUS }, message: { mid: "m", text: "SECRET-TEXT" } });
    const r = reason(parseWebhook(body));
    expect(r).toContain("entry[0].messaging[0].recipient");
    expect(r).not.toContain("SECRET");
  });
});

describe("parseWebhook: one bad item does not sink the batch", () => {
  it("message without mid → unknown event + warning, the others kept", () => {
    const body = fixture("batch-50") as { entry: { messaging: { message: Record<string, unknown> }[] }[] };
    const bad = body.entry[0]?.messaging[3];
    if (bad) delete bad.message.mid;
    const { records, warnings } = ok(parseWebhook(body));
    expect(records).toHaveLength(50);
    expect(records.filter((r) => r.event.type === "dm.message")).toHaveLength(49);
    expect(records[3]?.event).toEqual({
      type: "unknown",
      accountId: ACC,
      occurredAt: 1761290003000,
      field: "message",
      reason: "message.mid: expected a string, got nothing",
    });
    expect(records[3]?.raw).toBe(bad);
    expect(warnings).toEqual(["entry[0].messaging[3].message.mid: expected a string, got nothing"]);
  });

  it("bad comment, unparsable num_edit, unknown reaction action: unknown events with warnings", () => {
    const body = {
      object: "instagram",
      entry: [
        {
          id: ACC,
          time: 1761287298065,
          messaging: [
            inbound({ message_edit: { mid: "m", text: "x", num_edit: "two" } }),
            inbound({ reaction: { mid: "m", action: "poke" } }),
            inbound({ message: { mid: "ok" } }),
          ],
        },
        {
          id: ACC,
          time: 1776339591,
          changes: [{ field: "comments", value: { id: "1", media: { id: "2" } } }],
        },
      ],
    };
    const { records, warnings } = ok(parseWebhook(body));
    expect(records.map((r) => [r.event.type, r.event.type === "unknown" ? r.event.field : ""])).toEqual([
      ["unknown", "message_edit"],
      ["unknown", "reaction"],
      ["dm.message", ""],
      ["unknown", "comments"],
    ]);
    expect(warnings).toHaveLength(3);
    expect(warnings[2]).toBe("entry[1].changes[0].value.from: expected an object, got nothing");
  });

  it("a malformed dashboard-test value is an unknown event, not a rejection", () => {
    const body = {
      object: "instagram",
      entry: [
        {
          id: "0",
          time: 1661141837537,
          changes: [
            { field: "messages", value: { event_type: "TEXT", event_data: { sender: { username: "u" } } } },
          ],
        },
      ],
    };
    const { records, warnings } = ok(parseWebhook(body));
    expect(records[0]?.event).toMatchObject({ type: "unknown", field: "messages" });
    expect(warnings).toHaveLength(1);
  });
});

describe("parseWebhook: never throws", () => {
  const expectNoThrow = (body: unknown): ParseResult => {
    let result: ParseResult | undefined;
    expect(() => {
      result = parseWebhook(body);
    }).not.toThrow();
    if (result === undefined) throw new Error("no result");
    if (!result.ok) expect(result.reason.length).toBeLessThan(300);
    return result;
  };

  it.each([null, undefined, 42, "str", [], true, {}, { object: "instagram", entry: [null] }])(
    "on %j",
    (body) => {
      expect(expectNoThrow(body).ok).toBe(false);
    },
  );

  it("on 10,000 levels of nesting, wherever they are", () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 10_000; i++) deep = { next: deep, list: [i] };
    expect(expectNoThrow(deep).ok).toBe(false);
    expect(expectNoThrow({ object: "instagram", entry: deep }).ok).toBe(false);
    const unknown = {
      object: "instagram",
      entry: [{ id: ACC, time: 1, changes: [{ field: "x", value: deep }] }],
    };
    const r1 = ok(expectNoThrow(unknown));
    expect(r1.records[0]?.dedupeKey).toMatch(/^unknown:[0-9a-f]{64}$/);
    const dm = ok(expectNoThrow(dmBody(inbound({ message: { mid: "m", text: "t", extra: deep } }))));
    expect(dm.records[0]?.event.type).toBe("dm.message");
    const optin = ok(expectNoThrow(dmBody(inbound({ optin: deep }))));
    expect(optin.records[0]?.event.type).toBe("dm.optin");
    const noKey = ok(expectNoThrow(dmBody(inbound({ deep }))));
    expect(noKey.records[0]?.event.type).toBe("unknown");
  });

  it("on a 1 MB text", () => {
    const text = "x".repeat(1024 * 1024);
    const { records } = ok(expectNoThrow(dmBody(inbound({ message: { mid: "m", text } }))));
    const event: DomainEvent | undefined = records[0]?.event;
    expect(event?.type === "dm.message" && event.text?.length).toBe(1024 * 1024);
    const bad = expectNoThrow(dmBody({ sender: { id: text }, recipient: "nope" }));
    expect(bad.ok).toBe(false);
  });

  it("on odd Unicode: lone surrogates, RTL, emoji ZWJ sequences", () => {
    const texts = ["\ud800 lone \udfff", "\u202Eשלום مرحبا\u202C", "👩‍👩‍👧‍👦 🏳️‍🌈 👨🏿‍💻"];
    for (const text of texts) {
      const { records } = ok(expectNoThrow(dmBody(inbound({ message: { mid: "m", text } }))));
      expect(records[0]?.event).toMatchObject({ text });
      const unknown = ok(expectNoThrow(dmBody(inbound({ [text]: text }))));
      expect(unknown.records[0]?.dedupeKey).toMatch(/^unknown:[0-9a-f]{64}$/);
    }
  });

  it("on cycles and arrays where objects are expected", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const body = {
      object: "instagram",
      entry: [{ id: ACC, time: 1, changes: [{ field: "x", value: cyclic }] }],
    };
    expect(ok(expectNoThrow(body)).records).toHaveLength(1);
    expect(expectNoThrow({ object: "instagram", entry: [[1, 2]] }).ok).toBe(false);
    const arrays = ok(expectNoThrow(dmBody(inbound({ message: [1], reaction: [] }))));
    expect(arrays.records[0]?.event).toMatchObject({ type: "unknown", field: "message" });
  });
});

describe("fixtures", () => {
  it("every fixture parses without warnings", () => {
    const names = readdirSync(FIXTURES).filter((f) => f.endsWith(".json"));
    expect(names.length).toBeGreaterThanOrEqual(31);
    for (const name of names) {
      const result = parseWebhook(fixture(name.replace(/\.json$/, "")));
      expect(result, name).toMatchObject({ ok: true, warnings: [] });
    }
  });
});
