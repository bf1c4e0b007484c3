// How deeply a JSON text nests, read from its bytes. JSON.parse copes with any depth, but much of
// what runs after it does not: JSON.stringify overflows the stack a few thousand levels down,
// Postgres refuses jsonb past its stack depth, and recursive walkers anywhere else would too. A body
// that deep is never a real delivery, so it is refused before anything walks it. This is a linear
// scan with a counter (no recursion, no allocation), cheap next to the HMAC already computed over
// the same bytes.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** Whether arrays and objects in the JSON text `raw` nest more than `limit` levels deep. Brackets
 * inside strings do not count; UTF-8 never puts these ASCII bytes inside a multi-byte character.
 * Text that is not JSON gets some answer; JSON.parse refuses it anyway. */
export function jsonNestsDeeperThan(raw: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) depth--;
  }
  return false;
}
