// The kinds issue 22 asks to show with their content, as the parser reads them from Meta's
// documented payload shapes (test/fixtures/webhooks/).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { InboundRecord } from "../../src/instagram/events.ts";
import { parseWebhook } from "../../src/instagram/webhook.ts";

const FIXTURES = new URL("../fixtures/webhooks/", import.meta.url);
const ACC = "17841400000000001";

function single(name: string): InboundRecord {
  const result = parseWebhook(JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")));
  if (!result.ok) throw new Error(result.reason);
  expect(result.warnings).toEqual([]);
  expect(result.records).toHaveLength(1);
  return result.records[0] as InboundRecord;
}

const attachmentsOf = (name: string) => {
  const e = single(name).event;
  return e.type === "dm.message" || e.type === "dm.echo" ? e.attachments : [];
};

describe("template, fallback, heart and unsupported attachments", () => {
  it("reads a shared product as Meta sends it: id, retailer id, title, price line, picture", () => {
    expect(attachmentsOf("dm-template-product")).toEqual([
      {
        kind: "template",
        rawType: "template",
        template: {
          templateType: "product",
          elements: [
            {
              productId: "7291234567890123",
              retailerId: "SKU-HOODIE-BLUE-M",
              title: "Blue Hoodie",
              subtitle: "€49.00",
              imageUrl: "https://scontent.xx.fbcdn.net/v/t45.5328-4/fake_hoodie.jpg",
            },
          ],
        },
      },
    ]);
  });

  it("reads a generic template's cards with their links and buttons", () => {
    const [a] = attachmentsOf("dm-template-generic");
    expect(single("dm-template-generic").event.type).toBe("dm.echo");
    expect(a?.template?.templateType).toBe("generic");
    expect(a?.template?.elements).toEqual([
      {
        title: "Blue Hoodie",
        subtitle: "$49, sizes S to XL",
        imageUrl: "https://cdn.example.com/h.jpg",
        url: "https://shop.example.com/h",
        buttons: [
          { type: "web_url", url: "https://shop.example.com/h", title: "View" },
          { type: "postback", title: "Ask a question", payload: "ASK_HOODIE" },
        ],
      },
      {
        title: "Red Scarf",
        subtitle: "$19",
        imageUrl: "https://cdn.example.com/s.jpg",
        buttons: [{ type: "web_url", url: "https://shop.example.com/s", title: "View" }],
      },
    ]);
  });

  it("bounds a template (10 cards, 3 buttons) and drops links that are not web links", () => {
    const element = (i: number) => ({
      title: `Card ${i}`,
      image_url: "javascript:alert(1)",
      buttons: Array.from({ length: 5 }, (_, b) => ({
        type: "web_url",
        url: `https://x/${b}`,
        title: `B${b}`,
      })),
    });
    const body = {
      object: "instagram",
      entry: [
        {
          id: ACC,
          time: 1761287298065,
          messaging: [
            {
              sender: { id: "1234567890123456" },
              recipient: { id: ACC },
              timestamp: 1761287294014,
              message: {
                mid: "m_bound",
                attachments: [
                  {
                    type: "template",
                    payload: {
                      template_type: "generic",
                      elements: Array.from({ length: 14 }, (_, i) => element(i)),
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
    };
    const result = parseWebhook(body);
    if (!result.ok) throw new Error(result.reason);
    const event = result.records[0]?.event;
    const template = event?.type === "dm.message" ? event.attachments[0]?.template : undefined;
    expect(template?.elements).toHaveLength(10);
    expect(template?.elements[0]?.buttons).toHaveLength(3);
    expect(template?.elements[0]?.imageUrl).toBeUndefined();
  });

  it("keeps a fallback's title and link, the heart sticker and unsupported_type by name", () => {
    expect(attachmentsOf("dm-fallback")).toEqual([
      {
        kind: "fallback",
        rawType: "fallback",
        url: "https://shop.example.com/products/blue-hoodie",
        title: "Blue Hoodie – Example Shop",
      },
    ]);
    expect(attachmentsOf("dm-like-heart")).toEqual([{ kind: "like_heart", rawType: "like_heart" }]);
    expect(attachmentsOf("dm-unsupported-type")).toEqual([
      { kind: "unsupported", rawType: "unsupported_type" },
    ]);
  });

  it("reads a pre-v6 fallback whose title and url sit beside a null payload", () => {
    const body = {
      object: "instagram",
      entry: [
        {
          id: ACC,
          time: 1761287298065,
          messaging: [
            {
              sender: { id: "1234567890123456" },
              recipient: { id: ACC },
              timestamp: 1761287294014,
              message: {
                mid: "m_old_fallback",
                attachments: [
                  { type: "fallback", title: "Old style", url: "https://example.com/x", payload: null },
                ],
              },
            },
          ],
        },
      ],
    };
    const result = parseWebhook(body);
    if (!result.ok) throw new Error(result.reason);
    const event = result.records[0]?.event;
    expect(event?.type === "dm.message" ? event.attachments : []).toEqual([
      { kind: "fallback", rawType: "fallback", title: "Old style", url: "https://example.com/x" },
    ]);
  });
});

describe("live comments and mentions", () => {
  it("keeps a live comment without an author as a comment, not an unknown event", () => {
    expect(single("live-comment-anonymous")).toMatchObject({
      event: {
        type: "comment",
        commentId: "17850000000000007",
        text: "Where can I buy the jacket?",
        live: true,
        self: false,
      },
      threadKey: "comment:17850000000000007",
    });
    expect(single("live-comment-anonymous").event).not.toHaveProperty("from");
  });

  it("still refuses a feed comment without an author", () => {
    const body = {
      object: "instagram",
      entry: [
        {
          id: ACC,
          time: 1776339591,
          changes: [{ field: "comments", value: { id: "1", media: { id: "2" } } }],
        },
      ],
    };
    const result = parseWebhook(body);
    expect(result.ok && result.records[0]?.event.type).toBe("unknown");
  });

  it("reads a caption mention (no comment id) as a mention", () => {
    expect(single("mention-caption")).toMatchObject({
      event: { type: "mention", accountId: ACC, mediaId: "17900000000000007" },
      dedupeKey: "mention:17900000000000007:",
    });
  });
});
