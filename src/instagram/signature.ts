import { createHmac, timingSafeEqual } from "node:crypto";

export type SignatureCheck =
  | { ok: true; secretIndex: number }
  | { ok: false; reason: "missing" | "malformed" | "mismatch" };

const HEX_SHA256 = /^sha256=[0-9a-fA-F]{64}$/;

/**
 * Checks `X-Hub-Signature-256` (HMAC-SHA256 of the raw body) against each candidate secret in
 * constant time. Meta's docs disagree on whether Instagram-Login webhooks are signed with the Meta or
 * the Instagram app secret (reference 1.3), so either is accepted and the match is reported.
 */
export function verifySignature(
  raw: Buffer,
  header: string | undefined,
  secrets: readonly string[],
): SignatureCheck {
  if (!header) return { ok: false, reason: "missing" };
  if (!HEX_SHA256.test(header)) return { ok: false, reason: "malformed" };
  const got = Buffer.from(header.slice(7), "hex");
  let matched = -1;
  // Every secret is tried even after a match, so timing does not tell which one matched.
  secrets.forEach((secret, i) => {
    const expected = createHmac("sha256", secret).update(raw).digest();
    if (timingSafeEqual(got, expected) && matched < 0) matched = i;
  });
  return matched >= 0 ? { ok: true, secretIndex: matched } : { ok: false, reason: "mismatch" };
}

export function sign(raw: Buffer | string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`;
}
