import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compilePattern,
  MAX_MATCHED_TEXT,
  MAX_PATTERN_LENGTH,
  MAX_PATTERN_PROGRAM,
  PatternSet,
  type RulePattern,
} from "../../src/rules/pattern.ts";

// Rule patterns keep their JavaScript meaning (flags `iu`) while running on RE2 (issue 16).

function compiled(source: string): RulePattern {
  const r = compilePattern(source);
  if (!r.ok) throw new Error(`${source}: ${r.error}`);
  return r.pattern;
}

function errorOf(source: string): string {
  const r = compilePattern(source);
  if (r.ok) throw new Error(`${source} was accepted`);
  return r.error;
}

// Random patterns over the syntax where JavaScript and RE2 differ, and short texts to try them on.
const char = fc.constantFrom(..."aAbBzZ019 _-.é\u00a0\n\r\u2028\u202f😀ß");
const text = fc.array(char, { maxLength: 12 }).map((cs) => cs.join(""));
const atom: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("a", "B", "é", "1", " ", "-", "\\.", "😀", "ß"),
  fc.constantFrom("\\s", "\\S", "\\d", "\\D", "\\w", "\\W", ".", "\\b", "\\B", "^", "$"),
  fc.constantFrom("[a-c]", "[^a-c]", "[\\s\\d]", "[\\S]", "[^\\s]", "[é\\u00a0]", "[😀-😂]", "[^]", "[\\b]"),
  fc.constantFrom("\\u00e9", "\\u{1F600}", "\\ud83d\\ude00", "\\x41", "\\cJ", "\\p{L}", "\\p{Lu}", "\\p{N}"),
  fc.constantFrom("\\p{Script=Latin}", "\\p{gc=Nd}", "\\t", "\\n", "\\0", "\\/"),
);
const quantified = fc
  .tuple(atom, fc.constantFrom("", "", "*", "+", "?", "{2}", "{1,3}", "*?", "+?"))
  .map(([a, q]) => (/^[$^]|^\\[bB]$/.test(a) ? a : a + q));
const sequence = fc.array(quantified, { minLength: 1, maxLength: 4 }).map((xs) => xs.join(""));
const pattern = fc.oneof(
  sequence,
  fc.tuple(sequence, sequence).map(([a, b]) => `${a}|${b}`),
  fc.tuple(sequence, sequence, fc.constantFrom("(", "(?:", "(?<g>")).map(([a, b, g]) => `${g}${a})+${b}`),
);

describe("rule patterns on RE2", () => {
  it("match like JavaScript's RegExp with flags iu, code point by code point, where RE2's own classes differ", () => {
    // RE2's \s is ASCII and its `.` stops at \n only; JavaScript's \s is Unicode-wide and its `.`
    // stops at every line terminator. Every BMP code point and a few astral ones, each class form.
    const sources = [
      "\\s",
      "\\S",
      "[\\S]",
      "[^\\s]",
      "[\\s\\d]",
      "[^\\S]",
      ".",
      "[^]",
      "[]",
      "\\w",
      "\\W",
      "[\\b]",
    ];
    const points = [
      ...Array.from({ length: 0x10000 }, (_, i) => i).filter((i) => i < 0xd800 || i > 0xdfff),
      0x1f600,
      0x10ffff,
      0x10000,
    ];
    for (const source of sources) {
      const mine = compiled(`^${source}$`);
      const v8 = new RegExp(`^${source}$`, "iu");
      const differ = points.filter((cp) => {
        const s = String.fromCodePoint(cp);
        return mine.test(s) !== v8.test(s);
      });
      expect(
        differ.map((cp) => cp.toString(16)),
        source,
      ).toEqual([]);
    }
  });

  it("agree with RegExp(…, 'iu') on random patterns and texts", () => {
    fc.assert(
      fc.property(pattern, fc.array(text, { minLength: 1, maxLength: 5 }), (p, texts) => {
        const r = compilePattern(p);
        if (!r.ok) return; // only what both accept is compared; refusals have their own tests
        for (const s of texts)
          expect(r.pattern.test(s), `${p} on ${JSON.stringify(s)}`).toBe(new RegExp(p, "iu").test(s));
      }),
      { numRuns: 800, seed: 20260616 },
    );
  });

  it("run the pattern that froze V8 in linear time, with the right answers", () => {
    const p = compiled("^(\\w+\\s?)*$");
    expect(p.test(`${"a".repeat(27)}!`)).toBe(false);
    expect(p.test(`${"a".repeat(9_999)}!`)).toBe(false);
    expect(p.test("hello there friend")).toBe(true);
    expect(p.test("Hello There ")).toBe(true);
  });

  it("refuse lookaround and backreferences, naming the construct and where it is", () => {
    const why =
      "rule patterns run on RE2, which matches in linear time and so has no lookahead, lookbehind or backreferences";
    expect(errorOf("(a+)\\1")).toBe(
      `unsupported regular expression: backreference \\1 at character 5 is not supported: ${why}`,
    );
    expect(errorOf("(?<w>\\w+) \\k<w>")).toBe(
      `unsupported regular expression: backreference \\k<w> at character 11 is not supported: ${why}`,
    );
    expect(errorOf("price(?= list)")).toBe(
      `unsupported regular expression: lookahead (?= at character 6 is not supported: ${why}`,
    );
    expect(errorOf("^(?!spam)")).toMatch(/^unsupported regular expression: lookahead \(\?! at character 2 /);
    expect(errorOf("(?<=#)\\d+")).toMatch(
      /^unsupported regular expression: lookbehind \(\?<= at character 1 /,
    );
    expect(errorOf("a(?<!b)")).toMatch(/^unsupported regular expression: lookbehind \(\?<! at character 2 /);
    // Not a lookbehind: a named group, which RE2 has.
    expect(compiled("(?<n>a)b").test("AB")).toBe(true);
    // A lookahead in a class is two characters, not a lookahead.
    expect(compiled("[(?=]").test("=")).toBe(true);
  });

  it("bound the pattern's length and compiled size", () => {
    // Classes are one instruction each however many characters they take to write.
    expect(compilePattern("[\\w.+-]".repeat(Math.floor(MAX_PATTERN_LENGTH / 8))).ok).toBe(true);
    expect(errorOf("a".repeat(MAX_PATTERN_LENGTH + 1))).toBe(
      `regular expression is ${MAX_PATTERN_LENGTH + 1} characters long, at most ${MAX_PATTERN_LENGTH} are allowed (list words in keywords instead)`,
    );
    expect(compilePattern("a".repeat(MAX_PATTERN_PROGRAM - 3)).ok).toBe(true);
    expect(errorOf("\\p{L}{300}")).toMatch(
      new RegExp(
        `^regular expression is too complex: it compiles to \\d+ RE2 instructions, at most ${MAX_PATTERN_PROGRAM} are allowed`,
      ),
    );
    expect(errorOf("a{1001}")).toBe(
      "unsupported regular expression: RE2 cannot run it: invalid repeat count `{1001}`",
    );
    // What rules really use stays well inside.
    for (const ok of [
      "order\\s*#?\\d{5}",
      "[\\w.+-]+@[\\w-]+\\.[\\w.]+",
      "https?://(www\\.)?instagram\\.com/p/[\\w-]+",
      "\\+?\\d[\\d\\s().-]{7,16}\\d",
      "\\b[A-Z]{2}\\d{2}(?:\\s?[A-Z0-9]{4}){3,7}\\b",
      "^.{0,80}price",
      "\\b(?:price|cost|how much|preis|kosten|prix|combien|precio|cuánto)\\b",
    ])
      expect(compilePattern(ok).ok, ok).toBe(true);
  });

  it("explain what RE2 does not know, and keep V8's syntax errors as they were", () => {
    expect(errorOf("\\p{Letter}")).toBe(
      "unsupported regular expression: RE2 cannot run it: invalid character class range `\\p{Letter}` (RE2 knows the short property names: \\p{L}, \\p{Lu}, \\p{N}, \\p{Greek}, \\p{Emoji}…)",
    );
    expect(compiled("\\p{Script=Greek}+").test("αβγ")).toBe(true);
    expect(errorOf("(unclosed")).toBe("invalid regular expression: Unterminated group");
    // RE2-only syntax is not JavaScript: refused like any syntax error, never given another meaning.
    expect(errorOf("\\x{41}")).toMatch(/^invalid regular expression: /);
    expect(errorOf("(?i)a")).toMatch(/^invalid regular expression: /);
  });

  it("never match a text longer than any Instagram sends, rather than a cut one", () => {
    const p = compiled("^a+$");
    expect(p.test("a".repeat(MAX_MATCHED_TEXT))).toBe(true);
    expect(p.test("a".repeat(MAX_MATCHED_TEXT + 1))).toBe(false);
  });
});

describe("a rule set's patterns matched together", () => {
  it("find exactly the patterns that match one by one, on random sets and texts", () => {
    fc.assert(
      fc.property(
        fc.array(pattern, { minLength: 1, maxLength: 8 }),
        fc.array(text, { minLength: 1, maxLength: 5 }),
        (sources, texts) => {
          const set = new PatternSet();
          const singles: [number, RulePattern][] = [];
          for (const source of sources) {
            const one = compilePattern(source);
            const added = set.add(source);
            expect(added.ok).toBe(one.ok);
            if (one.ok && added.ok) singles.push([added.index, one.pattern]);
          }
          for (const s of texts) {
            const expected = singles.filter(([, p]) => p.test(s)).map(([i]) => i);
            expect(
              [...set.matching(s)].sort((a, b) => a - b),
              `${sources.join(" , ")} on ${JSON.stringify(s)}`,
            ).toEqual(expected);
          }
        },
      ),
      { numRuns: 250, seed: 20261205 },
    );
  });

  it("number patterns across RE2 sets, refuse what compilePattern refuses, and match no overlong text", () => {
    const set = new PatternSet();
    expect(set.add("(?=x)")).toMatchObject({ ok: false, error: expect.stringMatching(/lookahead/) });
    const indexes: number[] = [];
    for (let i = 0; i < 2_100; i++) {
      const added = set.add(`order\\s*#?${i}x`);
      if (!added.ok) throw new Error(added.error);
      indexes.push(added.index);
    }
    expect(indexes).toEqual(indexes.map((_, i) => i));
    expect([...set.matching("Order 7x, order #1999x and ORDER 2050x")].sort((a, b) => a - b)).toEqual([
      7, 1999, 2050,
    ]);
    expect(set.matching(`order 7x ${"a".repeat(MAX_MATCHED_TEXT)}`).size).toBe(0);
    expect(() => set.add("late")).toThrow(/after its first match/);
  });
});
