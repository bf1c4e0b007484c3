import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

// Random values the console hands out (session ids, CSRF tokens, OAuth states) and how they are
// compared: by digest in constant time, so neither their length nor a common prefix shows in timing.

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** sha256, hex: what is stored of a value that must not be readable from the database. */
export function digest(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(
    createHash("sha256").update(a, "utf8").digest(),
    createHash("sha256").update(b, "utf8").digest(),
  );
}

/** Compares a value against a stored `digest` of the expected one, in constant time. */
export function matchesDigest(value: string, storedDigest: string): boolean {
  const stored = Buffer.from(storedDigest, "hex");
  const got = createHash("sha256").update(value, "utf8").digest();
  return stored.length === got.length && timingSafeEqual(stored, got);
}
