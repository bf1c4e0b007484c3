import { RE2JS, RE2JSSyntaxException, RE2Set } from "re2js";

// Rule regexes (issue 16). They are written in JavaScript syntax, as the rule format has always
// said, and matched case-insensitively; but they run on RE2 (re2js, a pure-JavaScript port) rather
// than V8's backtracking engine, whose matching time can grow exponentially with the text: one
// `^(\w+\s?)*$` rule froze the process for seconds on a 28-character DM, and for hours on 40.
// RE2 matches in time linear in the text and the pattern, so a customer cannot stall the process
// through a rule; both sizes are bounded too (MAX_PATTERN_PROGRAM, MAX_MATCHED_TEXT), which bounds
// the worst case per message.
//
// The translation below keeps JavaScript's meaning where the two syntaxes differ on the same
// text (\s, \S and `.`, \u escapes, [^] and []); what RE2 cannot run at all (lookaround,
// backreferences) is refused when the rule is validated, naming the construct and where it is.

/** Longest pattern accepted, in characters. Long word lists belong in `keywords`. */
export const MAX_PATTERN_LENGTH = 500;
/**
 * Most RE2 instructions a pattern may compile to (a counted repetition `x{n}` counts its part n
 * times). This bounds the work per character and the memory of RE2's state cache; ordinary rule
 * patterns compile to 10–70.
 */
export const MAX_PATTERN_PROGRAM = 200;
/**
 * Longest text a pattern is tested on: Instagram's longest (a comment; DMs are at most 1,000
 * bytes). A longer text, which only a forged webhook or a long `/ig rules test` can bring, never
 * matches a regex (keywords and phrases still see it); cutting it instead would let `…$` match a
 * text that does not end that way. Linear is not free: a pattern built to defeat RE2's state cache
 * (`[ab]*a[ab]{40}z` on random a/b text) costs some 15–50 µs per character on a busy 2-core
 * machine: about 0.1 s at worst at this length, where 10,000 characters took up to 0.9 s.
 * Ordinary patterns cost microseconds.
 */
export const MAX_MATCHED_TEXT = 2_200;

/** A compiled rule pattern: `test` is unanchored and case-insensitive, like `RegExp#test` with `iu`. */
export interface RulePattern {
  test(text: string): boolean;
}

export type PatternResult = { ok: true; pattern: RulePattern } | { ok: false; error: string };

// ECMAScript's \s: WhiteSpace and LineTerminator (ECMA-262 §22.2.2.9), Unicode-wide, while
// RE2's \s is ASCII only: an Instagram text with a no-break space (U+00A0, or U+202F that iOS
// puts before "?" in French) would stop matching `combien\s*\?`.
const SPACE_RANGES: readonly (readonly [number, number])[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
const MAX_CODE_POINT = 0x10ffff;

const hex = (cp: number) => `\\x{${cp.toString(16)}}`;
const classItems = (ranges: readonly (readonly [number, number])[]) =>
  ranges.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join("");
function complement(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [a, b] of ranges) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}
const SPACE = classItems(SPACE_RANGES);
// Inside a class (`[\S,]`) a negated class cannot be nested: spell the complement out.
const NON_SPACE = classItems(complement(SPACE_RANGES));
/** ECMAScript's `.` without the `s` flag: anything but a line terminator (RE2's excludes \n only). */
const DOT = `[^${classItems([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
])}]`;

/** RE2's property names are the short ones; JavaScript also writes `Script=Greek` or `gc=Lu`. */
const PROPERTY_PREFIX = /^(?:Script|sc|General_Category|gc)=/;

type Translation = { ok: true; re2: string } | { ok: false; error: string };

const UNSUPPORTED =
  "rule patterns run on RE2, which matches in linear time and so has no lookahead, lookbehind or backreferences";

/**
 * The RE2 spelling of a pattern that V8 has already accepted with flags `iu`, so the scanner only
 * meets valid syntax: in `u` mode a class holds no nested class, an escape is always complete,
 * and `\1` outside a class is always a backreference.
 */
function translate(src: string): Translation {
  let out = "";
  let inClass = false;
  let i = 0;
  const refuse = (what: string, at: number): Translation => ({
    ok: false,
    error: `${what} at character ${at + 1} is not supported: ${UNSUPPORTED}`,
  });
  while (i < src.length) {
    const c = src[i] as string;
    if (c === "\\") {
      const e = src[i + 1] ?? "";
      switch (e) {
        case "s":
          out += inClass ? SPACE : `[${SPACE}]`;
          i += 2;
          continue;
        case "S":
          out += inClass ? NON_SPACE : `[^${SPACE}]`;
          i += 2;
          continue;
        case "b":
          // In a class \b is a backspace; outside it is the (ASCII) word boundary in both.
          out += inClass ? hex(8) : "\\b";
          i += 2;
          continue;
        case "0":
          out += hex(0);
          i += 2;
          continue;
        case "c":
          out += hex((src.charCodeAt(i + 2) ?? 0) % 32);
          i += 3;
          continue;
        case "k":
          return refuse(`backreference ${src.slice(i, src.indexOf(">", i) + 1)}`, i);
        case "u": {
          const { cp, end } = unicodeEscape(src, i);
          out += hex(cp);
          i = end;
          continue;
        }
        case "p":
        case "P": {
          const close = src.indexOf("}", i);
          out += `\\${e}{${src.slice(i + 3, close).replace(PROPERTY_PREFIX, "")}}`;
          i = close + 1;
          continue;
        }
        default:
          if (e >= "1" && e <= "9") return refuse(`backreference \\${/^\d+/.exec(src.slice(i + 1))?.[0]}`, i);
          // \d \w \D \W \B \f \n \r \t \v \xHH and escaped syntax characters mean the same in RE2.
          out += c + e;
          i += 2;
          continue;
      }
    }
    if (inClass) {
      if (c === "]") inClass = false;
      // A `[` is literal in a JavaScript class but may open `[:alpha:]` in RE2.
      out += c === "[" ? "\\[" : c;
      i++;
      continue;
    }
    if (c === "[") {
      // JavaScript's [] matches nothing and [^] anything; in RE2 a `]` right after `[` is literal.
      if (src.startsWith("[]", i)) {
        out += `[^${hex(0)}-${hex(MAX_CODE_POINT)}]`;
        i += 2;
        continue;
      }
      if (src.startsWith("[^]", i)) {
        out += `[${hex(0)}-${hex(MAX_CODE_POINT)}]`;
        i += 3;
        continue;
      }
      inClass = true;
      const negate = src[i + 1] === "^";
      out += negate ? "[^" : "[";
      i += negate ? 2 : 1;
      continue;
    }
    if (c === ".") {
      out += DOT;
      i++;
      continue;
    }
    if (c === "(") {
      const look = /^\(\?(?:=|!|<=|<!)/.exec(src.slice(i, i + 4))?.[0];
      if (look) return refuse(`${look.includes("<") ? "lookbehind" : "lookahead"} ${look}`, i);
    }
    out += c;
    i++;
  }
  return { ok: true, re2: out };
}

/** `\uHHHH` (a surrogate pair written as two escapes is one character in `u` mode) or `\u{H…}`. */
function unicodeEscape(src: string, i: number): { cp: number; end: number } {
  if (src[i + 2] === "{") {
    const close = src.indexOf("}", i);
    return { cp: Number.parseInt(src.slice(i + 3, close), 16), end: close + 1 };
  }
  const hi = Number.parseInt(src.slice(i + 2, i + 6), 16);
  if (hi >= 0xd800 && hi <= 0xdbff && /^\\u[dD][c-fC-F][0-9a-fA-F]{2}/.test(src.slice(i + 6, i + 12))) {
    const lo = Number.parseInt(src.slice(i + 8, i + 12), 16);
    return { cp: 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00), end: i + 12 };
  }
  return { cp: hi, end: i + 6 };
}

/** V8's message without the pattern it repeats: the error's location already says which one. */
function jsSyntaxError(source: string): string | undefined {
  try {
    // Only parsed, never run: V8 compiles a pattern when it is first matched, which never happens.
    new RegExp(source, "iu");
    return undefined;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).replace(
      /^Invalid regular expression: \/.*\/[a-z]*: /s,
      "",
    );
  }
}

/**
 * Compiles a rule's `regex`, or says precisely why it cannot be one. Compile once per rule (the
 * evaluator does, per rule-set version) and reuse it for every message.
 */
export function compilePattern(source: string): PatternResult {
  const c = checked(source);
  if (!c.ok) return c;
  const { re } = c;
  return {
    ok: true,
    pattern: {
      test: (text) => text.length <= MAX_MATCHED_TEXT && re.test(text),
    },
  };
}

/** Most patterns in one RE2 set: 1,000 × MAX_PATTERN_PROGRAM stays far below the instructions
 * RE2 allows a program (1.4 million). */
const PATTERNS_PER_SET = 1_000;

/**
 * The regexes of one rule set, matched together: RE2 runs one automaton over a text for all of
 * them and says which matched, where testing each on its own ran the text through one automaton
 * per pattern (50 patterns over a 900-character DM: about 220 µs one by one, 5 µs together; the
 * rules bench's p99, bench/README.md). Each pattern is checked as compilePattern checks it, and
 * means the same in the set (unanchored, case-insensitive, the same RE2 spelling). Still linear
 * in the text: when the set's cached DFA gives up, RE2 falls back to its NFA, whose work per
 * character is bounded by the instructions of all the patterns, as it was pattern by pattern.
 */
export class PatternSet {
  private readonly sets: RE2Set[] = [];
  private count = 0;
  private compiled = false;

  /** Adds a rule's regex; its index is what `matching` reports when it matches. */
  add(source: string): { ok: true; index: number } | { ok: false; error: string } {
    if (this.compiled) throw new Error("a pattern set takes no pattern after its first match");
    const c = checked(source);
    if (!c.ok) return c;
    if (this.count % PATTERNS_PER_SET === 0)
      this.sets.push(new RE2Set(RE2Set.UNANCHORED, RE2JS.CASE_INSENSITIVE));
    (this.sets.at(-1) as RE2Set).add(c.re2);
    return { ok: true, index: this.count++ };
  }

  /** The indexes of the patterns that match somewhere in `text` (`RulePattern#test` for each);
   * none for a text longer than MAX_MATCHED_TEXT. */
  matching(text: string): ReadonlySet<number> {
    const hits = new Set<number>();
    if (this.count === 0 || text.length > MAX_MATCHED_TEXT) return hits;
    this.compiled = true;
    this.sets.forEach((set, k) => {
      for (const i of set.match(text)) hits.add(k * PATTERNS_PER_SET + i);
    });
    return hits;
  }
}

/** compilePattern's checks; the RE2 spelling and program of a pattern that passes them. */
function checked(source: string): { ok: true; re2: string; re: RE2JS } | { ok: false; error: string } {
  if (source.length > MAX_PATTERN_LENGTH)
    return {
      ok: false,
      error: `regular expression is ${source.length} characters long, at most ${MAX_PATTERN_LENGTH} are allowed (list words in keywords instead)`,
    };
  const syntax = jsSyntaxError(source);
  if (syntax !== undefined) return { ok: false, error: `invalid regular expression: ${syntax}` };
  const t = translate(source);
  if (!t.ok) return { ok: false, error: `unsupported regular expression: ${t.error}` };
  let re: RE2JS;
  try {
    re = RE2JS.compile(t.re2, RE2JS.CASE_INSENSITIVE);
  } catch (e) {
    if (!(e instanceof RE2JSSyntaxException))
      return { ok: false, error: `unsupported regular expression: RE2 cannot run it: ${String(e)}` };
    // RE2 names the fragment it stopped at; the flag prefix it adds is not the author's.
    const at = (e.getPattern() ?? "").replace(/^\(\?i\)/, "");
    const hint = /^\\[pP]/.test(at)
      ? " (RE2 knows the short property names: \\p{L}, \\p{Lu}, \\p{N}, \\p{Greek}, \\p{Emoji}…)"
      : "";
    return {
      ok: false,
      error: `unsupported regular expression: RE2 cannot run it: ${e.getDescription()}${at ? ` \`${at}\`` : ""}${hint}`,
    };
  }
  const size = re.programSize();
  if (size > MAX_PATTERN_PROGRAM)
    return {
      ok: false,
      error: `regular expression is too complex: it compiles to ${size} RE2 instructions, at most ${MAX_PATTERN_PROGRAM} are allowed (a repetition {n} repeats its part n times)`,
    };
  return { ok: true, re2: t.re2, re };
}
