// The root's state controls as each platform renders them (Close or Reopen, Take, the snooze
// menu), within each platform's limits next to the comment moderation buttons, and `/ig`'s thread
// subcommands on Discord.

import { describe, expect, it } from "vitest";
import { parseIgOptions, usage } from "../../adapters/discord/ig-command.ts";
import {
  headerTags,
  renderHeader as renderDiscord,
  TAG_NAMES,
} from "../../adapters/discord/render-header.ts";
import { usage as slackUsage } from "../../adapters/slack/ig-command.ts";
import { renderHeader as renderSlack } from "../../adapters/slack/render-header.ts";
import type { CommentHeader, DmHeader } from "../../src/chat/chat-port.ts";
import { COMMANDS } from "../../src/commands/catalog.ts";

const dm = (over: Partial<DmHeader> = {}): DmHeader => ({
  kind: "dm",
  account: { id: "1", username: "brand" },
  customer: { id: "900", name: "Jo" },
  window: { kind: "none" },
  status: "open",
  consent: "unknown",
  links: [],
  ...over,
});

const comment = (over: Partial<CommentHeader> = {}): CommentHeader => ({
  kind: "comment",
  account: { id: "1", username: "brand" },
  media: { id: "m1" },
  comment: {
    id: "17900000000000001",
    text: "nice",
    author: { id: "901", username: "fan" },
    at: new Date("2030-01-01T09:00:00Z"),
    hidden: false,
    deleted: false,
  },
  live: false,
  status: "open",
  privateReplyUsed: false,
  // More than Discord fits in one row with the state buttons: every row must stay within limits.
  actions: ["hide", "unhide", "delete", "reply_public", "reply_private"],
  links: [],
  ...over,
});

type Element = { type: string; action_id?: string; text?: { text: string }; options?: { value: string }[] };

function slackControls(header: DmHeader | CommentHeader): Element[] {
  const block = renderSlack(header).blocks.find(
    (b) => b.type === "actions" && b.block_id === "ig_conversation_actions",
  ) as { elements: Element[] } | undefined;
  return block?.elements ?? [];
}

describe("Slack root controls", () => {
  it("offers Close, Take and the snooze menu on an open conversation", () => {
    const [close, take, snooze] = slackControls(dm());
    expect(close).toMatchObject({
      type: "button",
      action_id: "ig_conversation_close",
      text: { text: "Close" },
    });
    expect(take).toMatchObject({ type: "button", action_id: "ig_conversation_take", text: { text: "Take" } });
    expect(snooze).toMatchObject({ type: "static_select", action_id: "ig_conversation_snooze" });
    expect(snooze?.options?.map((o) => o.value)).toEqual(["60", "240", "1440", "4320"]);
  });

  it("offers Reopen instead of Close once closed or snoozed", () => {
    for (const status of ["closed", "snoozed"] as const) {
      const ids = slackControls(dm({ status })).map((e) => e.action_id);
      expect(ids).toEqual(["ig_conversation_reopen", "ig_conversation_take", "ig_conversation_snooze"]);
    }
  });

  it("puts the controls under a comment's moderation buttons and shows its state", () => {
    const { blocks } = renderSlack(comment({ status: "closed", assignee: "Ana <b>" }));
    const actions = blocks.filter((b) => b.type === "actions").map((b) => b.block_id);
    expect(actions).toEqual(["ig_comment_actions", "ig_conversation_actions"]);
    expect(JSON.stringify(blocks)).toContain("Status: closed · assigned to Ana &lt;b&gt;");
  });

  it("points /ig help at the root, since Slack runs no command in a thread", () => {
    expect(slackUsage()).toContain(
      "Close (Reopen), Take and Snooze, or ✅ (close) and 👀 (take) on the root",
    );
  });
});

type Row = { components: { type: number; custom_id?: string; label?: string; options?: unknown[] }[] };

function discordRows(header: DmHeader | CommentHeader): Row[] {
  return (renderDiscord(header).components ?? []) as Row[];
}

function withinDiscordLimits(rows: Row[]): void {
  expect(rows.length).toBeLessThanOrEqual(5);
  const ids = rows.flatMap((r) => r.components.map((c) => c.custom_id));
  expect(new Set(ids).size).toBe(ids.length);
  for (const row of rows) {
    expect(row.components.length).toBeGreaterThan(0);
    expect(row.components.length).toBeLessThanOrEqual(5);
    if (row.components.some((c) => c.type === 3)) expect(row.components).toHaveLength(1);
  }
}

describe("Discord root controls", () => {
  it("puts Close and Take in a row and the snooze menu in its own", () => {
    const rows = discordRows(dm());
    withinDiscordLimits(rows);
    expect(rows.map((r) => r.components.map((c) => c.custom_id))).toEqual([
      ["ig_conversation_close", "ig_conversation_take"],
      ["ig_conversation_snooze"],
    ]);
    expect(rows[1]?.components[0]).toMatchObject({ type: 3, options: expect.any(Array) });
    expect(discordRows(dm({ status: "snoozed" }))[0]?.components[0]).toMatchObject({
      custom_id: "ig_conversation_reopen",
      label: "Reopen",
    });
  });

  it("keeps a comment root's moderation row and adds the controls within the limits", () => {
    const rows = discordRows(comment());
    withinDiscordLimits(rows);
    expect(rows).toHaveLength(3);
    expect(rows[0]?.components.map((c) => c.custom_id)).toEqual([
      "ig_comment_hide:17900000000000001",
      "ig_comment_unhide:17900000000000001",
      "ig_comment_delete:17900000000000001",
      "ig_comment_reply_public:17900000000000001",
      "ig_comment_reply_private:17900000000000001",
    ]);
    // A deleted comment has no moderation left; its thread can still be closed.
    withinDiscordLimits(discordRows(comment({ actions: [] })));
    expect(discordRows(comment({ actions: [] }))).toHaveLength(2);
  });

  it("shows a DM's queue state as a badge and a forum tag, the tags within Discord's 20 per forum", () => {
    expect(headerTags(dm({ queue: "waiting_on_us" }))).toEqual(["DM", "open", "waiting on us"]);
    expect(headerTags(dm({ queue: "new" }))).toEqual(["DM", "open", "new"]);
    expect(headerTags(dm({ status: "snoozed", queue: "snoozed" }))).toEqual(["DM", "open", "snoozed"]);
    // Closed says it once.
    expect(headerTags(dm({ status: "closed", queue: "closed" }))).toEqual(["DM", "closed"]);
    expect(TAG_NAMES.length).toBeLessThanOrEqual(20);
    for (const name of TAG_NAMES) expect(name.length).toBeLessThanOrEqual(20);
    const text = JSON.stringify(renderDiscord(dm({ queue: "waiting_on_customer", assignee: "Ana" })).embeds);
    expect(text).toContain("🟢 Waiting on the customer · Status: open · assigned to Ana");
    expect(JSON.stringify(renderSlack(dm({ queue: "waiting_on_us" })).blocks)).toContain(
      "*🔴 Waiting on us* · Status: open",
    );
  });

  it("tags a closed comment thread closed and shows who has it", () => {
    expect(headerTags(comment({ status: "closed" }))).toEqual(["comment", "closed"]);
    expect(headerTags(comment())).toEqual(["comment", "open"]);
    const text = JSON.stringify(renderDiscord(comment({ assignee: "Ana" })).embeds);
    expect(text).toContain("Status: open · assigned to Ana");
  });
});

describe("Discord /ig in a thread", () => {
  const parse = (sub: string, options: { who?: string; duration?: string; after?: string } = {}) =>
    parseIgOptions({ path: COMMANDS.optionPath(sub), options });

  it("turns close, reopen, take, assign and snooze into thread commands", () => {
    // Close takes an optional delay, 0 (now) when left out.
    expect(parse("close")).toEqual({ kind: "command", command: "close", args: { after: 0 } });
    expect(parse("close", { after: "2h" })).toEqual({
      kind: "command",
      command: "close",
      args: { after: 7_200_000 },
    });
    for (const op of ["reopen", "take"] as const)
      expect(parse(op)).toEqual({ kind: "command", command: op, args: {} });
    expect(parse("assign", { who: " @ana " })).toEqual({
      kind: "command",
      command: "assign",
      args: { who: { self: false, name: "ana" } },
    });
    expect(parse("assign", { who: "me" })).toEqual({
      kind: "command",
      command: "assign",
      args: { who: { self: true } },
    });
    expect(parse("snooze", { duration: "2h" })).toEqual({
      kind: "command",
      command: "snooze",
      args: { duration: 2 * 3_600_000 },
    });
    expect(parse("snooze", { duration: "3d" })).toMatchObject({ args: { duration: 3 * 86_400_000 } });
    // The same durations as `!snooze`, seconds included.
    expect(parse("snooze", { duration: "45s" })).toMatchObject({ args: { duration: 45_000 } });
  });

  it("answers bad arguments with what is expected", () => {
    expect(parse("assign", { who: "  " })).toEqual({
      kind: "reply",
      text: "`assign` needs who: an @name, a name or me\nusage: `/ig conversation assign who`",
    });
    for (const duration of ["forever", "0m", "31d", ""])
      expect(parse("snooze", { duration })).toMatchObject({
        kind: "reply",
        text: expect.stringContaining("30m, 4h, 1d"),
      });
  });

  it("lists them in the help", () => {
    // In the `conversation` group: Discord allows 25 subcommands and groups for /ig.
    expect(usage()).toContain(
      "`/ig conversation close [after]` — close the conversation, now or after a while",
    );
    expect(usage()).toContain("`/ig conversation reopen` — open the conversation again");
    expect(usage()).toContain("`/ig conversation take` — assign the conversation to yourself");
    expect(usage()).toContain("`/ig conversation assign who` — give the conversation to someone");
    expect(usage()).toContain("`/ig conversation snooze duration`");
  });
});
