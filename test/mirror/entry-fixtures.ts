// Webhooks that open conversations through each entry point, built on the documented fixtures
// (dm-ad-referral.json, dm-referral.json) with their own customer, message id, ad and time.

import { fixture } from "../helpers/webhook.ts";

type Body = {
  entry: {
    id: string;
    time: number;
    messaging: {
      sender: { id: string };
      recipient: { id: string };
      timestamp: number;
      message?: { mid: string; text?: string; referral?: Record<string, unknown> };
      referral?: Record<string, unknown>;
    }[];
  }[];
};

function retarget(name: string, account: string, customer: string, at: number): Body {
  const body = JSON.parse(fixture(name)) as Body;
  const entry = body.entry[0];
  const item = entry?.messaging[0];
  if (!entry || !item) throw new Error(`${name} has no messaging item`);
  entry.id = account;
  entry.time = at;
  item.sender.id = customer;
  item.recipient.id = account;
  item.timestamp = at;
  return body;
}

/** A first message after a click-to-Instagram-Direct ad (reference 1.11: `message.referral`
 * with source ADS, the ad's id and ads_context_data). */
export function adMessage(
  account: string,
  customer: string,
  mid: string,
  at: number,
  ad = { id: "120200000000000001", title: "Summer sale: 30% off" },
): Body {
  const body = retarget("dm-ad-referral", account, customer, at);
  const message = body.entry[0]?.messaging[0]?.message;
  if (!message?.referral) throw new Error("dm-ad-referral has no referral");
  message.mid = mid;
  message.referral.ad_id = ad.id;
  (message.referral.ads_context_data as Record<string, string>).ad_title = ad.title;
  return body;
}

/** An ig.me link opening the thread (`messaging[].referral`, OPEN_THREAD), then the customer's
 * first message. */
export function linkOpened(account: string, customer: string, mid: string, at: number): Body[] {
  const referral = retarget("dm-referral", account, customer, at);
  const text = retarget("dm-text", account, customer, at + 1000);
  const message = text.entry[0]?.messaging[0]?.message;
  if (message) message.mid = mid;
  return [referral, text];
}
