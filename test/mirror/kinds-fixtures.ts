// The webhooks of the "every kind shown" tests, and what each must show, shared by the Slack and
// Discord tests so both platforms are held to the same content.

import { fixture } from "../helpers/webhook.ts";

export const CUSTOMER = "1234567890123456";

/** A fixture with every timestamp moved to `at` (ms): a story link is only shown while fresh. */
export function fixtureAt(name: string, at: number): string {
  const body = JSON.parse(fixture(name)) as {
    entry: { time: number; messaging?: { timestamp: number }[]; changes?: unknown[] }[];
  };
  for (const entry of body.entry) {
    entry.time = entry.messaging ? at : Math.floor(at / 1000);
    for (const item of entry.messaging ?? []) item.timestamp = at;
  }
  return JSON.stringify(body);
}

/** The DM fixtures, in the order they are delivered, and what each post must contain. */
export const DM_KINDS: { name: string; fresh?: boolean; shows: string[] }[] = [
  {
    name: "dm-template-product",
    shows: [
      "Blue Hoodie",
      "€49.00",
      "product id 7291234567890123",
      "retailer id SKU-HOODIE-BLUE-M",
      "fake_hoodie.jpg",
    ],
  },
  {
    name: "dm-template-generic",
    shows: [
      "Blue Hoodie",
      "$49, sizes S to XL",
      "https://cdn.example.com/h.jpg",
      "https://shop.example.com/h",
      "Ask a question",
      "ASK_HOODIE",
      "Red Scarf",
      "https://shop.example.com/s",
    ],
  },
  {
    name: "dm-fallback",
    shows: [
      "Is this the one?",
      "Blue Hoodie – Example Shop",
      "https://shop.example.com/products/blue-hoodie",
    ],
  },
  { name: "dm-like-heart", shows: ["Sent a heart", "like_heart"] },
  { name: "dm-unsupported-type", shows: ["did not deliver this attachment", "unsupported_type"] },
  { name: "dm-unsupported", shows: ["did not deliver this message", "is_unsupported"] },
  {
    name: "dm-share-ig-post",
    shows: ["Shared a post", "Caption text", "asset_id=18139494541428835"],
  },
  { name: "dm-ig-reel", shows: ["Shared a reel", "Reel caption #tag", "asset_id=17873858025351922"] },
  {
    name: "dm-story-mention",
    fresh: true,
    shows: ["Mentioned you in their story", "asset_id=18000000000000003", "until the story expires"],
  },
  { name: "dm-ig-story", fresh: true, shows: ["Shared a story", "asset_id=18000000000000010"] },
];
