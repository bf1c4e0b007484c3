import { readFileSync } from "node:fs";
import { sign } from "../../src/instagram/signature.ts";
import { APP_SECRET } from "./service.ts";

export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/webhooks/${name}.json`, import.meta.url), "utf8");
}

export async function postWebhook(
  baseUrl: string,
  body: string | object,
  options: { secret?: string; signature?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  const signature =
    options.signature === undefined ? sign(raw, options.secret ?? APP_SECRET) : options.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  const res = await fetch(`${baseUrl}/webhooks/instagram`, { method: "POST", headers, body: raw });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** A DM text webhook from `customer` to `account`, unique by `mid`. */
export function dmText(account: string, customer: string, mid: string, text: string, timestamp: number) {
  return {
    object: "instagram",
    entry: [
      {
        id: account,
        time: timestamp,
        messaging: [
          { sender: { id: customer }, recipient: { id: account }, timestamp, message: { mid, text } },
        ],
      },
    ],
  };
}

export interface CommentFields {
  id: string;
  text: string;
  from: { id: string; username: string };
  /** The top-level comment this one answers. */
  parentId?: string;
  mediaId?: string;
  productType?: string;
}

/** A `comments` webhook for `account`, as Instagram sends it (reference 3). */
export function commentWebhook(account: string, c: CommentFields, time = Date.now()) {
  return {
    object: "instagram",
    entry: [
      {
        id: account,
        time,
        changes: [
          {
            field: "comments",
            value: {
              id: c.id,
              ...(c.parentId ? { parent_id: c.parentId } : {}),
              text: c.text,
              from: c.from,
              media: {
                id: c.mediaId ?? "17900000000000001",
                ...(c.productType ? { media_product_type: c.productType } : {}),
              },
            },
          },
        ],
      },
    ],
  };
}
