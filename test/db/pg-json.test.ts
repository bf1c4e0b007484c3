import { describe, expect, it } from "vitest";
import { pgJson } from "../../src/db/pg-json.ts";

describe("pgJson", () => {
  it("replaces NUL and lone surrogates, keeps pairs, emoji and escaped backslashes", () => {
    expect(pgJson({ t: "a\u0000b" })).toBe('{"t":"a\\ufffdb"}');
    expect(pgJson({ t: "\ud800 lone \udfff" })).toBe('{"t":"\\ufffd lone \\ufffd"}');
    expect(pgJson({ t: "👍 ok" })).toBe('{"t":"👍 ok"}');
    // A literal backslash followed by "u0000" is text, not an escape.
    expect(pgJson({ t: "\\u0000" })).toBe('{"t":"\\\\u0000"}');
    expect(pgJson({ t: "\\\u0000" })).toBe('{"t":"\\\\\\ufffd"}');
    expect(pgJson({ "k\u0000": 1 })).toBe('{"k\\ufffd":1}');
    expect(JSON.parse(pgJson({ t: "x\u0000\ud800" }))).toEqual({ t: "x\ufffd\ufffd" });
  });
});
