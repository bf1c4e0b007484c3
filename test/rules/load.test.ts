import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatRuleFileErrors, parseRuleFile } from "../../src/rules/load.ts";
import { durationMs, ruleFileSchema } from "../../src/rules/rule.ts";

const EXAMPLE = new URL("../fixtures/rules/example.yaml", import.meta.url);

function errorsOf(text: string, filename = "rules.yaml") {
  const r = parseRuleFile(text, filename);
  if (r.ok) throw new Error("expected the file to be refused");
  return r.errors;
}

describe("parseRuleFile", () => {
  it("accepts the example file", () => {
    const r = parseRuleFile(readFileSync(EXAMPLE, "utf8"), "example.yaml");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.format).toBe("yaml");
    expect(r.warnings).toEqual([]);
    expect(r.file.rules.map((x) => x.id)).toEqual([
      "summer-drop-link",
      "story-mention-thanks",
      "price-question",
      "talk-to-human",
      "away-message",
    ]);
    expect(r.file.accounts["17841400000000001"]?.timezone).toBe("Europe/Berlin");
    // Defaults are filled in.
    expect(r.file.rules[0]?.enabled).toBe(true);
    expect(r.file.rules[0]?.stop).toBe(true);
    expect(r.file.rules[2]?.stop).toBe(false);
  });

  it("accepts the same rules as JSON, with the same result", () => {
    const yaml = parseRuleFile(readFileSync(EXAMPLE, "utf8"), "example.yaml");
    if (!yaml.ok) throw new Error("example refused");
    const json = parseRuleFile(JSON.stringify(yaml.file, null, "\t"), "example.json");
    expect(json.ok).toBe(true);
    if (!json.ok) return;
    expect(json.format).toBe("json");
    expect(json.file).toEqual(yaml.file);
  });

  it("parsing is idempotent: a stored rule parses back to itself", () => {
    const r = parseRuleFile(readFileSync(EXAMPLE, "utf8"), "example.yaml");
    if (!r.ok) throw new Error("example refused");
    const again = ruleFileSchema.parse(JSON.parse(JSON.stringify(r.file)));
    expect(again).toEqual(r.file);
  });

  it("keeps every digit of unquoted 17-digit Instagram ids", () => {
    const r = parseRuleFile(
      [
        "accounts:",
        "  17841400000000001: { timezone: UTC }",
        "rules:",
        "  - id: a",
        "    name: a",
        "    account: 17841400000000001",
        "    trigger: { type: comment_text, any: true, media: [17990000000000003] }",
        "    actions: [{ type: hide_comment }]",
      ].join("\n"),
      "ids.yaml",
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.keys(r.file.accounts)).toEqual(["17841400000000001"]);
    expect(r.file.rules[0]?.account).toBe("17841400000000001");
    expect(r.file.rules[0]?.trigger).toMatchObject({ media: ["17990000000000003"] });
  });

  it("refuses a file with several errors, listing each one with its line, sorted", () => {
    const text = [
      /* 1 */ "accounts:",
      /* 2 */ '  "17841400000000001":',
      /* 3 */ "    timezone: Europe/Berlinn",
      /* 4 */ "    hours:",
      /* 5 */ '      mon: ["9-17"]',
      /* 6 */ '      funday: ["09:00-10:00"]',
      /* 7 */ '    holidays: ["2026-02-30"]',
      /* 8 */ "rules:",
      /* 9 */ "  - id: Price Rule",
      /* 10 */ "    name: price",
      /* 11 */ '    account: "17841400000000001"',
      /* 12 */ "    trigger:",
      /* 13 */ "      type: dm_text",
      /* 14 */ '      regex: "(unclosed"',
      /* 15 */ "    actions:",
      /* 16 */ "      - type: dm_reply",
      /* 17 */ '        text: "Hi {firstname}"',
      /* 18 */ "        extra: 1",
      /* 19 */ "  - id: dup",
      /* 20 */ "    name: one",
      /* 21 */ '    account: "*"',
      /* 22 */ "    trigger: { type: story_mention }",
      /* 23 */ "    actions: [{ type: hide_comment }]",
      /* 24 */ "  - id: dup",
      /* 25 */ "    name: two",
      /* 26 */ '    account: "*"',
      /* 27 */ "    trigger: { type: bogus }",
      /* 28 */ "    actions: []",
      /* 29 */ "    cooldown: 5 minutes",
      /* 30 */ "  - id: no-name",
      /* 31 */ '    account: "*"',
      /* 32 */ "    trigger: { type: comment_text }",
      /* 33 */ "    actions:",
      /* 34 */ "      - type: public_reply",
      /* 35 */ "        variants: []",
    ].join("\n");
    const errors = errorsOf(text);
    const summary = errors.map((e) => `${e.line} ${e.path}: ${e.message}`);
    expect(summary).toEqual([
      expect.stringMatching(
        /^3 accounts\["17841400000000001"\]\.timezone: unknown time zone "Europe\/Berlinn"/,
      ),
      expect.stringMatching(/^5 accounts\["17841400000000001"\]\.hours\.mon\[0\]: must be a range/),
      '6 accounts["17841400000000001"].hours.funday: unknown field "funday"',
      '7 accounts["17841400000000001"].holidays[0]: is not a calendar date',
      expect.stringMatching(/^9 rules\[0\]\.id: must be a slug/),
      "14 rules[0].trigger.regex: invalid regular expression: Unterminated group",
      expect.stringMatching(/^17 rules\[0\]\.actions\[0\]\.text: unknown placeholder \{firstname\}/),
      '18 rules[0].actions[0].extra: unknown field "extra"',
      expect.stringMatching(/^23 rules\[1\]\.actions\[0\]\.type: hide_comment acts on the comment/),
      '24 rules[2].id: duplicate rule id "dup" (first used by rules[1], line 19)',
      expect.stringMatching(/^27 rules\[2\]\.trigger\.type: type must be one of: dm_text/),
      "28 rules[2].actions: a rule needs at least one action",
      expect.stringMatching(/^29 rules\[2\]\.cooldown: must be a duration/),
      "30 rules[3].name: is required",
      expect.stringMatching(/^32 rules\[3\]\.trigger: a comment_text trigger needs at least one of/),
      "35 rules[3].actions[0].variants: must list at least one variant",
    ]);
    // Columns point at the value, not the line start.
    expect(errors.find((e) => e.path === "rules[0].trigger.regex")?.column).toBe(14);
    expect(formatRuleFileErrors("rules.yaml", errors).split("\n")[0]).toMatch(
      /^rules\.yaml, line 3, column 15: accounts\["17841400000000001"\]\.timezone: unknown time zone/,
    );
  });

  it("lists JSON errors with their lines too", () => {
    const text = `{
  "rules": [
    {
      "id": "a",
      "name": "a",
      "account": "*",
      "trigger": { "type": "payload" },
      "actions": [{ "type": "dm_reply", "text": "hi", "variants": ["x"] }],
      "priority": "high"
    }
  ]
}`;
    const errors = errorsOf(text, "rules.json");
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [7, "rules[0].trigger", "a payload trigger needs at least one of: equals, prefix"],
      [8, "rules[0].actions[0]", "give exactly one of text or variants"],
      [9, "rules[0].priority", "Invalid input: expected number, received string"],
    ]);
  });

  it("refuses patterns RE2 cannot run, at the pattern's line, like any other error", () => {
    const text = [
      "rules:",
      "  - id: repeated-word",
      "    name: repeated word",
      '    account: "*"',
      "    trigger:",
      "      type: comment_text",
      '      regex: "\\\\b(\\\\w+) \\\\1\\\\b"',
      "    actions: [{ type: hide_comment }]",
      "  - id: not-spam",
      "    name: not spam",
      '    account: "*"',
      "    trigger: { type: dm_text, regex: '^(?!spam).*price' }",
      "    actions: [{ type: tag, tag: price }]",
    ].join("\n");
    const errors = errorsOf(text);
    expect(formatRuleFileErrors("rules.yaml", errors)).toBe(
      [
        "rules.yaml, line 7, column 14: rules[0].trigger.regex: unsupported regular expression: backreference \\1 at character 9 is not supported: rule patterns run on RE2, which matches in linear time and so has no lookahead, lookbehind or backreferences",
        "rules.yaml, line 12, column 38: rules[1].trigger.regex: unsupported regular expression: lookahead (?! at character 2 is not supported: rule patterns run on RE2, which matches in linear time and so has no lookahead, lookbehind or backreferences",
      ].join("\n"),
    );
  });

  it("reports YAML syntax errors with their position and nothing else", () => {
    const errors = errorsOf("rules:\n  - id: a\n   name: b\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 3, path: "" });
  });

  it("refuses duplicate keys", () => {
    const errors = errorsOf("rules: []\nrules: []\n");
    expect(errors[0]?.line).toBe(2);
  });

  it("warns when an outside_hours rule has no hours for its account in the file", () => {
    const r = parseRuleFile(
      [
        "rules:",
        "  - id: away",
        "    name: away",
        '    account: "17841400000000009"',
        "    trigger: { type: outside_hours }",
        '    actions: [{ type: dm_reply, text: "We are away" }]',
      ].join("\n"),
      "away.yaml",
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.warnings.map((w) => [w.line, w.path])).toEqual([[5, "rules[0].trigger.type"]]);
  });

  it("checks quick replies and images", () => {
    const errors = errorsOf(
      [
        "rules:",
        "  - id: a",
        "    name: a",
        '    account: "*"',
        "    trigger: { type: dm_text, keywords: [hi] }",
        "    actions:",
        "      - type: dm_reply",
        "        text: hi",
        "        image_url: http://example.com/a.png",
        "        quick_replies: [ok, this title is far too long to show]",
      ].join("\n"),
    );
    expect(errors.map((e) => [e.line, e.path])).toEqual([
      [9, "rules[0].actions[0].image_url"],
      [10, "rules[0].actions[0].quick_replies[1].title"],
    ]);
  });

  it("an empty file is an empty rule set", () => {
    const r = parseRuleFile("", "empty.yaml");
    expect(r.ok).toBe(false);
    const r2 = parseRuleFile("rules: []\n", "empty.yaml");
    expect(r2.ok && r2.file.rules).toEqual([]);
  });
});

describe("durationMs", () => {
  it("reads compound durations", () => {
    expect(durationMs("30m")).toBe(1_800_000);
    expect(durationMs("24h")).toBe(86_400_000);
    expect(durationMs("1h30m")).toBe(5_400_000);
    expect(durationMs("7d")).toBe(604_800_000);
  });
});
