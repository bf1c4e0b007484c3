import { createHash, createHmac, timingSafeEqual } from "node:crypto";

// Meta's `signed_request` (reference 6.2): `<sig>.<payload>`, both base64url; the signature is
// HMAC-SHA256 of the encoded payload under the app secret. Which secret signs Instagram-Login
// callbacks is not documented consistently, so every configured one is tried, as for webhooks.
//
// A valid signature alone proves only that Meta once sent it: a request captured from a log, a
// proxy or a browser history would start an erasure (or revoke a reconnected account) again for
// ever. So `issued_at` is required and must be recent, and the caller remembers the requests it
// has answered (`replayKey`) for as long as they are fresh.

/** How old a signed_request may be. Meta calls at once and retries within minutes. */
export const SIGNED_REQUEST_MAX_AGE_SECONDS = 3600;
/** How far ahead of our clock `issued_at` may be: clocks drift, a little. */
export const SIGNED_REQUEST_MAX_SKEW_SECONDS = 300;

export type SignedRequest =
  | {
      ok: true;
      userId: string;
      /** Seconds since the epoch, checked fresh. */
      issuedAt: number;
      /** SHA-256 (hex) of the signed payload text: the same request, however its signature is
       * spelled (base64url's last character has spare bits, so one signature has several spellings). */
      replayKey: string;
    }
  | { ok: false; error: "bad_signed_request" | "stale_signed_request"; reason: string };

export function parseSignedRequest(
  value: unknown,
  secrets: readonly string[],
  now: number = Date.now(),
): SignedRequest {
  const bad = (reason: string) => ({ ok: false, error: "bad_signed_request", reason }) as const;
  if (typeof value !== "string" || !/^[\w-]+\.[\w-]+$/.test(value))
    return bad("signed_request missing or not <signature>.<payload>");
  const [encSig = "", encPayload = ""] = value.split(".");
  const sig = Buffer.from(encSig, "base64url");
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(encPayload, "base64url").toString("utf8"));
  } catch {
    return bad("signed_request payload is not JSON");
  }
  if (typeof payload !== "object" || payload === null) return bad("signed_request payload is not an object");
  const p = payload as Record<string, unknown>;
  if (String(p.algorithm).toUpperCase() !== "HMAC-SHA256") return bad("unsupported signed_request algorithm");
  const signedBy = secrets.some((secret) => {
    const expected = createHmac("sha256", secret).update(encPayload).digest();
    return expected.length === sig.length && timingSafeEqual(expected, sig);
  });
  if (!signedBy) return bad("signed_request signature does not match the app secret");
  const userId = typeof p.user_id === "string" || typeof p.user_id === "number" ? String(p.user_id) : "";
  if (!/^\d+$/.test(userId)) return bad("signed_request has no user_id");
  // Meta sends whole seconds as a JSON number (a string of digits is taken too, as for user_id);
  // anything else is not a time we can judge.
  if (p.issued_at === undefined || p.issued_at === null) return bad("signed_request has no issued_at");
  const issuedAt =
    typeof p.issued_at === "number" || (typeof p.issued_at === "string" && /^\d{1,16}$/.test(p.issued_at))
      ? Number(p.issued_at)
      : Number.NaN;
  if (!Number.isSafeInteger(issuedAt) || issuedAt <= 0)
    return bad("signed_request issued_at is not a whole number of seconds since 1970");
  const age = Math.floor(now / 1000) - issuedAt;
  const date = new Date(issuedAt * 1000);
  const when = Number.isNaN(date.getTime()) ? `${issuedAt}` : date.toISOString();
  if (age > SIGNED_REQUEST_MAX_AGE_SECONDS)
    return {
      ok: false,
      error: "stale_signed_request",
      reason: `signed_request issued_at ${when} is older than ${SIGNED_REQUEST_MAX_AGE_SECONDS} seconds`,
    };
  if (-age > SIGNED_REQUEST_MAX_SKEW_SECONDS)
    return {
      ok: false,
      error: "stale_signed_request",
      reason: `signed_request issued_at ${when} is more than ${SIGNED_REQUEST_MAX_SKEW_SECONDS} seconds in the future`,
    };
  return {
    ok: true,
    userId,
    issuedAt,
    replayKey: createHash("sha256").update(encPayload).digest("hex"),
  };
}
