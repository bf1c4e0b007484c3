// The messaging profile file (issue 22): the documented example is valid and says what it sets,
// Graph's answer reads back equal to the same file (so an applied profile shows no change), and
// the diff puts what goes before what replaces it.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseProfileFile } from "../../src/profile/file.ts";
import { lineDiff, profileChanges, profileFromGraph, profilePayloads } from "../../src/profile/profile.ts";

const EXAMPLE = readFileSync(new URL("../fixtures/profile/example.yaml", import.meta.url), "utf8");

describe("profile file", () => {
  it("reads the documented example, and Graph's answer with the same content compares unchanged", () => {
    const parsed = parseProfileFile(EXAMPLE, "example.yaml");
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    expect(parsed.profile.ice_breakers?.map((b) => [b.locale, b.call_to_actions.length])).toEqual([
      ["default", 2],
      ["es_ES", 1],
    ]);
    expect(profilePayloads(parsed.profile)).toEqual(["ORDER", "HUMAN"]);
    // Instagram's answer puts locale last and may carry keys the file cannot hold.
    const current = profileFromGraph({
      ice_breakers: parsed.profile.ice_breakers?.map((b) => ({
        call_to_actions: b.call_to_actions,
        locale: b.locale,
      })),
      persistent_menu: parsed.profile.persistent_menu?.map((b) => ({
        locale: b.locale,
        call_to_actions: b.call_to_actions.map((i) => ({ ...i, webview_height_ratio: "full" })),
      })),
    });
    expect(profileChanges(current, parsed.profile).map((c) => c.kind)).toEqual(["unchanged", "unchanged"]);
  });

  it("refuses a file that names no field it can apply", () => {
    const parsed = parseProfileFile("version: 1\n", "p.yaml");
    expect(parsed.ok ? [] : parsed.errors.map((e) => e.message)).toEqual([
      "lists none of ice_breakers, persistent_menu: nothing to apply",
    ]);
  });

  it("diffs lines with removals before additions and common lines kept", () => {
    expect(lineDiff(["a", "b", "c"], ["a", "x", "c", "d"])).toEqual([
      { op: " ", text: "a" },
      { op: "-", text: "b" },
      { op: "+", text: "x" },
      { op: " ", text: "c" },
      { op: "+", text: "d" },
    ]);
  });
});
