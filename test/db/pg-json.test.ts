import { describe, expect, it } from "vitest";
import { pgJson, storableParams } from "../../src/db/pg-json.ts";

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

describe("storableParams", () => {
  it("makes NUL in text parameters and arrays of them U+FFFD, and leaves everything else as it is", () => {
    const buf = Buffer.from([0, 1]);
    const at = new Date(0);
    expect(storableParams(["a\u0000b", 1, null, buf, at, ["x", "y\u0000"], true])).toEqual([
      "a\ufffdb",
      1,
      null,
      buf,
      at,
      ["x", "y\ufffd"],
      true,
    ]);
    expect(storableParams(undefined)).toBeUndefined();
  });

  it("hands back the same array when nothing needs it, and never changes the caller's", () => {
    const clean = ["a", 1, ["b"]];
    expect(storableParams(clean)).toBe(clean);
    const dirty = ["a\u0000", "b"];
    const out = storableParams(dirty);
    expect(out).not.toBe(dirty);
    expect(dirty).toEqual(["a\u0000", "b"]);
  });
});
