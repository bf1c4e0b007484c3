// A saved reply's text: its variables, their fallbacks and the errors an import reports; and what
// counts as `!!name` in a thread.

import { describe, expect, it } from "vitest";
import { snippetCall } from "../../src/snippets/snippet-actions.ts";
import { expand, templateProblems } from "../../src/snippets/template.ts";

describe("saved reply templates", () => {
  it("fills each variable, its fallback when unknown, and a default when there is none", () => {
    const text = "Hi {first_name|friend}, {username}! {agent} of {account} here.";
    expect(expand(text, { first_name: "Ana", username: "ana.l", agent: "Bo", account: "brand" })).toBe(
      "Hi Ana, ana.l! Bo of brand here.",
    );
    expect(expand(text, { account: "brand" })).toBe("Hi friend, there! brand of brand here.");
    expect(expand(text, {})).toBe("Hi friend, there! our team of our team here.");
    expect(expand("{first_name}", { first_name: "  Jo \n Ann " })).toBe("Jo Ann");
    // Braces that are no variable stay as written.
    expect(expand('{"a": 1} {first_name}', { first_name: "Jo" })).toBe('{"a": 1} Jo');
  });

  it("names each unknown variable and its character position", () => {
    expect(templateProblems("Hello {first_name}, {fist_name} and {Agent}")).toEqual([
      expect.objectContaining({ variable: "fist_name", at: 21 }),
      expect.objectContaining({ variable: "Agent", at: 37 }),
    ]);
    expect(templateProblems("😀 {x}")[0]?.at).toBe(3);
    expect(templateProblems("{first_name|there} {username} {agent} {account}")).toEqual([]);
  });
});

describe("!!name in a thread", () => {
  it("is a name (any case) and the text after it; anything else is not a call", () => {
    expect(snippetCall("!!Thanks see you\non Friday")).toEqual({
      name: "thanks",
      extra: "see you\non Friday",
    });
    expect(snippetCall("  !!menu  ")).toEqual({ name: "menu", extra: "" });
    expect(snippetCall("!!")).toEqual({ name: "", extra: "" });
    expect(snippetCall("!close")).toBeUndefined();
    expect(snippetCall("wow!!")).toBeUndefined();
  });
});
