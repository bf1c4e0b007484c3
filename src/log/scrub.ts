// Redaction of a log line by key: the value of every key named as secret (a token, a signature, a
// customer's text, a cookie), in any letter case and at any depth, is replaced in the line as pino
// wrote it, after the serializers, in a child's bindings and a line's fields alike.
//
// pino's own redaction (fifty paths: `*.token`, `*.*.text`, a cookie header at four depths under
// four spellings) did this until issue 23. It runs every path over every line and over every child
// logger's bindings when the child is made, whether or not a secret is there: 12.5 µs for the
// request logger's child, made for every request, about a tenth of the web process's time at the
// ingest load. And a path names a depth: a secret one level deeper, or spelt otherwise, went
// through. Here a line is one regular-expression test, and only a line that names such a key is
// read and written again.

const CENSOR = "[redacted]";

/**
 * A pino `hooks.streamWrite`: the line with the value of every key in `keys` (compared without
 * regard to letter case) replaced by "[redacted]", whatever it held (a string, an object, a list).
 */
export function secretScrubber(keys: readonly string[]): (line: string) => string {
  const names = new Set(keys.map((k) => k.toLowerCase()));
  const alternatives = [...names].map((k) => RegExp.escape(k)).join("|");
  // A key as JSON writes it: quoted, then a colon. Inside a string value a quote is escaped, so a
  // value that merely mentions `"token":` does not match.
  const mayHold = new RegExp(`"(?:${alternatives})":`, "i");
  const scrub = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(scrub);
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value))
      out[key] = names.has(key.toLowerCase()) ? CENSOR : scrub(inner);
    return out;
  };
  return (line) => {
    if (!mayHold.test(line)) return line;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      // pino writes nothing but JSON lines: one that is not cannot be scrubbed, so it is withheld.
      return `${JSON.stringify({ level: 50, time: Date.now(), msg: "a log line naming a secret could not be read; withheld" })}\n`;
    }
    return `${JSON.stringify(scrub(parsed))}\n`;
  };
}
