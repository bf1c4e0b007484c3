// The messaging profile file (issue 22): the documented example is valid and says what it sets,
// Graph's answer reads back equal to the same file (so an applied profile shows no change), and
// the diff puts what goes before what replaces it.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseProfileFile } from "../../src/profile/file.ts";
import {
  flowChanges,
  flowsFromGraph,
  lineDiff,
  profileChanges,
  profileFromGraph,
  profilePayloads,
} from "../../src/profile/profile.ts";

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
      "lists none of ice_breakers, persistent_menu, welcome_message_flows: nothing to apply",
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

  it("reads welcome message flows, and names each problem with its flow", () => {
    const good = parseProfileFile(
      `welcome_message_flows:
  - name: Spring sale
    messages:
      - text: "Hi! What brings you here?"
        quick_replies:
          - { title: Sizes, payload: SIZES }
          - { content_type: text, title: Talk to us, payload: HUMAN }
      - text: We answer within the hour.
`,
      "p.yaml",
    );
    if (!good.ok) throw new Error(JSON.stringify(good.errors));
    expect(good.profile).toEqual({
      welcome_message_flows: [
        {
          name: "Spring sale",
          messages: [
            {
              text: "Hi! What brings you here?",
              quick_replies: [
                { title: "Sizes", payload: "SIZES" },
                { title: "Talk to us", payload: "HUMAN" },
              ],
            },
            { text: "We answer within the hour." },
          ],
        },
      ],
    });

    const bad = parseProfileFile(
      `welcome_message_flows:
  - name: Spring sale
    messages: []
  - name: Spring sale
    messages:
      - text: "${"x".repeat(1001)}"
  - messages:
      - quick_replies:
          - { content_type: user_email, title: This title is far too long, payload: "" }
`,
      "p.yaml",
    );
    expect(bad.ok ? [] : bad.errors.map((e) => `${e.line} ${e.path}: ${e.message}`)).toEqual([
      "3 welcome_message_flows[0] (Spring sale).messages: must list at least one message",
      '4 welcome_message_flows[1] (Spring sale).name: flow "Spring sale" is already named by welcome_message_flows[0] (line 2): flows are matched by name',
      "6 welcome_message_flows[1] (Spring sale).messages[0].text: must be at most 1000 characters",
      "7 welcome_message_flows[2].name: is required",
      "8 welcome_message_flows[2].messages[0].text: is required",
      "9 welcome_message_flows[2].messages[0].quick_replies[0].content_type: must be text: a welcome message takes text quick replies only",
      "9 welcome_message_flows[2].messages[0].quick_replies[0].title: must be at most 20 characters (Instagram's limit)",
      "9 welcome_message_flows[2].messages[0].quick_replies[0].payload: must not be empty",
    ]);
  });

  it("reads Graph's flows defensively and diffs by name: create, update, unchanged, left alone", () => {
    expect(flowsFromGraph([{ name: "x", welcome_message_flow: [] }])).toEqual({
      ok: false,
      problem: "flow 1 of Instagram's answer has no flow_id",
    });
    expect(flowsFromGraph([{ flow_id: 7, name: "x", welcome_message_flow: [{ message: {} }] }])).toEqual({
      ok: false,
      problem: "flow 1 of Instagram's answer (flow_id 7): message 1 has no text",
    });
    expect(flowsFromGraph([{ flow_id: "7", welcome_message_flow: [] }])).toEqual({
      ok: false,
      problem: "flow 1 of Instagram's answer (flow_id 7) has no name",
    });
    const read = flowsFromGraph([
      {
        flow_id: "1",
        name: "Same",
        welcome_message_flow: [
          { message: { text: "Hi", quick_replies: [{ content_type: "text", title: "A", payload: "A" }] } },
        ],
        is_used_in_ad: true,
      },
      { flow_id: "2", name: "Old", welcome_message_flow: [{ message: { text: "Old" } }] },
      { flow_id: "3", name: "Changed", welcome_message_flow: [{ message: { text: "Before" } }] },
    ]);
    if (!read.ok) throw new Error(read.problem);
    const changes = flowChanges(read.flows, [
      { name: "Same", messages: [{ text: "Hi", quick_replies: [{ title: "A", payload: "A" }] }] },
      { name: "Changed", messages: [{ text: "After" }] },
      { name: "New", messages: [{ text: "Hello" }] },
    ]);
    expect(changes.map((c) => [c.kind, "flowId" in c ? c.flowId : undefined])).toEqual([
      ["unchanged", undefined],
      ["update", "3"],
      ["create", undefined],
      ["left_alone", undefined],
    ]);
  });
});
