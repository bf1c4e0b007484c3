import { createHmac } from "node:crypto";
import { APP_SECRET } from "./service.ts";

// Meta's signed_request as its callbacks receive it (reference 6.2): base64url HMAC-SHA256 of the
// base64url JSON payload, under the app secret.

/** Seconds since the epoch, as Meta writes `issued_at`. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function signedRequest(payload: object, secret = APP_SECRET): string {
  const enc = Buffer.from(JSON.stringify(payload)).toString("base64url");
  const sig = createHmac("sha256", secret).update(enc).digest("base64url");
  return `${sig}.${enc}`;
}

/** A fresh deletion or deauthorize payload for `userId`, issued `ageSeconds` ago. */
export function freshSignedRequest(userId: string, ageSeconds = 0, secret = APP_SECRET): string {
  return signedRequest(
    { algorithm: "HMAC-SHA256", issued_at: nowSeconds() - ageSeconds, user_id: userId },
    secret,
  );
}

/** POSTs the form Meta posts; the body is JSON on every answer. */
export async function postSignedRequest(
  baseUrl: string,
  path: "/instagram/data-deletion" | "/instagram/deauthorize",
  signed: string,
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ signed_request: signed }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}
