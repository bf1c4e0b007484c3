import { createHmac, timingSafeEqual } from "node:crypto";

// Meta's `signed_request` (reference 6.2): `<sig>.<payload>`, both base64url; the signature is
// HMAC-SHA256 of the encoded payload under the app secret. Which secret signs Instagram-Login
// callbacks is not documented consistently, so every configured one is tried, as for webhooks.

export type SignedRequest =
  | { ok: true; userId: string; issuedAt: number | undefined }
  | { ok: false; reason: string };

export function parseSignedRequest(value: unknown, secrets: readonly string[]): SignedRequest {
  if (typeof value !== "string" || !/^[\w-]+\.[\w-]+$/.test(value))
    return { ok: false, reason: "signed_request missing or not <signature>.<payload>" };
  const [encSig = "", encPayload = ""] = value.split(".");
  const sig = Buffer.from(encSig, "base64url");
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(encPayload, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "signed_request payload is not JSON" };
  }
  if (typeof payload !== "object" || payload === null)
    return { ok: false, reason: "signed_request payload is not an object" };
  const p = payload as Record<string, unknown>;
  if (String(p.algorithm).toUpperCase() !== "HMAC-SHA256")
    return { ok: false, reason: "unsupported signed_request algorithm" };
  const signedBy = secrets.some((secret) => {
    const expected = createHmac("sha256", secret).update(encPayload).digest();
    return expected.length === sig.length && timingSafeEqual(expected, sig);
  });
  if (!signedBy) return { ok: false, reason: "signed_request signature does not match the app secret" };
  const userId = typeof p.user_id === "string" || typeof p.user_id === "number" ? String(p.user_id) : "";
  if (!/^\d+$/.test(userId)) return { ok: false, reason: "signed_request has no user_id" };
  return { ok: true, userId, issuedAt: typeof p.issued_at === "number" ? p.issued_at : undefined };
}
