import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

// AES-256-GCM sealing of Instagram access tokens. The ciphertext is base64 of iv(12)|tag(16)|data,
// and the id of the key it was sealed with is bound as additional authenticated data, so a
// ciphertext cannot be opened as if it belonged to another key. Nothing here ever logs or puts a
// token into an error message.

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class TokenCipherError extends Error {
  override name = "TokenCipherError";
}

interface Key {
  id: string;
  key: Buffer;
}

/** The key id of an unprefixed key: the first 8 hex characters of sha256(key). */
export function defaultKeyId(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

/** Parses `TOKEN_ENCRYPTION_KEY`: base64 32-byte keys, comma-separated, newest first, each optionally `id:`. */
export function parseKeys(keys: string): Key[] {
  const parsed: Key[] = [];
  for (const raw of keys.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const m = /^([\w-]+):(.*)$/.exec(entry);
    const encoded = m ? (m[2] ?? "") : entry;
    const key = Buffer.from(encoded, "base64");
    if (key.length !== 32)
      throw new TokenCipherError(
        `TOKEN_ENCRYPTION_KEY: entry ${parsed.length + 1} is not a base64 32-byte key`,
      );
    const id = m?.[1] ?? defaultKeyId(key);
    if (parsed.some((k) => k.id === id))
      throw new TokenCipherError(`TOKEN_ENCRYPTION_KEY: key id ${id} appears twice`);
    parsed.push({ id, key });
  }
  if (parsed.length === 0) throw new TokenCipherError("TOKEN_ENCRYPTION_KEY: no key given");
  return parsed;
}

export class TokenCipher {
  readonly #keys: Key[];

  private constructor(keys: Key[]) {
    this.#keys = keys;
  }

  static fromConfig(keys: string | undefined): TokenCipher {
    if (!keys) throw new TokenCipherError("TOKEN_ENCRYPTION_KEY: no key configured");
    return new TokenCipher(parseKeys(keys));
  }

  /** The id of the newest key, the one `seal` uses. */
  get currentKeyId(): string {
    return this.#newest().id;
  }

  seal(plain: string): { ciphertext: string; keyId: string } {
    const { id, key } = this.#newest();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(id, "utf8"));
    const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return { ciphertext: Buffer.concat([iv, tag, data]).toString("base64"), keyId: id };
  }

  open(ciphertext: string, keyId: string): string {
    const found = this.#keys.find((k) => k.id === keyId);
    if (!found)
      throw new TokenCipherError(
        `token was sealed with key id ${keyId}, which is not in TOKEN_ENCRYPTION_KEY (configured: ${this.#keys
          .map((k) => k.id)
          .join(", ")})`,
      );
    const buf = Buffer.from(ciphertext, "base64");
    if (buf.length < IV_BYTES + TAG_BYTES)
      throw new TokenCipherError(`token under key id ${keyId} is malformed (too short)`);
    const decipher = createDecipheriv("aes-256-gcm", found.key, buf.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(keyId, "utf8"));
    decipher.setAuthTag(buf.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(buf.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new TokenCipherError(
        `token under key id ${keyId} failed authentication (tampered, or sealed under another key)`,
      );
    }
  }

  /** True when a token sealed under `keyId` should be re-sealed under the newest key. */
  needsRotation(keyId: string | null | undefined): boolean {
    return keyId !== this.#newest().id;
  }

  #newest(): Key {
    const k = this.#keys[0];
    if (!k) throw new TokenCipherError("TOKEN_ENCRYPTION_KEY: no key configured");
    return k;
  }
}
